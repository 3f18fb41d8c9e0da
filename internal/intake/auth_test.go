package intake

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const keepBody = `{"serial": "F2LXK0A1HG7J", "enrollment": "ade-restricted", "wipe": false}`
const wipeBody = `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true}`

func TestBearerToken(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct {
		name, authz string
		want        string // in the detail
	}{
		{"missing", "", "no credentials"},
		{"unknown token", "Bearer not-a-token-0123456789", "not one of this intake's"},
		{"a prefix of a token", "Bearer " + startToken[:len(startToken)-1], "not one of this intake's"},
		{"basic", "Basic aHI6c2VjcmV0", `must be "Bearer <token>"`},
		{"empty bearer", "Bearer ", `must be "Bearer <token>"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.do(t, http.MethodPost, "/v1/offboardings", "", keepBody, "Authorization", tc.authz)
			if a.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", a.status, a.body)
			}
			p := a.problem(t)
			if p.Type != TypeUnauthorized || !strings.Contains(p.Detail, tc.want) {
				t.Errorf("%+v, want %q", p, tc.want)
			}
			if a.header.Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
		})
	}
	if a := s.do(t, http.MethodGet, "/v1/offboardings/F2LXK0A1HG7J", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d", a.status)
	}
	if n := s.fake.startCount(); n != 0 {
		t.Errorf("%d starts from unauthenticated requests", n)
	}
	// The scheme's case does not matter (RFC 9110).
	if a := s.do(t, http.MethodPost, "/v1/offboardings", "", keepBody, "Authorization", "bearer "+startToken); a.status != http.StatusCreated {
		t.Errorf("lower-case bearer: %d %s", a.status, a.body)
	}
}

func TestScopes(t *testing.T) {
	for _, tc := range []struct {
		name, token, body string
		want              int
	}{
		{"read cannot start", readToken, keepBody, http.StatusForbidden},
		{"read cannot wipe", readToken, wipeBody, http.StatusForbidden},
		{"start keeps", startToken, keepBody, http.StatusCreated},
		{"start cannot wipe", startToken, wipeBody, http.StatusForbidden},
		{"start cannot wipe by the device's user", startToken,
			`{"serial": "F2LXK0A1HG7J", "enrollment": "manual", "wipe": "yes", "wipeMethod": "device", "contact": "u@example.com"}`, http.StatusForbidden},
		{"wipe keeps", wipeToken, keepBody, http.StatusCreated},
		{"wipe wipes", wipeToken, wipeBody, http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t)
			a := s.post(t, tc.token, tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if tc.want == http.StatusForbidden {
				p := a.problem(t)
				if p.Type != TypeForbidden || !strings.Contains(p.Detail, "F2LXK0A1HG7J") || !strings.Contains(p.Detail, "Nothing was started") {
					t.Errorf("%+v", p)
				}
				if n := s.fake.startCount(); n != 0 {
					t.Errorf("a refused request started %d workflows", n)
				}
			}
		})
	}
	s := newTestServer(t)
	s.post(t, startToken, keepBody)
	for _, tok := range []string{readToken, startToken, wipeToken} {
		if a := s.do(t, http.MethodGet, "/v1/offboardings/F2LXK0A1HG7J", tok, ""); a.status != http.StatusOK {
			t.Errorf("every scope reads: %d %s", a.status, a.body)
		}
	}
}

func TestRequestedByIsTheCallersName(t *testing.T) {
	s := newTestServer(t)
	a := s.post(t, startToken, `{"serial": "F2LXK0A1HG7J", "enrollment": "ade-restricted", "wipe": false, "reference": "HR-1234"}`)
	if a.status != http.StatusCreated {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if got := s.fake.starts[0].RequestedBy; got != "hr (HR-1234)" {
		t.Errorf("requestedBy %q, want the token's name and the reference", got)
	}
	if !s.fake.starts[0].Confirmed {
		t.Error("the intake's start is the confirmation: Confirmed must be set")
	}
}

func TestHMACSignature(t *testing.T) {
	ts := func(at time.Time) string { return strconv.FormatInt(at.Unix(), 10) }
	for _, tc := range []struct {
		name   string
		header []string
		body   string
		want   int
		detail string
	}{
		{"good", []string{HeaderTimestamp, ts(testNow), HeaderSignature, SignatureHeader([]byte(startKey), ts(testNow), []byte(keepBody))},
			keepBody, http.StatusCreated, ""},
		{"good, 4 minutes old", []string{HeaderTimestamp, ts(testNow.Add(-4 * time.Minute)),
			HeaderSignature, SignatureHeader([]byte(startKey), ts(testNow.Add(-4*time.Minute)), []byte(keepBody))}, keepBody, http.StatusCreated, ""},
		{"wipe secret wipes", []string{HeaderTimestamp, ts(testNow), HeaderSignature, SignatureHeader([]byte(wipeKey), ts(testNow), []byte(wipeBody))},
			wipeBody, http.StatusCreated, ""},
		{"start secret cannot wipe", []string{HeaderTimestamp, ts(testNow), HeaderSignature, SignatureHeader([]byte(startKey), ts(testNow), []byte(wipeBody))},
			wipeBody, http.StatusForbidden, "scope wipe"},
		{"unknown secret", []string{HeaderTimestamp, ts(testNow), HeaderSignature, SignatureHeader([]byte("another-secret-0123456789"), ts(testNow), []byte(keepBody))},
			keepBody, http.StatusUnauthorized, "does not match"},
		{"body changed after signing", []string{HeaderTimestamp, ts(testNow), HeaderSignature, SignatureHeader([]byte(startKey), ts(testNow), []byte(keepBody))},
			strings.Replace(keepBody, "false", "true", 1), http.StatusUnauthorized, "does not match"},
		{"timestamp changed after signing", []string{HeaderTimestamp, ts(testNow), HeaderSignature,
			SignatureHeader([]byte(startKey), ts(testNow.Add(-time.Hour)), []byte(keepBody))}, keepBody, http.StatusUnauthorized, "does not match"},
		{"stale", []string{HeaderTimestamp, ts(testNow.Add(-6 * time.Minute)),
			HeaderSignature, SignatureHeader([]byte(startKey), ts(testNow.Add(-6*time.Minute)), []byte(keepBody))}, keepBody, http.StatusUnauthorized, "6m0s from the intake's clock"},
		{"from the future", []string{HeaderTimestamp, ts(testNow.Add(10 * time.Minute)),
			HeaderSignature, SignatureHeader([]byte(startKey), ts(testNow.Add(10*time.Minute)), []byte(keepBody))}, keepBody, http.StatusUnauthorized, "from the intake's clock"},
		{"no timestamp", []string{HeaderSignature, SignatureHeader([]byte(startKey), "", []byte(keepBody))}, keepBody, http.StatusUnauthorized, HeaderTimestamp},
		{"not hex", []string{HeaderTimestamp, ts(testNow), HeaderSignature, "sha256=zz"}, keepBody, http.StatusUnauthorized, "64 hex digits"},
		{"no algorithm", []string{HeaderTimestamp, ts(testNow), HeaderSignature,
			strings.TrimPrefix(SignatureHeader([]byte(startKey), ts(testNow), []byte(keepBody)), "sha256=")}, keepBody, http.StatusUnauthorized, "sha256="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t)
			a := s.do(t, http.MethodPost, "/v1/offboardings", "", tc.body, tc.header...)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if tc.want >= 400 {
				if p := a.problem(t); !strings.Contains(p.Detail, tc.detail) {
					t.Errorf("detail %q, want %q", p.Detail, tc.detail)
				}
				if n := s.fake.startCount(); n != 0 {
					t.Errorf("%d starts", n)
				}
			} else if by := s.fake.starts[0].RequestedBy; by != "hr-signed" && by != "idp-signed" {
				t.Errorf("requestedBy %q, want the secret's name", by)
			}
		})
	}
}

func TestHMACNotTakenOnGET(t *testing.T) {
	s := newTestServer(t)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	a := s.do(t, http.MethodGet, "/v1/offboardings/F2LXK0A1HG7J", "", "",
		HeaderTimestamp, ts, HeaderSignature, SignatureHeader([]byte(startKey), ts, nil))
	if a.status != http.StatusUnauthorized || !strings.Contains(a.problem(t).Detail, "POST only") {
		t.Errorf("%d %s", a.status, a.body)
	}
}

func TestSignMatchesTheDocumentedRecipe(t *testing.T) {
	// printf '%s.%s' 1700000000 '{"a":1}' | openssl dgst -sha256 -hmac 0123456789abcdef
	got := SignatureHeader([]byte("0123456789abcdef"), "1700000000", []byte(`{"a":1}`))
	const want = "sha256=9eb18f493f8ec135d9eb2dad817c369bb4e9cbfa818657897a7437c1cd8c3a23"
	if got != want {
		t.Errorf("SignatureHeader = %q, want openssl's %q", got, want)
	}
}

func TestReadScopeSecretRefused(t *testing.T) {
	_, err := newHandler(newFake(), Options{Secrets: []Credential{NewCredential("dash", ScopeRead, startKey)}})
	if err == nil || !strings.Contains(err.Error(), "dash") {
		t.Errorf("a read-scope HMAC secret was taken: %v", err)
	}
	if _, err := newHandler(newFake(), Options{}); err == nil {
		t.Error("a handler nobody can call was made")
	}
}
