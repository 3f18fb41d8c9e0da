package applebusiness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testClientID = "BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152"
	testKeyID    = "d136aa66-0c3b-4bd4-9892-c20e8db024ab"
	testServerID = "1F97349736CF4614A94F624E705841AD"
)

// fakeApple plays Apple's token endpoint and the few API endpoints Offboard uses. Its token
// endpoint verifies the client assertion as Apple does: the ES256 signature against the
// registered public key, kid, sub, iss, aud, iat/exp and jti.
type fakeApple struct {
	t      *testing.T
	srv    *httptest.Server
	pub    *ecdsa.PublicKey
	now    func() time.Time
	expiry int64 // expires_in of issued tokens

	mu            sync.Mutex
	tokens        map[string]bool // issued and still accepted
	jtis          map[string]bool
	tokenRequests int
	apiRequests   int
	rejections    []string // why assertions were refused
	assertions    []string // every assertion received
	bodies        [][]byte // bodies of POST /v1/orgDeviceActivities
	assigned      map[string]string
	activities    map[string]string // id → JSON document
	tokenDelay    time.Duration
	// fault, when set, may answer an API request itself (after the bearer check).
	fault func(w http.ResponseWriter, r *http.Request) bool
	// tokenFault, when set, may answer a token request itself (after verification).
	tokenFault func(w http.ResponseWriter, r *http.Request) bool
	// devicePages answers GET /v1/mdmServers/{id}/relationships/devices; pageQueries keeps the
	// server id and query of every such request.
	devicePages func(w http.ResponseWriter, r *http.Request)
	pageQueries []string
	// locks answers GET /v1/orgDevices/{id}/activationLockStatus: serial → the whole JSON answer.
	locks map[string]string
}

func newFakeApple(t *testing.T, pub *ecdsa.PublicKey, now func() time.Time) *fakeApple {
	f := &fakeApple{t: t, pub: pub, now: now, expiry: 3600,
		tokens: map[string]bool{}, jtis: map[string]bool{}, assigned: map[string]string{}, activities: map[string]string{}, locks: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/oauth2/token", f.token)
	mux.HandleFunc("GET /v1/orgDevices/{id}/relationships/assignedServer", f.api(f.assignedServer))
	mux.HandleFunc("POST /v1/orgDeviceActivities", f.api(f.createActivity))
	mux.HandleFunc("GET /v1/orgDeviceActivities/{id}", f.api(f.getActivity))
	mux.HandleFunc("GET /v1/mdmServers/{id}/relationships/devices", f.api(f.serverDevices))
	mux.HandleFunc("GET /v1/orgDevices/{id}/activationLockStatus", f.api(f.activationLock))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeApple) config(key *ecdsa.PrivateKey) Config {
	return Config{ClientID: testClientID, KeyID: testKeyID, PrivateKey: key, ServerID: testServerID,
		APIBaseURL: f.srv.URL, TokenURL: f.srv.URL + "/auth/oauth2/token", Now: f.now}
}

func (f *fakeApple) token(w http.ResponseWriter, r *http.Request) {
	if f.tokenDelay > 0 {
		time.Sleep(f.tokenDelay)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenRequests++
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.refuse(w, "invalid_request", "Content-Type "+ct)
		return
	}
	if len(r.URL.RawQuery) > 0 {
		f.refuse(w, "invalid_request", "parameters in the URL")
		return
	}
	if err := r.ParseForm(); err != nil {
		f.refuse(w, "invalid_request", err.Error())
		return
	}
	want := map[string]string{"grant_type": "client_credentials", "client_id": testClientID,
		"client_assertion_type": ClientAssertionType, "scope": "business.api"}
	for k, v := range want {
		if got := r.PostForm.Get(k); got != v {
			code := "invalid_request"
			if k == "client_id" {
				code = "invalid_client"
			}
			f.refuse(w, code, fmt.Sprintf("%s = %q, want %q", k, got, v))
			return
		}
	}
	assertion := r.PostForm.Get("client_assertion")
	f.assertions = append(f.assertions, assertion)
	if problem := f.verify(assertion); problem != "" {
		f.refuse(w, "invalid_client", problem)
		return
	}
	if f.tokenFault != nil && f.tokenFault(w, r) {
		return
	}
	token := fmt.Sprintf("access-%d-%s", f.tokenRequests, randomHex(8))
	f.tokens[token] = true
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d,"scope":"business.api"}`, token, f.expiry)
}

func (f *fakeApple) refuse(w http.ResponseWriter, code, why string) {
	f.rejections = append(f.rejections, why)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": why})
}

// verify checks a client assertion the way Apple's token endpoint does; it answers why it is
// refused, or "".
func (f *fakeApple) verify(assertion string) string {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "not a compact JWS"
	}
	var header map[string]any
	if err := decodeSegment(parts[0], &header); err != nil {
		return "header: " + err.Error()
	}
	if header["alg"] != "ES256" || header["kid"] != testKeyID || header["typ"] != "JWT" {
		return fmt.Sprintf("header %v", header)
	}
	var claims struct {
		Sub, Iss, Aud, Jti string
		Iat, Exp           int64
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return "claims: " + err.Error()
	}
	now := f.now().Unix()
	switch {
	case claims.Sub != testClientID || claims.Iss != testClientID:
		return fmt.Sprintf("sub %q iss %q", claims.Sub, claims.Iss)
	case claims.Aud != "https://account.apple.com/auth/oauth2/v2/token":
		return "aud " + claims.Aud
	case claims.Iat > now+60 || claims.Exp <= now || claims.Exp <= claims.Iat || claims.Exp-claims.Iat > 180*86400:
		return fmt.Sprintf("iat %d exp %d now %d", claims.Iat, claims.Exp, now)
	case claims.Jti == "" || f.jtis[claims.Jti]:
		return "jti missing or reused"
	}
	f.jtis[claims.Jti] = true
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "signature is not 64 bytes of base64url (raw R||S)"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(f.pub, digest[:], r, s) {
		return "signature does not verify with the registered public key"
	}
	return ""
}

func decodeSegment(seg string, v any) error {
	if strings.ContainsAny(seg, "=+/") {
		return fmt.Errorf("not base64url without padding")
	}
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// api wraps an API handler with Apple's checks: a bearer token it issued, and Accept JSON.
func (f *fakeApple) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.apiRequests++
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		ok := f.tokens[token]
		fault := f.fault
		f.mu.Unlock()
		if !ok {
			appleError(w, 401, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.", "Provide a properly configured and signed bearer token.")
			return
		}
		if r.Header.Get("Accept") != "application/json" {
			appleError(w, 406, "NOT_ACCEPTABLE", "Not acceptable", "Accept application/json")
			return
		}
		if fault != nil && fault(w, r) {
			return
		}
		h(w, r)
	}
}

func appleError(w http.ResponseWriter, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"id":"err-%d","status":"%d","code":%q,"title":%q,"detail":%q}]}`, status, status, code, title, detail)
}

func (f *fakeApple) assignedServer(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("id")
	f.mu.Lock()
	server, known := f.assigned[serial]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case !known:
		appleError(w, 404, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'orgDevices' with id '"+serial+"'")
	case server == "":
		fmt.Fprint(w, `{"data":null,"links":{}}`)
	default:
		fmt.Fprintf(w, `{"data":{"type":"mdmServers","id":%q},"links":{}}`, server)
	}
}

func (f *fakeApple) createActivity(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Type") != "application/json" {
		appleError(w, 400, "PARAMETER_ERROR.INVALID", "bad content type", r.Header.Get("Content-Type"))
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"data":{"type":"orgDeviceActivities","id":"b1481656-b267-480d-b284-a809eed8b041",
		"attributes":{"status":"IN_PROGRESS","subStatus":"SUBMITTED","createdDateTime":"2025-05-05T04:15:43.282Z"},
		"links":{"self":"https://api-business.apple.com/v1/orgDeviceActivities/b1481656-b267-480d-b284-a809eed8b041"}},
		"links":{"self":"https://api-business.apple.com/v1/orgDeviceActivities"}}`)
}

func (f *fakeApple) getActivity(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	doc, ok := f.activities[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		appleError(w, 404, "NOT_FOUND", "The specified resource does not exist", "no activity "+r.PathValue("id"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, doc)
}

func (f *fakeApple) serverDevices(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.pageQueries = append(f.pageQueries, r.PathValue("id")+"?"+r.URL.RawQuery)
	pages := f.devicePages
	f.mu.Unlock()
	if pages == nil {
		appleError(w, 404, "NOT_FOUND", "The specified resource does not exist", "no MDM server "+r.PathValue("id"))
		return
	}
	pages(w, r)
}

func (f *fakeApple) counts() (tokenRequests, apiRequests int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenRequests, f.apiRequests
}

// revokeAll makes every issued token unknown, as when Apple expires them early.
func (f *fakeApple) revokeAll() {
	f.mu.Lock()
	f.tokens = map[string]bool{}
	f.mu.Unlock()
}

func (f *fakeApple) issued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for tok := range f.tokens {
		out = append(out, tok)
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func newKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
