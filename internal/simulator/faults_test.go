package simulator

import (
	"net/http"
	"testing"

	"github.com/offboard/offboard/internal/console"
)

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	token := h.appleToken()
	rec := h.do(http.MethodPut, "/sim/faults", map[string]any{"rate429": 1, "retryAfterSeconds": 7}, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT /sim/faults: %d %s", rec.Code, rec.Body.String())
	}

	status, _, code := h.send("SER1", "k", console.CommandRequest{Type: console.CmdRemoveProfile})
	if status != http.StatusTooManyRequests || code != console.CodeRateLimited {
		t.Errorf("console: %d %q, want 429 rate-limited", status, code)
	}
	rec = h.do(http.MethodGet, "/api/v1/devices/SER1", nil, auth(testToken))
	if rec.Header().Get("Retry-After") != "7" {
		t.Errorf("console Retry-After = %q, want 7", rec.Header().Get("Retry-After"))
	}
	rec = h.do(http.MethodGet, "/v1/orgDevices/SER1/relationships/assignedServer", nil, auth(token))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "7" || appleCode(t, rec) != "RATE_LIMIT_EXCEEDED" {
		t.Errorf("apple: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	rec = h.do(http.MethodPost, "/auth/oauth2/token", tokenForm("x.y.z"), nil)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "7" {
		t.Errorf("token endpoint: %d", rec.Code)
	}
	// /sim is never faulted.
	if rec := h.do(http.MethodGet, "/sim/devices/SER1", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("/sim under faults: %d", rec.Code)
	}
	if n := len(h.sim.Ledger("SER1")); n != 0 {
		t.Errorf("a rate-limited command reached the ledger: %+v", h.sim.Ledger("SER1"))
	}
	if st := h.sim.Stats(); st.Faults[FaultRateLimited] != 4 {
		t.Errorf("429s counted: %v, want 4", st.Faults)
	}
}

func TestErrorsBeforeCommitChangeNothing(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	token := h.appleToken()
	h.sim.SetFaults(Faults{ErrorRate: 1})
	status, _, code := h.send("SER1", "k", console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"})
	if status < 500 || (code != console.CodeInternal && code != console.CodeUnavailable) {
		t.Errorf("console: %d %q, want 5xx internal/unavailable", status, code)
	}
	if rec := h.unassign(token, "SER1"); rec.Code < 500 {
		t.Errorf("apple: %d, want 5xx", rec.Code)
	}
	if d := h.device("SER1"); len(d.CommandIDs) != 0 || len(h.sim.Ledger("")) != 0 || h.sim.Stats().Activities != 0 {
		t.Errorf("state changed by a request that failed before commit: %d commands, %d ledger entries", len(d.CommandIDs), len(h.sim.Ledger("")))
	}
}

func TestAfterCommitFaultLeavesTheCommandRecorded(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	token := h.appleToken()
	h.sim.SetFaults(Faults{ErrorAfterCommitRate: 1})
	erase := console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"}

	status, _, code := h.send("SER1", "offboard-SER1/console-wipe", erase)
	if status != http.StatusInternalServerError || code != console.CodeInternal {
		t.Fatalf("first send: %d %q, want 500 internal", status, code)
	}
	if d := h.device("SER1"); len(d.CommandIDs) != 1 {
		t.Fatalf("commands after the lost answer: %d, want 1", len(d.CommandIDs))
	}
	// GETs are never lost, only answers of successful POSTs.
	if status, _ := h.record("SER1"); status != http.StatusOK {
		t.Errorf("GET under after-commit faults: %d", status)
	}
	// Apple's POST has no key: the activity exists although the caller saw a 500.
	if rec := h.unassign(token, "SER1"); rec.Code != http.StatusInternalServerError || h.sim.Stats().Activities != 1 {
		t.Errorf("apple: %d with %d activities, want 500 and 1", rec.Code, h.sim.Stats().Activities)
	}

	h.sim.SetFaults(Faults{})
	status, cmd, _ := h.send("SER1", "offboard-SER1/console-wipe", erase)
	if status != http.StatusOK || !cmd.Replayed || cmd.ID != h.device("SER1").CommandIDs[0] {
		t.Errorf("retry: %d %+v, want 200 replayed of the recorded command", status, cmd)
	}
	if n := h.ledgerCount("SER1", console.CmdEraseDevice, OutcomeAccepted); n != 1 {
		t.Errorf("erase accepted %d times, want 1", n)
	}
	if n := h.ledgerCount("SER1", KindFaultAfterCommit, OutcomeNoted); n != 1 {
		t.Errorf("lost answers noted: %d, want 1", n)
	}
}

func TestFaultsAreValidated(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{`{"errorRate":1.5}`, `{"rate429":-0.1}`, `{"latencyMs":-1}`, `{"errorrate":0.1,"typo":1}`} {
		if rec := h.do(http.MethodPut, "/sim/faults", body, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", body, rec.Code)
		}
	}
	if f := h.sim.Faults(); f != (Faults{}) {
		t.Errorf("faults after invalid PUTs: %+v", f)
	}
}
