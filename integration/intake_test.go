package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/intake"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// Credentials of the intake under test.
const (
	intakeStartToken = "intake-start-token-0123456789"
	intakeWipeToken  = "intake-wipe-token-0123456789"
	intakeReadToken  = "intake-read-token-0123456789"
	intakeHMACSecret = "intake-hmac-secret-0123456789"
)

// intakeServer runs the real handler on the suite's client, as bin/intake runs it on its own.
func intakeServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := intake.New(intake.Options{
		Client: tc,
		Tokens: []intake.Credential{intake.NewCredential("hr", intake.ScopeStart, intakeStartToken),
			intake.NewCredential("idp", intake.ScopeWipe, intakeWipeToken), intake.NewCredential("dashboard", intake.ScopeRead, intakeReadToken)},
		Secrets: []intake.Credential{intake.NewCredential("hr-signed", intake.ScopeStart, intakeHMACSecret)},
		Timing:  fastTiming,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type intakeAnswer struct {
	status int
	body   []byte
	header http.Header
}

func (a intakeAnswer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("status %d: %v: %s", a.status, err, a.body)
	}
}

func intakeCall(t *testing.T, srv *httptest.Server, method, path, token, body string, header ...string) intakeAnswer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader([]byte(body)))
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
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return intakeAnswer{status: resp.StatusCode, body: buf.Bytes(), header: resp.Header}
}

func latestRun(t *testing.T, serial string) (string, enumspb.WorkflowExecutionStatus) {
	t.Helper()
	d, err := tc.DescribeWorkflowExecution(context.Background(), contract.DeviceWorkflowID(serial), "")
	if err != nil {
		t.Fatalf("describe %s: %v", serial, err)
	}
	info := d.GetWorkflowExecutionInfo()
	return info.GetExecution().GetRunId(), info.GetStatus()
}

// The intake through a real HTTP client, against the dev server and the simulator: a start, the
// same request again, a different one, bad input, the status, and a wipe without the scope.
func TestIntakeEndToEnd(t *testing.T) {
	srv := intakeServer(t)
	serial := uniqueSerial("IN")
	if err := world.Sim.AddDevices(quick(simulator.DeviceSpecFor(serial, "ade-restricted"))); err != nil {
		t.Fatal(err)
	}
	// Operator mode: the device waits on a person, so it is still running for the requests below.
	body := fmt.Sprintf(`{"serial": %q, "enrollment": "ade-restricted", "wipe": false, "consoleMode": "operator", "reference": "HR-42"}`, serial)
	t.Cleanup(func() { _ = tc.CancelWorkflow(context.Background(), contract.DeviceWorkflowID(serial), "") })

	// A start answers 201 with the workflow.
	a := intakeCall(t, srv, http.MethodPost, "/v1/offboardings", intakeStartToken, body)
	if a.status != http.StatusCreated {
		t.Fatalf("start: %d %s", a.status, a.body)
	}
	var started intake.Answer
	a.decode(t, &started)
	if started.WorkflowID != contract.DeviceWorkflowID(serial) || started.RunID == "" || started.Path != "keep/ade-restricted" ||
		started.RequestedBy != "hr (HR-42)" || a.header.Get("Location") != "/v1/offboardings/"+serial {
		t.Fatalf("start answered %+v", started)
	}
	runID, st := latestRun(t, serial)
	if runID != started.RunID || st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the server has run %s (%s), the intake answered %s", runID, st, started.RunID)
	}

	// GET answers the status query (once the workflow has run its first task).
	var status workflows.DeviceStatus
	deadline := time.Now().Add(30 * time.Second)
	for {
		a = intakeCall(t, srv, http.MethodGet, "/v1/offboardings/"+serial, intakeReadToken, "")
		if a.status == http.StatusOK {
			a.decode(t, &status)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET: %d %s", a.status, a.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status.Serial != serial || status.Path != "keep/ade-restricted" || status.ConsoleMode != contract.ModeOperator || status.Outcome != workflows.OutcomeRunning {
		t.Errorf("status %+v", status)
	}

	// The same request again (in another case, from another caller) answers 200 and starts nothing.
	again := fmt.Sprintf(`{"serial": %q, "enrollment": "ade-restricted", "wipe": "no", "consoleMode": "operator", "reference": "HR-43"}`, toLower(serial))
	a = intakeCall(t, srv, http.MethodPost, "/v1/offboardings", intakeWipeToken, again)
	if a.status != http.StatusOK {
		t.Fatalf("same request: %d %s", a.status, a.body)
	}
	var same intake.Answer
	a.decode(t, &same)
	if same.RunID != started.RunID || same.State != intake.StateRunning || same.RequestedBy != "hr (HR-42)" || same.Status == nil || same.Status.Serial != serial {
		t.Errorf("same request answered %+v", same)
	}
	if runID, _ := latestRun(t, serial); runID != started.RunID {
		t.Errorf("the same request started run %s", runID)
	}

	// A different request for the running device answers 409 with the reason.
	a = intakeCall(t, srv, http.MethodPost, "/v1/offboardings", intakeStartToken,
		fmt.Sprintf(`{"serial": %q, "enrollment": "ade", "wipe": false, "contact": "leaver@example.com"}`, serial))
	if a.status != http.StatusConflict || a.header.Get("Content-Type") != intake.ProblemContentType {
		t.Fatalf("different request: %d %s", a.status, a.body)
	}
	var conflict intake.Problem
	a.decode(t, &conflict)
	if conflict.Type != intake.TypeConflict || conflict.RunID != started.RunID || conflict.Path != "keep/ade-restricted" ||
		conflict.StatusURL != "/v1/offboardings/"+serial || len(conflict.Conflicts) != 3 || conflict.Conflicts[0].Name != "enrollment" {
		t.Errorf("conflict %+v", conflict)
	}
	if runID, _ := latestRun(t, serial); runID != started.RunID {
		t.Errorf("the conflicting request started run %s", runID)
	}

	// Bad input answers 400 naming the field; nothing starts.
	other := uniqueSerial("IB")
	a = intakeCall(t, srv, http.MethodPost, "/v1/offboardings", intakeWipeToken,
		fmt.Sprintf(`{"serial": %q, "enrollment": "dep", "wipe": true}`, other))
	var bad intake.Problem
	a.decode(t, &bad)
	if a.status != http.StatusBadRequest || bad.Type != intake.TypeInvalidRequest || len(bad.InvalidParams) != 1 || bad.InvalidParams[0].Name != "enrollment" {
		t.Errorf("bad input: %d %+v", a.status, bad)
	}
	assertNoWorkflow(t, other)

	// A wipe with a token that may not wipe answers 403; nothing starts.
	wipe := uniqueSerial("IW")
	if err := world.Sim.AddDevices(quick(simulator.DeviceSpecFor(wipe, "ade"))); err != nil {
		t.Fatal(err)
	}
	a = intakeCall(t, srv, http.MethodPost, "/v1/offboardings", intakeStartToken, fmt.Sprintf(`{"serial": %q, "enrollment": "ade", "wipe": true}`, wipe))
	var forbidden intake.Problem
	a.decode(t, &forbidden)
	if a.status != http.StatusForbidden || forbidden.Type != intake.TypeForbidden {
		t.Errorf("wipe with scope start: %d %+v", a.status, forbidden)
	}
	assertNoWorkflow(t, wipe)

	// GET of a device never started is 404.
	if a = intakeCall(t, srv, http.MethodGet, "/v1/offboardings/"+other, intakeReadToken, ""); a.status != http.StatusNotFound {
		t.Errorf("GET of a device with no workflow: %d %s", a.status, a.body)
	}
}

// A signed body starts a device as a token does, and the device runs to its end; the same
// request afterwards answers the completed workflow, a different one is refused (a removed
// device is not offboarded again).
func TestIntakeSignedStartRunsToCompletion(t *testing.T) {
	srv := intakeServer(t)
	serial := uniqueSerial("IS")
	if err := world.Sim.AddDevices(quick(simulator.DeviceSpecFor(serial, "ade-restricted"))); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"serial": %q, "enrollment": "ade-restricted", "wipe": false}`, serial)
	post := func() intakeAnswer {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		return intakeCall(t, srv, http.MethodPost, "/v1/offboardings", "", body,
			intake.HeaderTimestamp, ts, intake.HeaderSignature, intake.SignatureHeader([]byte(intakeHMACSecret), ts, []byte(body)))
	}
	a := post()
	if a.status != http.StatusCreated {
		t.Fatalf("signed start: %d %s", a.status, a.body)
	}
	var started intake.Answer
	a.decode(t, &started)
	if started.RequestedBy != "hr-signed" {
		t.Errorf("requestedBy %q", started.RequestedBy)
	}
	res := result(t, tc.GetWorkflow(context.Background(), started.WorkflowID, started.RunID))
	if res.Outcome != workflows.OutcomeRemoved {
		t.Fatalf("outcome %s: %s", res.Outcome, res.Error)
	}
	assertLedger(t, serial)

	a = post()
	var done intake.Answer
	a.decode(t, &done)
	if a.status != http.StatusOK || done.State != intake.StateCompleted || done.RunID != started.RunID {
		t.Errorf("same request after completion: %d %s", a.status, a.body)
	}
	a = intakeCall(t, srv, http.MethodPost, "/v1/offboardings", intakeWipeToken,
		fmt.Sprintf(`{"serial": %q, "enrollment": "ade-restricted", "wipe": true}`, serial))
	var refused intake.Problem
	a.decode(t, &refused)
	if a.status != http.StatusConflict || refused.State != intake.StateCompleted {
		t.Errorf("different request after completion: %d %s", a.status, a.body)
	}
	if runID, _ := latestRun(t, serial); runID != started.RunID {
		t.Errorf("a removed device was started again: run %s", runID)
	}
}

func assertNoWorkflow(t *testing.T, serial string) {
	t.Helper()
	_, err := tc.DescribeWorkflowExecution(context.Background(), contract.DeviceWorkflowID(serial), "")
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("%s: a refused request left a workflow (describe: %v)", serial, err)
	}
}

func toLower(s string) string { return string(bytes.ToLower([]byte(s))) }
