package simulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/console"
)

func TestConsoleRequiresTheToken(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	for name, hdr := range map[string]map[string]string{
		"missing": nil,
		"wrong":   auth("not-the-token"),
		"scheme":  {"Authorization": "Basic " + testToken},
	} {
		rec := h.do(http.MethodGet, "/api/v1/devices/SER1", nil, hdr)
		if rec.Code != http.StatusUnauthorized || consoleCode(t, rec) != console.CodeUnauthorized {
			t.Errorf("%s token: got %d %s, want 401 unauthorized", name, rec.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), testToken) {
			t.Errorf("%s token: the answer shows the token", name)
		}
	}
}

func TestDeviceRecordAsTheConsoleShowsIt(t *testing.T) {
	h := newHarness(t)
	spec := DeviceSpecFor("f2lxk0a1hg7j", EnrollmentADERestricted)
	spec.Certificates = 1
	h.add(spec)

	status, d := h.record("F2LXK0A1HG7J")
	if status != http.StatusOK {
		t.Fatalf("GET: %d", status)
	}
	if d.Serial != "F2LXK0A1HG7J" || d.Status != console.StatusManaged || !d.ADE || d.MDMProfileRemovable ||
		!d.Supervised || d.VPPLicenses != DefaultVPPLicenses || d.Certificates != 1 || len(d.Profiles) != 2 || !d.LastCheckIn.Equal(t0) {
		t.Errorf("record = %+v", d)
	}
	if status, _ := h.record("NOSUCH"); status != http.StatusNotFound {
		t.Errorf("unknown serial: %d, want 404", status)
	}
	rec := h.do(http.MethodGet, "/api/v1/devices/NOSUCH", nil, auth(testToken))
	if code := consoleCode(t, rec); code != console.CodeDeviceNotFound {
		t.Errorf("unknown serial: code %q, want device-not-found", code)
	}
}

func TestMalformedCommandsAreBadRequests(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	cases := map[string]struct {
		key string
		req console.CommandRequest
	}{
		"no key":          {"", console.CommandRequest{Type: console.CmdRemoveProfile}},
		"key too long":    {strings.Repeat("k", 201), console.CommandRequest{Type: console.CmdRemoveProfile}},
		"unknown type":    {"k1", console.CommandRequest{Type: "reboot"}},
		"erase, no YES":   {"k2", console.CommandRequest{Type: console.CmdEraseDevice}},
		"delete, yes":     {"k3", console.CommandRequest{Type: console.CmdDeleteDevice, Confirmation: "yes"}},
		"purge, no YES":   {"k4", console.CommandRequest{Type: console.CmdPurgeDevice}},
		"no type at all":  {"k5", console.CommandRequest{}},
		"profiles, empty": {"k6", console.CommandRequest{Type: "remove-profiles"}},
	}
	for name, c := range cases {
		status, _, code := h.send("SER1", c.key, c.req)
		if status != http.StatusBadRequest || code != console.CodeBadRequest {
			t.Errorf("%s: got %d %q, want 400 bad-request", name, status, code)
		}
	}
	rec := h.do(http.MethodPost, "/api/v1/devices/SER1/commands", "{not json", map[string]string{
		"Authorization": "Bearer " + testToken, "Idempotency-Key": "k7"})
	if rec.Code != http.StatusBadRequest || consoleCode(t, rec) != console.CodeBadRequest {
		t.Errorf("malformed JSON: %d %s", rec.Code, rec.Body.String())
	}
	if status, _, code := h.send("NOSUCH", "k8", console.CommandRequest{Type: console.CmdRemoveProfile}); status != http.StatusNotFound || code != console.CodeDeviceNotFound {
		t.Errorf("unknown device: %d %q, want 404 device-not-found", status, code)
	}
	if n := len(h.device("SER1").CommandIDs); n != 0 {
		t.Errorf("%d commands stored after bad requests, want 0", n)
	}
}

func TestIdempotencyKeyReplaysAndConflicts(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual), DeviceSpecFor("SER2", EnrollmentManual))
	erase := console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"}

	status, first, _ := h.send("SER1", "offboard-SER1/console-wipe", erase)
	if status != http.StatusAccepted || first.Status != console.CommandQueued || first.Replayed || !strings.HasPrefix(first.ID, "c-") {
		t.Fatalf("first: %d %+v", status, first)
	}
	status, again, _ := h.send("SER1", "offboard-SER1/console-wipe", erase)
	if status != http.StatusOK || !again.Replayed || again.ID != first.ID || again.IdempotencyKey != first.IdempotencyKey {
		t.Errorf("replay: %d %+v, want 200 with the original command replayed", status, again)
	}
	if status, _, code := h.send("SER1", "offboard-SER1/console-wipe", console.CommandRequest{Type: console.CmdDisableLostMode}); status != http.StatusConflict || code != console.CodeIdempotencyConflict {
		t.Errorf("other type: %d %q, want 409 idempotency-conflict", status, code)
	}
	if status, _, code := h.send("SER2", "offboard-SER1/console-wipe", erase); status != http.StatusConflict || code != console.CodeIdempotencyConflict {
		t.Errorf("other serial: %d %q, want 409 idempotency-conflict", status, code)
	}
	if got := h.ledgerCount("SER1", console.CmdEraseDevice, OutcomeAccepted); got != 1 {
		t.Errorf("erase accepted %d times, want 1", got)
	}
	if got := h.ledgerCount("SER1", console.CmdEraseDevice, OutcomeReplayed); got != 1 {
		t.Errorf("erase replayed %d times, want 1", got)
	}
	if got := len(h.device("SER2").CommandIDs); got != 0 {
		t.Errorf("SER2 has %d commands, want 0", got)
	}

	// The command can be read back, and only under its own device.
	rec := h.do(http.MethodGet, "/api/v1/devices/SER1/commands/"+first.ID, nil, auth(testToken))
	if rec.Code != http.StatusOK {
		t.Errorf("GET command: %d", rec.Code)
	}
	rec = h.do(http.MethodGet, "/api/v1/devices/SER2/commands/"+first.ID, nil, auth(testToken))
	if rec.Code != http.StatusNotFound || consoleCode(t, rec) != console.CodeCommandNotFound {
		t.Errorf("GET command of another device: %d %s, want 404 command-not-found", rec.Code, rec.Body.String())
	}
}

func TestARefusedCommandIsNotStoredNorItsKeyKept(t *testing.T) {
	h := newHarness(t)
	spec := DeviceSpecFor("SER1", EnrollmentManual)
	spec.VPPLicenses = 0
	h.add(spec)
	purge := console.CommandRequest{Type: console.CmdPurgeDevice, Confirmation: "YES"}
	if status, _, code := h.send("SER1", "purge-1", purge); status != http.StatusConflict || code != console.CodeNotGreyedOut {
		t.Fatalf("purge of a managed record: %d %q, want 409 not-greyed-out", status, code)
	}
	if _, err := h.sim.UserAction("SER1", "remove-mdm-profile"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(DefaultCheckInEvery)
	// Same key once more: nothing was remembered under it, so this is a fresh command.
	if status, cmd, code := h.send("SER1", "purge-1", purge); status != http.StatusAccepted || cmd.Replayed {
		t.Errorf("purge after greying out: %d %q %+v, want 202", status, code, cmd)
	}
}

func TestPurgeErrorBranchesInOrder(t *testing.T) {
	h := newHarness(t)
	grey := func(serial string) DeviceSpec {
		s := DeviceSpecFor(serial, EnrollmentManual)
		s.Status = StatusGreyedOut
		return s
	}
	blocked := grey("BLOCKED")
	blocked.Certificates, blocked.VPPLicenses = 1, 2
	workSmart := grey("WORKSMART")
	workSmart.WorkSmart, workSmart.Certificates = true, 1
	stuck := grey("STUCK")
	stuck.VPPStuck = true
	h.add(DeviceSpecFor("MANAGED", EnrollmentManual), blocked, workSmart, stuck)

	purge := console.CommandRequest{Type: console.CmdPurgeDevice, Confirmation: "YES"}
	step := func(serial, key string, req console.CommandRequest, wantStatus int, wantCode string) {
		t.Helper()
		if status, _, code := h.send(serial, key, req); status != wantStatus || code != wantCode {
			t.Fatalf("%s %s: got %d %q, want %d %q", serial, req.Type, status, code, wantStatus, wantCode)
		}
	}
	step("MANAGED", "m1", purge, http.StatusConflict, console.CodeNotGreyedOut)
	step("WORKSMART", "w1", purge, http.StatusConflict, console.CodeWorkSmart) // before its certificates

	step("BLOCKED", "b1", purge, http.StatusConflict, console.CodeCertificatesRemain)
	step("BLOCKED", "b2", console.CommandRequest{Type: console.CmdRemoveCertificates}, http.StatusAccepted, "")
	step("BLOCKED", "b3", purge, http.StatusConflict, console.CodeVPPLicenseRemains)
	step("BLOCKED", "b4", console.CommandRequest{Type: console.CmdRevokeVPPLicenses}, http.StatusAccepted, "")
	step("BLOCKED", "b5", purge, http.StatusConflict, console.CodeVPPLicenseRemains) // counts were stale
	step("BLOCKED", "b6", console.CommandRequest{Type: console.CmdRefreshLicenseCounts}, http.StatusAccepted, "")
	step("BLOCKED", "b7", console.CommandRequest{Type: console.CmdRevokeVPPLicenses}, http.StatusAccepted, "")
	step("BLOCKED", "b8", purge, http.StatusAccepted, "")

	step("STUCK", "s1", console.CommandRequest{Type: console.CmdRefreshLicenseCounts}, http.StatusAccepted, "")
	step("STUCK", "s2", console.CommandRequest{Type: console.CmdRevokeVPPLicenses}, http.StatusAccepted, "")
	step("STUCK", "s3", purge, http.StatusConflict, console.CodeVPPLicenseRemains) // vendor support

	// The purged record answers until the deletion finishes, then 404.
	if status, _ := h.record("BLOCKED"); status != http.StatusOK {
		t.Errorf("right after the purge: %d, want 200", status)
	}
	h.clock.Advance(DefaultDeleteDelay)
	if status, _ := h.record("BLOCKED"); status != http.StatusNotFound {
		t.Errorf("after the delete delay: %d, want 404", status)
	}
	if d := h.device("BLOCKED"); d.Status != StatusDeleted || d.DeletedAt == nil {
		t.Errorf("state after the purge: %s", d.Status)
	}
	if got := h.ledgerCount("BLOCKED", console.CmdPurgeDevice, OutcomeRefused); got != 3 {
		t.Errorf("refused purges in the ledger: %d, want 3", got)
	}
}

func TestDeleteManagedRecord(t *testing.T) {
	h := newHarness(t)
	lost := DeviceSpecFor("LOST", EnrollmentADERestricted)
	lost.LostMode = true
	ws := DeviceSpecFor("WS", EnrollmentManual)
	ws.WorkSmart = true
	grey := DeviceSpecFor("GREY", EnrollmentManual)
	grey.Status = StatusGreyedOut
	h.add(lost, ws, grey)
	del := console.CommandRequest{Type: console.CmdDeleteDevice, Confirmation: "YES"}

	if status, _, code := h.send("WS", "w", del); status != http.StatusConflict || code != console.CodeWorkSmart {
		t.Errorf("Work Smart: %d %q, want 409 work-smart", status, code)
	}
	if status, _, code := h.send("GREY", "g", del); status != http.StatusConflict || code != console.CodeNotManaged {
		t.Errorf("greyed-out: %d %q, want 409 not-managed", status, code)
	}
	if status, _, code := h.send("GREY", "g2", console.CommandRequest{Type: console.CmdRemoveProfile}); status != http.StatusConflict || code != console.CodeNotManaged {
		t.Errorf("queued command to a greyed-out record: %d %q, want 409 not-managed", status, code)
	}

	status, cmd, _ := h.send("LOST", "l", del)
	if status != http.StatusAccepted || cmd.Status != console.CommandCompleted {
		t.Fatalf("delete in lost mode: %d %+v, want 202 completed (the console allows it)", status, cmd)
	}
	if !hasHazard(h.sim.Ledger("LOST"), HazardDeletedInLostMode) {
		t.Errorf("ledger has no %s hazard: %+v", HazardDeletedInLostMode, h.sim.Ledger("LOST"))
	}
	if d := h.device("LOST"); d.Status != StatusDeleting || !d.LostModeStuck {
		t.Errorf("after the delete: status %s, lostModeStuck %v", d.Status, d.LostModeStuck)
	}
	h.clock.Advance(DefaultDeleteDelay - time.Second)
	if status, d := h.record("LOST"); status != http.StatusOK || d.Status != console.StatusManaged {
		t.Errorf("while deleting: %d %s, want the managed record", status, d.Status)
	}
	h.clock.Advance(time.Second)
	if status, _ := h.record("LOST"); status != http.StatusNotFound {
		t.Errorf("after the delete delay: %d, want 404", status)
	}
	if d := h.device("LOST"); d.VPPLicenses != 0 || d.AssignedServer != testServer {
		t.Errorf("deleted: vpp %d (want 0, revoked by the delete), assigned %q (Apple keeps it)", d.VPPLicenses, d.AssignedServer)
	}
}

func TestUnknownConsoleEndpoint(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodDelete, "/api/v1/devices/SER1", nil, auth(testToken))
	if rec.Code != http.StatusNotFound || consoleCode(t, rec) != console.CodeBadRequest {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body.String())
	}
}

func TestConcurrentRetriesRunTheCommandOnce(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	h.sim.SetFaults(Faults{LatencyMs: 1, ErrorAfterCommitRate: 0.3})
	srv := httptest.NewServer(h.sim.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/devices/SER1/commands",
				strings.NewReader(`{"type":"delete-device","confirmation":"YES"}`))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Idempotency-Key", "offboard-SER1/delete")
			if resp, err := srv.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n := h.ledgerCount("SER1", console.CmdDeleteDevice, OutcomeAccepted); n != 1 {
		t.Errorf("delete accepted %d times, want 1", n)
	}
	if n := h.ledgerCount("SER1", console.CmdDeleteDevice, OutcomeReplayed); n != 19 {
		t.Errorf("delete replayed %d times, want 19", n)
	}
}
