package applebusiness

import (
	"context"
	"crypto/elliptic"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseActivityLog(t *testing.T) {
	cases := map[string]string{
		"the simulator's": "serialNumber,status,code,detail\nf2lxk0a1hg7j,SUCCESS,,unassigned\nC39J8W1H3VG5,FAILED,NOT_ASSIGNED_TO_SERVER,not assigned to S\n",
		"other order, spaced names and an extra column": "\ufeffStatus, Error Code ,Serial Number,Model\nsuccess,,F2LXK0A1HG7J,iPhone\nFAILED,NOT_ASSIGNED_TO_SERVER,C39J8W1H3VG5,iPad\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			rows, err := ParseActivityLog(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
			}
			if rows[0].Serial != "F2LXK0A1HG7J" || !rows[0].Succeeded() {
				t.Errorf("first row %+v: want F2LXK0A1HG7J succeeded", rows[0])
			}
			if rows[1].Serial != "C39J8W1H3VG5" || rows[1].Succeeded() || rows[1].Code != "NOT_ASSIGNED_TO_SERVER" {
				t.Errorf("second row %+v: want C39J8W1H3VG5 failed with NOT_ASSIGNED_TO_SERVER", rows[1])
			}
		})
	}
	for name, text := range map[string]string{"empty": "", "no serial column": "status,code\nSUCCESS,\n", "no status column": "serialNumber\nX1\n"} {
		if _, err := ParseActivityLog(strings.NewReader(text)); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}
}

// The log is fetched from its presigned URL without the access token, and the URL's signature
// stays out of errors.
func TestActivityLogIsFetchedWithoutTheToken(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.URL.Path == "/missing" {
			http.Error(w, "expired", http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte("serialNumber,status,code,detail\nF2LXK0A1HG7J,SUCCESS,,\n"))
	}))
	defer srv.Close()
	c, err := New(Config{ClientID: "BUSINESSAPI.x", KeyID: "k", PrivateKey: newKey(t, elliptic.P256()), ServerID: "S", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.ActivityLog(context.Background(), srv.URL+"/log?X-Amz-Signature=secret")
	if err != nil || len(rows) != 1 || rows[0].Serial != "F2LXK0A1HG7J" {
		t.Fatalf("rows %+v, err %v", rows, err)
	}
	_, err = c.ActivityLog(context.Background(), srv.URL+"/missing?X-Amz-Signature=secret")
	if ae, ok := AsAPIError(err); !ok || ae.Status != http.StatusForbidden {
		t.Errorf("expired URL: %v, want an APIError 403", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the URL's signature: %v", err)
	}
	for _, a := range auth {
		if a != "" {
			t.Errorf("the log request carried Authorization %q", a)
		}
	}
	if _, err := c.ActivityLog(context.Background(), "file:///etc/passwd"); err == nil {
		t.Error("a file URL was accepted")
	}
}
