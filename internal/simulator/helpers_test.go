package simulator

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/console"
)

const (
	testToken    = "console-secret-token"
	testClientID = "BUSINESSAPI.11111111-2222-3333-4444-555555555555"
	testKeyID    = "key-0001"
	testServer   = "1F97349736CF4614A94F624E705841AD"
)

// t0 is when every test's simulated time starts.
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// wallClock is a settable real-time clock for token lifetimes.
type wallClock struct {
	mu  sync.Mutex
	now time.Time
}

func (w *wallClock) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *wallClock) Advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

type harness struct {
	t     *testing.T
	sim   *Simulator
	clock *ManualClock
	wall  *wallClock
	key   *ecdsa.PrivateKey
	cfg   Config
}

// newHarness starts a simulator on a manual clock with a state file in a temporary directory.
func newHarness(t *testing.T, tweak ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, clock: NewManualClock(t0), wall: &wallClock{now: time.Now()}, key: NewTestKey()}
	h.cfg = Config{
		ConsoleToken: testToken, AppleClientID: testClientID, AppleKeyID: testKeyID,
		ApplePublicKey: &h.key.PublicKey, AppleServerID: testServer,
		Clock: h.clock, Wall: h.wall.Now, StateFile: filepath.Join(t.TempDir(), "sim.json"),
	}
	for _, f := range tweak {
		f(&h.cfg)
	}
	sim, err := New(h.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.sim = sim
	t.Cleanup(func() { _ = sim.Close() })
	return h
}

func (h *harness) add(specs ...DeviceSpec) {
	h.t.Helper()
	if err := h.sim.AddDevices(specs...); err != nil {
		h.t.Fatalf("AddDevices: %v", err)
	}
}

// do sends one request to the handler; body is JSON-encoded unless it is a string or url.Values.
func (h *harness) do(method, path string, body any, header map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	var rd *bytes.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case url.Values:
		rd = bytes.NewReader([]byte(b.Encode()))
		contentType = "application/x-www-form-urlencoded"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(js)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.sim.Handler().ServeHTTP(rec, req)
	return rec
}

func auth(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// send posts a console command and decodes the answer.
func (h *harness) send(serial, key string, req console.CommandRequest) (int, console.Command, string) {
	h.t.Helper()
	hdr := auth(testToken)
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	rec := h.do(http.MethodPost, "/api/v1/devices/"+serial+"/commands", req, hdr)
	var cmd console.Command
	if rec.Code < 300 {
		decode(h.t, rec, &cmd)
	}
	return rec.Code, cmd, consoleCode(h.t, rec)
}

// record reads a console record: the status and, when 200, the record.
func (h *harness) record(serial string) (int, console.Device) {
	h.t.Helper()
	rec := h.do(http.MethodGet, "/api/v1/devices/"+serial, nil, auth(testToken))
	var d console.Device
	if rec.Code == http.StatusOK {
		decode(h.t, rec, &d)
	}
	return rec.Code, d
}

func (h *harness) device(serial string) DeviceState {
	h.t.Helper()
	d, ok := h.sim.Device(serial)
	if !ok {
		h.t.Fatalf("no device %s", serial)
	}
	return d
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
}

// consoleCode is the error code of a console error answer, "" for a success.
func consoleCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code < 300 {
		return ""
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	decode(t, rec, &e)
	return e.Error.Code
}

// appleCode is the code of an Apple error answer.
func appleCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Errors []struct{ Status, Code string } `json:"errors"`
	}
	decode(t, rec, &e)
	if len(e.Errors) != 1 || e.Errors[0].Status != strconv.Itoa(rec.Code) {
		t.Fatalf("want one Apple error with status %d, got %s", rec.Code, rec.Body.String())
	}
	return e.Errors[0].Code
}

// signAssertion signs a client assertion the way Apple documents it: ES256, raw R||S.
func signAssertion(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": kid, "typ": "JWT"})
	body, _ := json.Marshal(claims)
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(body)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig)
}

func goodClaims(now time.Time) map[string]any {
	return map[string]any{"sub": testClientID, "iss": testClientID, "aud": AssertionAudience,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "jti-1"}
}

func tokenForm(assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID},
		"client_assertion_type": {AssertionType}, "client_assertion": {assertion}, "scope": {AppleScope}}
}

// appleToken obtains an access token from the token endpoint.
func (h *harness) appleToken() string {
	h.t.Helper()
	rec := h.do(http.MethodPost, "/auth/oauth2/token", tokenForm(signAssertion(h.t, h.key, testKeyID, goodClaims(h.wall.Now()))), nil)
	if rec.Code != http.StatusOK {
		h.t.Fatalf("token: %d %s", rec.Code, rec.Body.String())
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decode(h.t, rec, &tok)
	return tok.AccessToken
}

// unassign posts an UNASSIGN_DEVICES activity for serials on the test server.
func (h *harness) unassign(token string, serials ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	devices := make([]map[string]string, 0, len(serials))
	for _, s := range serials {
		devices = append(devices, map[string]string{"type": "orgDevices", "id": s})
	}
	body := map[string]any{"data": map[string]any{
		"type":       "orgDeviceActivities",
		"attributes": map[string]any{"activityType": "UNASSIGN_DEVICES"},
		"relationships": map[string]any{
			"mdmServer": map[string]any{"data": map[string]string{"type": "mdmServers", "id": testServer}},
			"devices":   map[string]any{"data": devices},
		},
	}}
	return h.do(http.MethodPost, "/v1/orgDeviceActivities", body, auth(token))
}

// ledgerCount counts a device's ledger entries of a kind and outcome.
func (h *harness) ledgerCount(serial, kind, outcome string) int {
	return CountLedger(h.sim.Ledger(serial), kind, outcome)
}

func hasHazard(entries []LedgerEntry, hazard string) bool {
	for _, e := range entries {
		if e.Hazard == hazard {
			return true
		}
	}
	return false
}
