package simulator

import (
	"net/http"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/console"
)

func TestQueuedCommandWaitsForTheCheckIn(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	status, cmd, _ := h.send("SER1", "rm-1", console.CommandRequest{Type: console.CmdRemoveProfile, ProfileIDs: []string{"restrictions"}})
	if status != http.StatusAccepted || cmd.Status != console.CommandQueued {
		t.Fatalf("send: %d %+v", status, cmd)
	}
	h.clock.Advance(DefaultCheckInEvery - time.Minute)
	if d := h.device("SER1"); len(d.Profiles) != 2 || d.Commands[0].Status != console.CommandQueued {
		t.Fatalf("before the check-in: %d profiles, command %s", len(d.Profiles), d.Commands[0].Status)
	}
	h.clock.Advance(time.Minute)
	rec := h.do(http.MethodGet, "/api/v1/devices/SER1/commands/"+cmd.ID, nil, auth(testToken))
	var got console.Command
	decode(t, rec, &got)
	if got.Status != console.CommandCompleted || got.CompletedAt == nil || !got.CompletedAt.Equal(t0.Add(DefaultCheckInEvery)) {
		t.Errorf("after the check-in: %+v", got)
	}
	_, d := h.record("SER1")
	if len(d.Profiles) != 1 || d.Profiles[0].ID != "wifi-corp" || !d.LastCheckIn.Equal(t0.Add(DefaultCheckInEvery)) {
		t.Errorf("record after the check-in: %+v", d)
	}
	if n := h.ledgerCount("SER1", console.CmdRemoveProfile, OutcomeApplied); n != 1 {
		t.Errorf("applied entries: %d, want 1", n)
	}
}

func TestEraseDeviceGreysOutTheRecordAtCheckIn(t *testing.T) {
	h := newHarness(t)
	spec := DeviceSpecFor("SER1", EnrollmentADE)
	spec.LostMode = true
	h.add(spec)
	h.send("SER1", "erase", console.CommandRequest{Type: console.CmdEraseDevice, RemoveESIM: true, Confirmation: "YES"})
	_, later, _ := h.send("SER1", "lost", console.CommandRequest{Type: console.CmdDisableLostMode})
	if err := h.sim.CheckIn("SER1"); err != nil { // forced, as POST /sim/devices/{serial}/check-in does
		t.Fatal(err)
	}
	_, d := h.record("SER1")
	if d.Status != console.StatusGreyedOut || d.LostMode || len(d.Profiles) != 0 {
		t.Errorf("after the erase: %+v", d)
	}
	st := h.device("SER1")
	if !st.Wiped || st.MDMProfileInstalled || st.NextCheckIn != nil {
		t.Errorf("device: wiped %v, mdm %v, next check-in %v", st.Wiped, st.MDMProfileInstalled, st.NextCheckIn)
	}
	for _, c := range st.Commands {
		if c.ID == later.ID && (c.Status != console.CommandFailed || c.Error == nil || c.Error.Code != console.CodeNotManaged) {
			t.Errorf("command queued behind the erase: %+v, want failed not-managed", c)
		}
	}
}

func TestReturnToServiceReEnrolls(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	h.send("SER1", "rts", console.CommandRequest{Type: console.CmdEraseDevice, ReturnToService: true, Confirmation: "YES"})
	h.clock.Advance(DefaultCheckInEvery)
	st := h.device("SER1")
	if st.Status != StatusManaged || !st.Wiped || !st.MDMProfileInstalled || st.NextCheckIn == nil {
		t.Errorf("after Return to Service: status %s wiped %v mdm %v next %v", st.Status, st.Wiped, st.MDMProfileInstalled, st.NextCheckIn)
	}
}

func TestUserRefusesWipeWhileRestrictedThenWipes(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	notify := func() UserNotice {
		rec := h.do(http.MethodPost, "/sim/user-inbox", map[string]any{"serial": "SER1", "step": StepUserWipe, "subject": "please wipe"}, nil)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("user-inbox: %d %s", rec.Code, rec.Body.String())
		}
		var n UserNotice
		decode(t, rec, &n)
		return n
	}
	if n := notify(); n.Result != "scheduled" || n.ActAt == nil || !n.ActAt.Equal(t0.Add(DefaultUserActsAfter)) {
		t.Fatalf("notice: %+v", n)
	}
	if n := notify(); n.Result != "already-told" {
		t.Errorf("reminder: %+v, want already-told", n)
	}
	h.clock.Advance(DefaultUserActsAfter)
	if n := h.ledgerCount("SER1", StepUserWipe, OutcomeRefused); n != 1 {
		t.Fatalf("refused wipes: %d, want 1 (the restrictions profile blocks it)", n)
	}
	if d := h.device("SER1"); d.Wiped || len(d.User.Tasks) != 0 {
		t.Fatalf("after the refusal: wiped %v, tasks %v", d.Wiped, d.User.Tasks)
	}

	// 2-1: remove the restrictions profile; it goes at the check-in (t0+4h).
	h.send("SER1", "rm", console.CommandRequest{Type: console.CmdRemoveProfile, ProfileIDs: []string{"restrictions"}})
	h.clock.Advance(DefaultCheckInEvery - DefaultUserActsAfter)
	notify()
	h.clock.Advance(DefaultUserActsAfter) // t0+6h: the user wipes
	st := h.device("SER1")
	if !st.Wiped || st.MDMProfileInstalled || st.Status != StatusManaged {
		t.Fatalf("after the wipe: wiped %v, mdm %v, status %s (the console learns at the next check-in)", st.Wiped, st.MDMProfileInstalled, st.Status)
	}
	h.clock.Advance(2 * time.Hour) // t0+8h: the next check-in
	if _, d := h.record("SER1"); d.Status != console.StatusGreyedOut {
		t.Errorf("after the check-in: %s, want greyed-out", d.Status)
	}
	if n := h.ledgerCount("SER1", KindCheckIn, OutcomeApplied); n != 1 {
		t.Errorf("greyed-out entries: %d, want 1", n)
	}
}

func TestUserRemovesTheMDMProfileOnlyWhenRemovable(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("RESTRICTED", EnrollmentADERestricted), DeviceSpecFor("FREE", EnrollmentADE))
	rec := h.do(http.MethodPost, "/sim/devices/RESTRICTED/user-action", map[string]string{"action": "remove-mdm-profile"}, nil)
	var res UserActionResult
	decode(t, rec, &res)
	if rec.Code != http.StatusConflict || res.Outcome != OutcomeRefused || res.Code != CodeNotRemovable {
		t.Errorf("ade-restricted: %d %+v, want 409 refused not-removable", rec.Code, res)
	}
	if !h.device("RESTRICTED").MDMProfileInstalled {
		t.Error("the MDM profile of an ade-restricted device was removed")
	}

	rec = h.do(http.MethodPost, "/sim/devices/FREE/user-action", map[string]string{"action": "remove-mdm-profile"}, nil)
	decode(t, rec, &res)
	if rec.Code != http.StatusOK || res.Outcome != OutcomeApplied {
		t.Fatalf("ade: %d %+v", rec.Code, res)
	}
	rec = h.do(http.MethodPost, "/sim/devices/FREE/check-in", nil, nil)
	var st DeviceState
	decode(t, rec, &st)
	if rec.Code != http.StatusOK || st.Status != StatusGreyedOut {
		t.Errorf("after the forced check-in: %d %s, want greyed-out", rec.Code, st.Status)
	}
}

func TestUserCannotActInLostMode(t *testing.T) {
	h := newHarness(t)
	spec := DeviceSpecFor("SER1", EnrollmentManual)
	spec.LostMode = true
	h.add(spec)
	res, err := h.sim.UserAction("SER1", "remove-mdm-profile")
	if err != nil || res.Outcome != OutcomeRefused || res.Code != CodeLostMode {
		t.Errorf("in lost mode: %+v %v, want refused lost-mode", res, err)
	}
}

func TestADeviceThatNeverChecksInNeverShowsGreyedOut(t *testing.T) {
	h := newHarness(t)
	spec := DeviceSpecFor("SILENT", EnrollmentManual)
	spec.CheckInEvery = Never
	spec.Profiles = nil
	h.add(spec)
	if res, _ := h.sim.UserAction("SILENT", "wipe"); res.Outcome != OutcomeApplied {
		t.Fatalf("wipe: %+v", res)
	}
	h.clock.Advance(30 * 24 * time.Hour)
	if _, d := h.record("SILENT"); d.Status != console.StatusManaged || !d.LastCheckIn.Equal(t0) {
		t.Errorf("a month later: %s, last check-in %s; want managed since enrollment", d.Status, d.LastCheckIn)
	}
}

func TestAUserWhoNeverActs(t *testing.T) {
	h := newHarness(t)
	spec := DeviceSpecFor("SER1", EnrollmentADE)
	spec.UserActsAfter = Never
	h.add(spec)
	if n := h.sim.Notify("SER1", StepUserRemoveMDMProfile); n.Result != "ignored" {
		t.Errorf("notice: %+v, want ignored", n)
	}
	h.clock.Advance(7 * 24 * time.Hour)
	if !h.device("SER1").MDMProfileInstalled {
		t.Error("a user who never acts removed the MDM profile")
	}
	if n := h.sim.Notify("SER1", "console-wipe"); n.Result != "ignored" {
		t.Errorf("a step that is not the user's: %+v", n)
	}
}

func TestDeletedADEDeviceStillAssignedReappears(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("KEPT", EnrollmentADE), DeviceSpecFor("FREED", EnrollmentADE))
	token := h.appleToken()
	for _, serial := range []string{"KEPT", "FREED"} {
		if status, _, code := h.send(serial, "del-"+serial, console.CommandRequest{Type: console.CmdDeleteDevice, Confirmation: "YES"}); status != http.StatusAccepted {
			t.Fatalf("delete %s: %d %s", serial, status, code)
		}
	}
	if rec := h.unassign(token, "FREED"); rec.Code != http.StatusCreated {
		t.Fatalf("unassign: %d %s", rec.Code, rec.Body.String())
	}
	h.clock.Advance(DefaultDeleteDelay + DefaultReappearAfter)
	if !hasHazard(h.sim.Ledger("KEPT"), HazardReappears) || !h.device("KEPT").PreRegistered {
		t.Errorf("KEPT: no %s in %+v", HazardReappears, h.sim.Ledger("KEPT"))
	}
	if hasHazard(h.sim.Ledger("FREED"), HazardReappears) || h.device("FREED").PreRegistered {
		t.Error("FREED was unassigned in time but reappeared")
	}
}

func TestCheckInsFireInTimeOrderWhenTheModelCatchesUp(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	h.send("SER1", "lost", console.CommandRequest{Type: console.CmdDisableLostMode})
	h.sim.Notify("SER1", StepUserRemoveMDMProfile) // acts at t0+2h, before the check-in at t0+4h
	h.clock.Advance(48 * time.Hour)                // one jump: every event still fires at its own time
	var times []time.Time
	for _, e := range h.sim.Ledger("SER1") {
		times = append(times, e.Time)
	}
	for i := 1; i < len(times); i++ {
		if times[i].Before(times[i-1]) {
			t.Fatalf("ledger out of time order: %v", times)
		}
	}
	st := h.device("SER1")
	if st.Status != StatusGreyedOut || st.Commands[0].Status != console.CommandFailed || !st.LastCheckIn.Equal(t0.Add(DefaultCheckInEvery)) {
		t.Errorf("status %s, command %s, last check-in %s", st.Status, st.Commands[0].Status, st.LastCheckIn)
	}
}
