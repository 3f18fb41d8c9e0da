package intake

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

const contactBody = `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false, "contact": "jane.doe@example.com", "reference": "HR-1"}`

func TestStartAnswers201(t *testing.T) {
	s := newTestServer(t)
	a := s.post(t, startToken, contactBody)
	if a.status != http.StatusCreated {
		t.Fatalf("%d %s", a.status, a.body)
	}
	ans := a.answer(t)
	if ans.WorkflowID != "offboard-F2LXK0A1HG7J" || ans.RunID != "run-1" || ans.Path != "keep/ade" || ans.State != StateRunning ||
		ans.RequestedBy != "hr (HR-1)" || ans.StatusURL != "/v1/offboardings/F2LXK0A1HG7J" || len(ans.Steps) == 0 || ans.Steps[0] != procedure.Preflight {
		t.Errorf("%+v", ans)
	}
	if a.header.Get("Location") != "/v1/offboardings/F2LXK0A1HG7J" {
		t.Errorf("Location %q", a.header.Get("Location"))
	}
	in := s.fake.starts[0]
	if in.Request.Serial != "F2LXK0A1HG7J" || in.Contact != "jane.doe@example.com" || !in.Confirmed {
		t.Errorf("input %+v", in)
	}
}

func TestSameRequestAnswers200AndStartsNothing(t *testing.T) {
	s := newTestServer(t)
	if a := s.post(t, startToken, contactBody); a.status != http.StatusCreated {
		t.Fatalf("%d %s", a.status, a.body)
	}
	// Again, from another caller, with another reference, the serial in lower case, the contact
	// in other case and the wipe as the fleet file's word: the same request.
	again := `{"serial": "f2lxk0a1hg7j", "enrollment": "ade", "wipe": "no", "contact": "Jane.Doe@example.com", "reference": "HR-2"}`
	a := s.post(t, wipeToken, again)
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	ans := a.answer(t)
	if ans.RunID != "run-1" || ans.State != StateRunning || ans.RequestedBy != "hr (HR-1)" || ans.Status == nil || ans.Status.Serial != "F2LXK0A1HG7J" {
		t.Errorf("%+v", ans)
	}
	if n := s.fake.startCount(); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

func TestDifferentRequestAnswers409(t *testing.T) {
	s := newTestServer(t)
	s.post(t, startToken, contactBody)
	a := s.post(t, wipeToken, `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "contact": "john@example.com"}`)
	if a.status != http.StatusConflict {
		t.Fatalf("%d %s", a.status, a.body)
	}
	p := a.problem(t)
	if p.Type != TypeConflict || p.WorkflowID != "offboard-F2LXK0A1HG7J" || p.RunID != "run-1" || p.Path != "keep/ade" || p.State != StateRunning ||
		p.StatusURL != "/v1/offboardings/F2LXK0A1HG7J" {
		t.Errorf("%+v", p)
	}
	for _, want := range []string{"already being offboarded", "keep/ade", "differs in wipe, contact", "nothing was started"} {
		if !strings.Contains(p.Detail, want) {
			t.Errorf("detail %q lacks %q", p.Detail, want)
		}
	}
	if len(p.Conflicts) != 2 || p.Conflicts[0].Name != "wipe" || p.Conflicts[1].Name != "contact" {
		t.Errorf("conflicts %+v", p.Conflicts)
	}
	if strings.Contains(string(a.body), "jane.doe") || strings.Contains(string(a.body), "john@") {
		t.Errorf("a conflict shows a contact: %s", a.body)
	}
	if n := s.fake.startCount(); n != 1 {
		t.Errorf("%d starts", n)
	}
}

func TestCompletedDevice(t *testing.T) {
	s := newTestServer(t)
	s.post(t, startToken, contactBody)
	s.fake.set("F2LXK0A1HG7J", existing{RunID: "run-1", State: StateCompleted, CloseTime: testNow, Input: s.fake.starts[0]})
	// The same request: the removal it asks for is done.
	a := s.post(t, startToken, contactBody)
	if a.status != http.StatusOK || a.answer(t).State != StateCompleted {
		t.Fatalf("%d %s", a.status, a.body)
	}
	// A different one: the device is gone, nothing can be asked of it.
	a = s.post(t, startToken, `{"serial": "F2LXK0A1HG7J", "enrollment": "manual", "wipe": false, "contact": "jane.doe@example.com"}`)
	if a.status != http.StatusConflict {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if p := a.problem(t); !strings.Contains(p.Detail, "already offboarded") || !strings.Contains(p.Detail, "2026-03-02T09:00:00Z") || p.State != StateCompleted {
		t.Errorf("%+v", p)
	}
	if n := s.fake.startCount(); n != 1 {
		t.Errorf("%d starts", n)
	}
}

// A device whose last run failed or was cancelled starts again, whatever it asked then.
func TestFailedOrCancelledDeviceStartsAgain(t *testing.T) {
	s := newTestServer(t)
	s.post(t, startToken, contactBody)
	s.fake.set("F2LXK0A1HG7J", existing{RunID: "run-1", State: StateClosed, Input: s.fake.starts[0]})
	a := s.post(t, wipeToken, `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true}`)
	if a.status != http.StatusCreated || a.answer(t).RunID != "run-2" {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

// The workflow ID taken by a run that closes (fails) before the intake reads it: the intake
// starts again rather than compare with a run that no longer holds the device.
type closingBackend struct {
	*fakeBackend
	refused bool
}

func (c *closingBackend) start(ctx context.Context, o Offboarding, in workflows.DeviceInput) (string, error) {
	if !c.refused {
		c.refused = true
		c.fakeBackend.set(o.Request.Serial, existing{RunID: "run-0", State: StateClosed})
		return "", errAlreadyStarted
	}
	return c.fakeBackend.start(ctx, o, in)
}

func TestRunClosedWhileCompared(t *testing.T) {
	cb := &closingBackend{fakeBackend: newFake()}
	h, err := newHandler(cb, Options{Tokens: []Credential{NewCredential("hr", ScopeStart, startToken)}})
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{Server: newHTTPTest(t, h), fake: cb.fakeBackend}
	if a := s.post(t, startToken, contactBody); a.status != http.StatusCreated {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

func TestTemporalDown(t *testing.T) {
	s := newTestServer(t)
	s.fake.fail = errors.New("connection refused")
	a := s.post(t, startToken, contactBody)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if p := a.problem(t); p.Type != TypeUnavailable || !strings.Contains(p.Detail, "F2LXK0A1HG7J") || strings.Contains(p.Detail, "refused") {
		t.Errorf("%+v (the cause goes to the log, not the caller)", p)
	}
	if a := s.do(t, http.MethodGet, "/v1/offboardings/F2LXK0A1HG7J", readToken, ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("GET: %d", a.status)
	}
}

func TestGetStatus(t *testing.T) {
	s := newTestServer(t)
	a := s.do(t, http.MethodGet, "/v1/offboardings/F2LXK0A1HG7J", readToken, "")
	if a.status != http.StatusNotFound {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if p := a.problem(t); p.Type != TypeNotFound || !strings.Contains(p.Detail, "F2LXK0A1HG7J") {
		t.Errorf("%+v", p)
	}
	s.post(t, startToken, `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false, "contact": "u@example.com", "consoleMode": "operator"}`)
	a = s.do(t, http.MethodGet, "/v1/offboardings/f2lxk0a1hg7j", readToken, "")
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var st workflows.DeviceStatus
	if err := json.Unmarshal(a.body, &st); err != nil || st.Serial != "F2LXK0A1HG7J" || st.ConsoleMode != "operator" {
		t.Errorf("%+v %v", st, err)
	}
	a = s.do(t, http.MethodGet, "/v1/offboardings/F2-LX", readToken, "")
	if a.status != http.StatusBadRequest || a.problem(t).InvalidParams[0].Name != "serial" {
		t.Errorf("bad serial: %d %s", a.status, a.body)
	}
}

func TestRequestShape(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		want                     int
		typ                      string
	}{
		{"no such route", http.MethodGet, "/v1/devices", "", nil, http.StatusNotFound, TypeNotFound},
		{"trailing slash", http.MethodGet, "/v1/offboardings/", "", nil, http.StatusNotFound, TypeNotFound},
		{"deeper", http.MethodGet, "/v1/offboardings/F2LXK0A1HG7J/steps", "", nil, http.StatusNotFound, TypeNotFound},
		{"GET the collection", http.MethodGet, "/v1/offboardings", "", nil, http.StatusMethodNotAllowed, TypeMethodNotAllowed},
		{"DELETE a device", http.MethodDelete, "/v1/offboardings/F2LXK0A1HG7J", "", nil, http.StatusMethodNotAllowed, TypeMethodNotAllowed},
		{"text body", http.MethodPost, "/v1/offboardings", keepBody, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType, TypeUnsupportedMedia},
		{"form body", http.MethodPost, "/v1/offboardings", "serial=F2LXK0A1HG7J", []string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, TypeUnsupportedMedia},
		{"too large", http.MethodPost, "/v1/offboardings", `{"reference": "` + strings.Repeat("x", MaxBodyBytes) + `"}`, nil, http.StatusRequestEntityTooLarge, TypeTooLarge},
		{"empty", http.MethodPost, "/v1/offboardings", "", []string{"Content-Type", "application/json"}, http.StatusBadRequest, TypeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.do(t, tc.method, tc.path, wipeToken, tc.body, tc.header...)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if p := a.problem(t); p.Type != tc.typ {
				t.Errorf("type %s, want %s", p.Type, tc.typ)
			}
			if tc.want == http.StatusMethodNotAllowed && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	if a := s.do(t, http.MethodPost, "/v1/offboardings", startToken, contactBody, "Content-Type", "application/json; charset=utf-8"); a.status != http.StatusCreated {
		t.Errorf("a charset parameter: %d %s", a.status, a.body)
	}
	if a := s.do(t, http.MethodGet, "/healthz", "", ""); a.status != http.StatusOK {
		t.Errorf("healthz: %d", a.status)
	}
	if n := s.fake.startCount(); n != 1 {
		t.Errorf("%d starts", n)
	}
}

// The log says who asked what of which device, and never a token, a signature, a contact or a
// reference (an HR ticket may name the person).
func TestLogsHoldNoSecretNorPersonalData(t *testing.T) {
	s := newTestServer(t)
	s.post(t, startToken, contactBody)
	s.post(t, "wrong-token-0123456789", contactBody)
	s.signed(t, startKey, testNow, `{"serial": "F2LXK0A1HG7K", "enrollment": "ade", "wipe": false, "contact": "jane.doe@example.com"}`)
	s.post(t, wipeToken, `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "contact": "john.roe@example.com"}`)
	entries := s.logs.All()
	if len(entries) != 4 {
		t.Fatalf("%d log lines, want one a request", len(entries))
	}
	for _, e := range entries {
		line, _ := json.Marshal(e.ContextMap())
		text := e.Message + string(line)
		for _, secret := range []string{startToken, "wrong-token", wipeToken, startKey, "sha256=", "jane.doe", "john.roe", "HR-1", "example.com"} {
			if strings.Contains(text, secret) {
				t.Errorf("log line shows %q: %s", secret, text)
			}
		}
	}
	first := entries[0].ContextMap()
	if first["caller"] != "hr" || first["serial"] != "F2LXK0A1HG7J" || first["status"] != int64(http.StatusCreated) {
		t.Errorf("the log line should say who, which device and the answer: %v", first)
	}
}

func TestServerTimeouts(t *testing.T) {
	srv := NewServer("127.0.0.1:0", http.NotFoundHandler())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= DefaultTimeout || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("%+v", srv)
	}
	if srv.WriteTimeout > 2*time.Minute {
		t.Errorf("write timeout %s", srv.WriteTimeout)
	}
}
