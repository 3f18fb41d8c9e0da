package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/offboard/offboard/workflows"
)

// Credentials of the tests: one token of each scope, and a signing secret of each start scope.
const (
	readToken  = "read-token-0123456789"
	startToken = "start-token-0123456789"
	wipeToken  = "wipe-token-0123456789"
	startKey   = "hmac-start-secret-0123456789"
	wipeKey    = "hmac-wipe-secret-0123456789"
)

var testNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeBackend is Temporal as the handler sees it: one latest run a device, started with an
// input; a run that is not closed holds the workflow ID.
type fakeBackend struct {
	mu     sync.Mutex
	runs   map[string]*existing
	starts []workflows.DeviceInput
	fail   error // every call fails with it
}

func newFake() *fakeBackend { return &fakeBackend{runs: map[string]*existing{}} }

func (f *fakeBackend) start(_ context.Context, o Offboarding, in workflows.DeviceInput) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	if r, ok := f.runs[o.Request.Serial]; ok && r.State != StateClosed {
		return "", errAlreadyStarted
	}
	f.starts = append(f.starts, in)
	r := &existing{RunID: fmt.Sprintf("run-%d", len(f.starts)), State: StateRunning, Input: in}
	f.runs[o.Request.Serial] = r
	return r.RunID, nil
}

func (f *fakeBackend) latest(_ context.Context, serial string) (existing, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return existing{}, f.fail
	}
	r, ok := f.runs[serial]
	if !ok {
		return existing{}, errNoWorkflow
	}
	return *r, nil
}

func (f *fakeBackend) status(_ context.Context, serial string) (workflows.DeviceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return workflows.DeviceStatus{}, f.fail
	}
	r, ok := f.runs[serial]
	if !ok {
		return workflows.DeviceStatus{}, errNoWorkflow
	}
	return workflows.DeviceStatus{Serial: serial, Outcome: workflows.OutcomeRunning, ConsoleMode: r.Input.ConsoleMode, Warnings: []string{}}, nil
}

// set puts a run in place, as another caller (the starter, a fleet) would have.
func (f *fakeBackend) set(serial string, ex existing) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[serial] = &ex
}

func (f *fakeBackend) startCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts)
}

type testServer struct {
	*httptest.Server
	fake *fakeBackend
	logs *observer.ObservedLogs
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	fake := newFake()
	core, logs := observer.New(zap.InfoLevel)
	h, err := newHandler(fake, Options{
		Tokens: []Credential{NewCredential("dashboard", ScopeRead, readToken), NewCredential("hr", ScopeStart, startToken),
			NewCredential("idp", ScopeWipe, wipeToken)},
		Secrets: []Credential{NewCredential("hr-signed", ScopeStart, startKey), NewCredential("idp-signed", ScopeWipe, wipeKey)},
		Logger:  zap.New(core), Now: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Server: newHTTPTest(t, h), fake: fake, logs: logs}
}

func newHTTPTest(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) problem(t *testing.T) Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != ProblemContentType {
		t.Fatalf("status %d: Content-Type %q, want %s: %s", a.status, ct, ProblemContentType, a.body)
	}
	var p Problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("not a problem: %v: %s", err, a.body)
	}
	if p.Status != a.status || p.Type == "" || p.Title == "" {
		t.Errorf("problem %+v of a %d answer", p, a.status)
	}
	return p
}

func (a answer) answer(t *testing.T) Answer {
	t.Helper()
	var ans Answer
	if err := json.Unmarshal(a.body, &ans); err != nil {
		t.Fatalf("not an answer: %v: %s", err, a.body)
	}
	return ans
}

func (s *testServer) do(t *testing.T, method, path, token string, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
}

func (s *testServer) post(t *testing.T, token, body string) answer {
	t.Helper()
	return s.do(t, http.MethodPost, "/v1/offboardings", token, body)
}

// signed posts body signed with secret at the time at.
func (s *testServer) signed(t *testing.T, secret string, at time.Time, body string) answer {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	return s.do(t, http.MethodPost, "/v1/offboardings", "", body,
		HeaderTimestamp, ts, HeaderSignature, SignatureHeader([]byte(secret), ts, []byte(body)))
}
