package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testToken = "s3cret-console-token-4711"

// newTestClient starts handler behind httptest and returns a client of it.
func newTestClient(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL + "/", Token: testToken, UserAgent: "offboard-test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// requireAuth fails the test when r does not carry the bearer token and the JSON Accept header.
func requireAuth(t *testing.T, r *http.Request) {
	t.Helper()
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the bearer token", got)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	if got := r.Header.Get("User-Agent"); got != "offboard-test" {
		t.Errorf("User-Agent = %q", got)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestDevice(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requireAuth(t, r)
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/devices/F2LXK0A1HG7J" {
			t.Errorf("request = %s %s", r.Method, r.URL.Path)
		}
		writeJSON(w, 200, `{"serial":"F2LXK0A1HG7J","status":"managed","ade":true,"mdmProfileRemovable":false,
			"supervised":true,"lostMode":false,"workSmart":false,
			"profiles":[{"id":"restrictions","name":"制限設定プロファイル","kind":"restrictions"}],
			"vppLicenses":3,"certificates":1,"lastCheckIn":"2026-11-24T03:00:00Z"}`)
	})
	d, err := c.Device(context.Background(), "F2LXK0A1HG7J")
	if err != nil {
		t.Fatal(err)
	}
	want := Device{Serial: "F2LXK0A1HG7J", Status: StatusManaged, ADE: true, Supervised: true,
		Profiles:    []Profile{{ID: "restrictions", Name: "制限設定プロファイル", Kind: "restrictions"}},
		VPPLicenses: 3, Certificates: 1, LastCheckIn: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Errorf("Device =\n%+v\nwant\n%+v", d, want)
	}
}

func TestDeviceEscapesSerial(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/api/v1/devices/A%2FB%20C" {
			t.Errorf("escaped path = %q", r.URL.EscapedPath())
		}
		writeJSON(w, 200, `{"serial":"A/B C"}`)
	})
	if _, err := c.Device(context.Background(), "A/B C"); err != nil {
		t.Fatal(err)
	}
}

func TestSendCommand(t *testing.T) {
	const key = "offboard-F2LXK0A1HG7J/console-wipe"
	replay := false
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requireAuth(t, r)
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/devices/F2LXK0A1HG7J/commands" {
			t.Errorf("request = %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Idempotency-Key"); got != key {
			t.Errorf("Idempotency-Key = %q, want %q", got, key)
		}
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"type": "erase-device", "removeESIM": true, "confirmation": "YES"}
		if fmt.Sprint(body) != fmt.Sprint(want) {
			t.Errorf("body = %v, want %v", body, want)
		}
		status := http.StatusAccepted
		if replay {
			status = http.StatusOK
		}
		writeJSON(w, status, fmt.Sprintf(`{"id":"c-000042","serial":"F2LXK0A1HG7J","type":"erase-device",
			"status":"queued","idempotencyKey":%q,"replayed":%t,"createdAt":"2026-11-24T03:00:00Z","completedAt":null}`, key, replay))
	})
	req := CommandRequest{Type: CmdEraseDevice, RemoveESIM: true, Confirmation: "YES"}
	cmd, err := c.SendCommand(context.Background(), "F2LXK0A1HG7J", key, req)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.ID != "c-000042" || cmd.Status != CommandQueued || cmd.Replayed || cmd.CompletedAt != nil {
		t.Errorf("command = %+v", cmd)
	}
	replay = true
	cmd, err = c.SendCommand(context.Background(), "F2LXK0A1HG7J", key, req)
	if err != nil || !cmd.Replayed || cmd.ID != "c-000042" {
		t.Errorf("replayed command = %+v, %v", cmd, err)
	}
}

func TestSendCommandRefusesBadInput(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("no request expected, got %s %s", r.Method, r.URL)
	})
	ctx := context.Background()
	req := CommandRequest{Type: CmdRemoveCertificates}
	for name, call := range map[string]func() error{
		"no key":     func() error { _, err := c.SendCommand(ctx, "S1", "", req); return err },
		"long key":   func() error { _, err := c.SendCommand(ctx, "S1", strings.Repeat("k", 201), req); return err },
		"no type":    func() error { _, err := c.SendCommand(ctx, "S1", "k", CommandRequest{}); return err },
		"no serial":  func() error { _, err := c.Device(ctx, " "); return err },
		"no command": func() error { _, err := c.Command(ctx, "S1", ""); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCommand(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requireAuth(t, r)
		if r.URL.Path != "/api/v1/devices/S1/commands/c-7" {
			t.Errorf("path = %q", r.URL.Path)
		}
		writeJSON(w, 200, `{"id":"c-7","serial":"S1","type":"purge-device","status":"failed",
			"error":{"code":"vpp-license-remains","message":"VPPアプリケーションライセンス (デバイス向け)が付与されているため完全に削除できません"},
			"createdAt":"2026-11-24T03:00:00Z","completedAt":"2026-11-24T03:01:00Z"}`)
	})
	cmd, err := c.Command(context.Background(), "S1", "c-7")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Status != CommandFailed || cmd.Error == nil || cmd.Error.Code != CodeVPPLicenseRemains || cmd.CompletedAt == nil {
		t.Errorf("command = %+v", cmd)
	}
	if !strings.Contains(cmd.Error.Error(), "revoke-vpp-licenses") {
		t.Errorf("command error gives no next step: %v", cmd.Error)
	}
}

func TestErrorCodes(t *testing.T) {
	cases := []struct {
		status    int
		code      string
		temporary bool
	}{
		{400, CodeBadRequest, false},
		{401, CodeUnauthorized, false},
		{404, CodeDeviceNotFound, false},
		{404, CodeCommandNotFound, false},
		{409, CodeNotGreyedOut, false},
		{409, CodeNotManaged, false},
		{409, CodeCertificatesRemain, false},
		{409, CodeVPPLicenseRemains, false},
		{409, CodeWorkSmart, false},
		{409, CodeIdempotencyConflict, false},
		{429, CodeRateLimited, true},
		{500, CodeInternal, true},
		{503, CodeUnavailable, true},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tc.status, fmt.Sprintf(`{"error":{"code":%q,"message":"the console says %s"}}`, tc.code, tc.code))
			})
			_, err := c.SendCommand(context.Background(), "F2LXK0A1HG7J", "key-1", CommandRequest{Type: CmdPurgeDevice, Confirmation: "YES"})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || CodeOf(err) != tc.code {
				t.Errorf("got status %d code %q, want %d %q", ae.Status, ae.Code, tc.status, tc.code)
			}
			if ae.Temporary() != tc.temporary {
				t.Errorf("Temporary() = %t, want %t", ae.Temporary(), tc.temporary)
			}
			msg := err.Error()
			for _, want := range []string{"F2LXK0A1HG7J", "send purge-device", tc.code, "the console says"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if ae.Hint() == "" {
				t.Errorf("code %s has no hint", tc.code)
			}
			if strings.Contains(msg, testToken) {
				t.Errorf("error leaks the token: %q", msg)
			}
		})
	}
}

func TestNonJSONErrors(t *testing.T) {
	cases := []struct {
		status    int
		body      string
		code      string
		temporary bool
	}{
		{404, "<html>404 page not found</html>", "", false}, // a wrong base URL is not device-not-found
		{401, "no", CodeUnauthorized, false},
		{502, "Bad Gateway", CodeInternal, true},
		{503, "", CodeUnavailable, true},
		{409, `{"error":{}}`, "", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := c.Device(context.Background(), "S1")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if ae.Code != tc.code || ae.Temporary() != tc.temporary {
				t.Errorf("code %q temporary %t, want %q %t", ae.Code, ae.Temporary(), tc.code, tc.temporary)
			}
			if !strings.Contains(ae.Message, http.StatusText(tc.status)) {
				t.Errorf("message %q lacks the status text", ae.Message)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                                0,
		"7":                               7 * time.Second,
		" 120 ":                           2 * time.Minute,
		"-3":                              0,
		"soon":                            0,
		"Tue, 24 Nov 2026 03:00:30 GMT":   30 * time.Second,
		"Tue, 24 Nov 2026 02:59:00 GMT":   0, // in the past
		"Tuesday, 24-Nov-26 03:01:00 GMT": time.Minute,
	}
	for header, want := range cases {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			if header != "" {
				w.Header().Set("Retry-After", header)
			}
			writeJSON(w, 429, `{"error":{"code":"rate-limited","message":"slow down"}}`)
		})
		c.now = func() time.Time { return now }
		_, err := c.Device(context.Background(), "S1")
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%q: %v", header, err)
		}
		if ae.RetryAfter != want {
			t.Errorf("Retry-After %q: got %s, want %s", header, ae.RetryAfter, want)
		}
		if want > 0 && !strings.Contains(err.Error(), "retry after "+want.String()) {
			t.Errorf("Retry-After %q: error %q does not say when to retry", header, err)
		}
	}
}

func TestTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := New(Config{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Command(context.Background(), "F2LXK0A1HG7J", "c-1")
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	var ae *APIError
	if errors.As(err, &ae) {
		t.Errorf("a transport error must not be an *APIError: %v", err)
	}
	for _, want := range []string{"F2LXK0A1HG7J", "read command c-1", "no answer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Device(ctx, "S1")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled in the chain", err)
	}
}

func TestBadSuccessBody(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>login page</html>")
	})
	_, err := c.Device(context.Background(), "S1")
	if err == nil || !strings.Contains(err.Error(), "base URL") || !strings.Contains(err.Error(), "S1") {
		t.Errorf("error %v should name the device and point at the base URL", err)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no base":     {Token: testToken},
		"bad scheme":  {BaseURL: "ftp://x", Token: testToken},
		"no host":     {BaseURL: "http://", Token: testToken},
		"credentials": {BaseURL: "http://u:p@x", Token: testToken},
		"query":       {BaseURL: "http://x/?a=b", Token: testToken},
		"no token":    {BaseURL: "http://x"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: error leaks the token: %v", name, err)
		}
	}
	if _, err := New(Config{BaseURL: "https://console.example.com/prefix", Token: testToken}); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestBasePathPrefix(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/adapter/api/v1/devices/S1" {
			t.Errorf("path = %q", r.URL.Path)
		}
		writeJSON(w, 200, `{"serial":"S1"}`)
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/adapter/", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Device(context.Background(), "S1"); err != nil {
		t.Fatal(err)
	}
}
