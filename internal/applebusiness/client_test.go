package applebusiness

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestClient(t *testing.T) (*Client, *fakeApple) {
	t.Helper()
	key := newKey(t, elliptic.P256())
	fake := newFakeApple(t, &key.PublicKey, time.Now)
	c, err := New(fake.config(key))
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func TestAssignedServer(t *testing.T) {
	c, fake := newTestClient(t)
	fake.assigned["ASSIGNED1"] = testServerID
	fake.assigned["FREE1"] = ""
	ctx := context.Background()

	id, ok, err := c.AssignedServer(ctx, "ASSIGNED1")
	if err != nil || !ok || id != testServerID {
		t.Errorf("assigned: %q %t %v", id, ok, err)
	}
	id, ok, err = c.AssignedServer(ctx, "FREE1")
	if err != nil || ok || id != "" {
		t.Errorf("unassigned: %q %t %v", id, ok, err)
	}
	_, _, err = c.AssignedServer(ctx, "UNKNOWN1")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "UNKNOWN1") {
		t.Errorf("unknown serial: %v, want a 404 naming the device", err)
	}
}

func TestUnassignDevicesBody(t *testing.T) {
	c, fake := newTestClient(t)
	a, err := c.UnassignDevices(context.Background(), []string{"F2LXK0A1HG7J", "C39J8W1H3VG5"})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 5, 5, 4, 15, 43, 282e6, time.UTC)
	if a.ID != "b1481656-b267-480d-b284-a809eed8b041" || a.Status != ActivityInProgress ||
		a.SubStatus != SubStatusSubmitted || !a.CreatedDateTime.Equal(created) || a.Final() {
		t.Errorf("activity = %+v", a)
	}
	if len(fake.bodies) != 1 {
		t.Fatalf("%d POSTs, want 1", len(fake.bodies))
	}
	// Apple's OrgDeviceActivityCreateRequest, exactly (developer.apple.com, create-an-orgdeviceactivity).
	want := `{"data":{"type":"orgDeviceActivities","attributes":{"activityType":"UNASSIGN_DEVICES"},
		"relationships":{"mdmServer":{"data":{"type":"mdmServers","id":"1F97349736CF4614A94F624E705841AD"}},
		"devices":{"data":[{"type":"orgDevices","id":"F2LXK0A1HG7J"},{"type":"orgDevices","id":"C39J8W1H3VG5"}]}}}}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(want)); err != nil {
		t.Fatal(err)
	}
	if got := string(fake.bodies[0]); got != compact.String() {
		t.Errorf("body =\n%s\nwant\n%s", got, compact.String())
	}
}

func TestUnassignDevicesRefusesBadInput(t *testing.T) {
	c, fake := newTestClient(t)
	ctx := context.Background()
	if _, err := c.UnassignDevices(ctx, nil); err == nil {
		t.Error("no serials: no error")
	}
	if _, err := c.UnassignDevices(ctx, []string{"S1", " "}); err == nil {
		t.Error("empty serial: no error")
	}
	cfg := fake.config(newKey(t, elliptic.P256()))
	cfg.ServerID = ""
	noServer, _ := New(cfg)
	if _, err := noServer.UnassignDevices(ctx, []string{"S1"}); err == nil || !strings.Contains(err.Error(), "APPLE_SERVER_ID") {
		t.Errorf("no server id: %v", err)
	}
	if _, api := fake.counts(); api != 0 {
		t.Errorf("%d API requests for bad input", api)
	}
}

func TestActivity(t *testing.T) {
	c, fake := newTestClient(t)
	fake.activities["84d7f133-b4a4-41be-ad0a-c2e4e53ea624"] = `{"data":{"type":"orgDeviceActivities",
		"id":"84d7f133-b4a4-41be-ad0a-c2e4e53ea624","attributes":{"status":"COMPLETED","subStatus":"COMPLETED_WITH_SUCCESS",
		"createdDateTime":"2025-05-01T18:22:27.106Z","completedDateTime":"2025-05-01T18:22:38.894Z",
		"downloadUrl":"https://store.blobstore.apple.com/log.csv"},"links":{}},"links":{}}`
	fake.activities["partial"] = `{"data":{"type":"orgDeviceActivities","id":"partial",
		"attributes":{"status":"COMPLETED","subStatus":"COMPLETED_WITH_FAILURE","createdDateTime":"2025-05-01T18:22:27Z"}}}`

	a, err := c.Activity(context.Background(), "84d7f133-b4a4-41be-ad0a-c2e4e53ea624")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Final() || !a.Succeeded() || a.CompletedDateTime == nil ||
		!a.CompletedDateTime.Equal(time.Date(2025, 5, 1, 18, 22, 38, 894e6, time.UTC)) || a.DownloadURL == "" {
		t.Errorf("activity = %+v", a)
	}
	a, err = c.Activity(context.Background(), "partial")
	if err != nil || !a.Final() || a.Succeeded() {
		t.Errorf("partial failure: %+v %v: final but not succeeded", a, err)
	}
	if _, err := c.Activity(context.Background(), "gone"); !IsNotFound(err) {
		t.Errorf("unknown activity: %v", err)
	}
}

func TestRateLimited(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	for header, want := range map[string]time.Duration{
		"30": 30 * time.Second,
		now.Add(2 * time.Minute).Format(http.TimeFormat): 2 * time.Minute,
		"":        0,
		"garbage": 0,
	} {
		key := newKey(t, elliptic.P256())
		fake := newFakeApple(t, &key.PublicKey, func() time.Time { return now })
		fake.fault = func(w http.ResponseWriter, r *http.Request) bool {
			if header != "" {
				w.Header().Set("Retry-After", header)
			}
			appleError(w, 429, "RATE_LIMIT_EXCEEDED", "The request rate limit has been reached.", "")
			return true
		}
		c, _ := New(fake.config(key))
		_, err := c.UnassignDevices(context.Background(), []string{"S1"})
		ae, ok := AsAPIError(err)
		if !ok || ae.Status != 429 || !ae.Temporary() || ae.Code != "RATE_LIMIT_EXCEEDED" {
			t.Fatalf("Retry-After %q: %v", header, err)
		}
		if ae.RetryAfter != want {
			t.Errorf("Retry-After %q: got %s, want %s", header, ae.RetryAfter, want)
		}
		if want > 0 && !strings.Contains(err.Error(), "retry after "+want.String()) {
			t.Errorf("error %q does not say when to retry", err)
		}
	}
}

func TestErrorJSONParsed(t *testing.T) {
	c, fake := newTestClient(t)
	fake.fault = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(409)
		fmt.Fprint(w, `{"errors":[
			{"id":"6f3e2b1a","status":"409","code":"ENTITY_ERROR.RELATIONSHIP.INVALID","title":"The provided entity includes a relationship with an invalid value",
			 "detail":"mdmServer id is not valid","source":{"pointer":"/data/relationships/mdmServer"}},
			{"id":"7a","status":"409","code":"ENTITY_ERROR.ATTRIBUTE.INVALID","title":"x","detail":"serial S9 unknown"}]}`)
		return true
	}
	_, err := c.UnassignDevices(context.Background(), []string{"S1", "S9"})
	ae, ok := AsAPIError(err)
	if !ok {
		t.Fatalf("error %v is not an *APIError", err)
	}
	if ae.Status != 409 || ae.ID != "6f3e2b1a" || ae.Code != "ENTITY_ERROR.RELATIONSHIP.INVALID" ||
		ae.Title != "The provided entity includes a relationship with an invalid value" || ae.Temporary() {
		t.Errorf("APIError = %+v", ae)
	}
	for _, want := range []string{"mdmServer id is not valid", "serial S9 unknown", "S1, S9", testServerID, "APPLE_SERVER_ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestNonJSONError(t *testing.T) {
	c, fake := newTestClient(t)
	fake.fault = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(502)
		fmt.Fprint(w, "<html>bad gateway</html>")
		return true
	}
	_, err := c.Activity(context.Background(), "a-1")
	ae, ok := AsAPIError(err)
	if !ok || ae.Status != 502 || !ae.Temporary() || ae.Title != "Bad Gateway" {
		t.Errorf("error %v", err)
	}
}

func TestTransportErrors(t *testing.T) {
	c, fake := newTestClient(t)
	fake.assigned["S1"] = ""
	if _, _, err := c.AssignedServer(context.Background(), "S1"); err != nil {
		t.Fatal(err)
	}
	fake.srv.Close()
	_, err := c.UnassignDevices(context.Background(), []string{"S1"})
	if _, isAPI := AsAPIError(err); err == nil || isAPI {
		t.Fatalf("error %v, want a transport error", err)
	}
	if !strings.Contains(err.Error(), "device S1") || !strings.Contains(err.Error(), "check AssignedServer") {
		t.Errorf("a lost POST should say the activity may exist: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	good := Config{ClientID: testClientID, KeyID: testKeyID, PrivateKey: newKey(t, elliptic.P256())}
	if _, err := New(good); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, edit := range map[string]func(*Config){
		"no client id": func(c *Config) { c.ClientID = "" },
		"no key id":    func(c *Config) { c.KeyID = "" },
		"no key":       func(c *Config) { c.PrivateKey = nil },
		"P-384 key":    func(c *Config) { c.PrivateKey = newKey(t, elliptic.P384()) },
		"bad api url":  func(c *Config) { c.APIBaseURL = "api-business.apple.com" },
		"bad token":    func(c *Config) { c.TokenURL = "ftp://x" },
	} {
		cfg := good
		edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
