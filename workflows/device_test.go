package workflows

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/stretchr/testify/mock"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
)

type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	world *fakeWorld
	ts    testsuite.WorkflowTestSuite
}

func newHarness(t *testing.T, mode string) *harness {
	h := &harness{t: t, world: newFakeWorld()}
	h.ts.SetLogger(newQuietLogger(t))
	h.env = h.ts.NewTestWorkflowEnvironment()
	h.env.RegisterWorkflow(DeviceOffboarding)
	withCoordinator(h.env)
	h.env.RegisterActivity(&activities.Console{API: h.world})
	h.env.RegisterActivity(&activities.Apple{API: h.world, ServerID: fakeServer})
	h.env.RegisterActivity(&activities.Notify{Notifier: h.world})
	h.env.RegisterActivity(testEvidence(t))
	h.env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{ConsoleMode: mode, AppleConfigured: true, AppleServerID: fakeServer, ConsoleSafetyNetPoll: fakeSafetyNet}})
	return h
}

// testEvidence is an evidence archive of the test's own (unsigned): every device writes its
// retirement record when it ends, as on a worker.
func testEvidence(t *testing.T) *activities.Evidence {
	archive, err := evidence.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &activities.Evidence{Archive: archive}
}

// withCoordinator lets a device's test environment run the Apple coordinator beside it, as a
// server does: it runs on after the device. No sender: the coordinator answers by signals of its
// own (the test environment cannot take signals from an activity's goroutine). A signal to a
// coordinator that does not run yet fails, as the server's would, and the device starts it.
func withCoordinator(env *testsuite.TestWorkflowEnvironment) {
	env.SetDetachedChildWait(false)
	env.RegisterWorkflow(AppleCoordinator)
	env.RegisterActivity(&activities.Signals{})
	env.OnSignalExternalWorkflow(mock.Anything, CoordinatorWorkflowID("", fakeServer), "", signalAppleRequest, mock.Anything).
		Return(errors.New("unknown external workflow execution"))
	// Maybe: a device that asks for its Activation Lock after its unassign request started the
	// coordinator never finds it not running.
	env.OnSignalExternalWorkflow(mock.Anything, CoordinatorWorkflowID("", fakeServer), "", signalAppleLockRequest, mock.Anything).
		Return(errors.New("unknown external workflow execution")).Maybe()
	withDestructionBudget(env)
}

func (h *harness) run(req procedure.Request, mutate ...func(*DeviceInput)) (DeviceResult, error) {
	in := DeviceInput{Request: req, Confirmed: true, Contact: "user@example.com"}
	for _, m := range mutate {
		m(&in)
	}
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: contract.DeviceWorkflowID(req.Serial)})
	h.env.ExecuteWorkflow(DeviceOffboarding, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var res DeviceResult
	err := h.env.GetWorkflowError()
	if err == nil {
		if gerr := h.env.GetWorkflowResult(&res); gerr != nil {
			h.t.Fatal(gerr)
		}
	}
	return res, err
}

func (h *harness) status() DeviceStatus {
	v, err := h.env.QueryWorkflow(contract.QueryStatus)
	if err != nil {
		h.t.Fatalf("status query: %v", err)
	}
	var st DeviceStatus
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func stepState(steps []StepStatus, id procedure.StepID) string {
	for _, s := range steps {
		if s.ID == id {
			return s.State
		}
	}
	return "absent"
}

// Every cell of the matrix and both wipe methods: the device ends removed, each destructive
// command ran exactly once, and only the commands of its path ran.
func TestEveryPathOfTheMatrix(t *testing.T) {
	cases := []struct {
		enrollment string
		wipe       bool
		method     procedure.WipeMethod
		once       []string // console commands accepted exactly once
		never      []string
	}{
		{"ade-restricted", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice}, []string{console.CmdDeleteDevice, console.CmdRemoveProfile}},
		{"ade", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice}, []string{console.CmdDeleteDevice}},
		{"manual", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice}, []string{console.CmdDeleteDevice}},
		{"ade-restricted", true, procedure.WipeDevice, []string{console.CmdRemoveProfile, console.CmdPurgeDevice}, []string{console.CmdEraseDevice, console.CmdDeleteDevice}},
		{"ade", true, procedure.WipeDevice, []string{console.CmdRemoveProfile, console.CmdPurgeDevice}, []string{console.CmdEraseDevice}},
		{"manual", true, procedure.WipeDevice, []string{console.CmdRemoveProfile, console.CmdPurgeDevice}, []string{console.CmdEraseDevice}},
		{"ade-restricted", false, "", []string{console.CmdRemoveProfile, console.CmdDeleteDevice}, []string{console.CmdEraseDevice, console.CmdPurgeDevice}},
		{"ade", false, "", []string{console.CmdRemoveProfile, console.CmdPurgeDevice}, []string{console.CmdEraseDevice, console.CmdDeleteDevice}},
		{"manual", false, "", []string{console.CmdRemoveProfile, console.CmdPurgeDevice}, []string{console.CmdEraseDevice, console.CmdDeleteDevice}},
	}
	for _, tc := range cases {
		path := procedure.PathName(tc.wipe, procedure.Enrollment(tc.enrollment))
		t.Run(path+"/"+string(tc.method), func(t *testing.T) {
			h := newHarness(t, contract.ModeAutomated)
			serial := "SER" + strings.ToUpper(strings.NewReplacer("/", "", "-", "").Replace(path)) + "1"
			serial = serial[:min(len(serial), 20)]
			h.world.add(serial, tc.enrollment)
			res, err := h.run(procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(tc.enrollment), Wipe: tc.wipe, WipeMethod: tc.method})
			if err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if res.Outcome != OutcomeRemoved || res.Path != path {
				t.Fatalf("outcome %s path %s, want removed %s", res.Outcome, res.Path, path)
			}
			if !h.world.gone(serial) {
				t.Error("the console still has the record")
			}
			for _, typ := range tc.once {
				if n := h.world.accepted(serial, typ); n != 1 {
					t.Errorf("%s accepted %d times, want once", typ, n)
				}
			}
			for _, typ := range tc.never {
				if n := h.world.accepted(serial, typ); n != 0 {
					t.Errorf("%s ran on path %s", typ, path)
				}
			}
			wantUnassign := 0
			if tc.enrollment != "manual" {
				wantUnassign = 1
			}
			if n := h.world.unassignCount(serial); n != wantUnassign {
				t.Errorf("Apple unassign ran %d times, want %d", n, wantUnassign)
			}
			for _, s := range res.Steps {
				if s.State != StateDone && s.State != StateSkipped {
					t.Errorf("step %s ended %s", s.ID, s.State)
				}
			}
			st := h.status()
			if st.WaitingOn != procedure.PartyNone || st.Current != "" {
				t.Errorf("a finished device still waits: %s on %s", st.Current, st.WaitingOn)
			}
		})
	}
}

// Lost mode on a path that deletes without wiping: turned off first, never deleted while on.
func TestLostModeIsTurnedOffBeforeTheDelete(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	d := h.world.add("LOST00001", "ade-restricted")
	d.LostMode = true
	res, err := h.run(procedure.Request{Serial: "LOST00001", Enrollment: procedure.ADERestricted})
	if err != nil {
		t.Fatal(err)
	}
	if stepState(res.Steps, procedure.DisableLostMode) != StateDone {
		t.Errorf("disable-lost-mode: %s", stepState(res.Steps, procedure.DisableLostMode))
	}
	if d.deletedInLost {
		t.Fatal("the record was deleted while lost mode was on")
	}
	if h.world.accepted("LOST00001", console.CmdDisableLostMode) != 1 || h.world.accepted("LOST00001", console.CmdDeleteDevice) != 1 {
		t.Error("expected one disable-lost-mode and one delete")
	}
}

// On keep/ade and keep/manual the user must reach Settings (3-2), which lost mode locks: lost mode
// is turned off, and acknowledged, before the user is told anything.
func TestLostModeIsTurnedOffBeforeTheUserIsTold(t *testing.T) {
	for _, enrollment := range []procedure.Enrollment{procedure.ADE, procedure.Manual} {
		t.Run(string(enrollment), func(t *testing.T) {
			h := newHarness(t, contract.ModeAutomated)
			serial := "LOSTU" + strings.ToUpper(strings.ReplaceAll(string(enrollment), "-", ""))
			d := h.world.add(serial, string(enrollment))
			d.LostMode = true
			res, err := h.run(procedure.Request{Serial: serial, Enrollment: enrollment})
			if err != nil {
				t.Fatal(err)
			}
			var lostOff, told *StepStatus
			for i, s := range res.Steps {
				switch s.ID {
				case procedure.DisableLostMode:
					lostOff = &res.Steps[i]
				case procedure.UserRemoveMDMProfile:
					told = &res.Steps[i]
				}
			}
			if lostOff == nil || lostOff.State != StateDone || told == nil || told.State != StateDone {
				t.Fatalf("disable-lost-mode and user-remove-mdm-profile must both be done: %+v", res.Steps)
			}
			if told.StartedAt.Before(*lostOff.EndedAt) {
				t.Errorf("the user was told at %v, before lost mode was off at %v", told.StartedAt, lostOff.EndedAt)
			}
			if res.Outcome != OutcomeRemoved || d.deletedInLost {
				t.Errorf("outcome %s, deleted in lost mode %t", res.Outcome, d.deletedInLost)
			}
		})
	}
}

// Lost mode switched on after pre-flight is caught by the re-check right before the delete.
func TestLostModeTurnedOnLaterIsCaughtAtTheDelete(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	d := h.world.add("LOST00002", "ade")
	h.env.RegisterDelayedCallback(func() {
		h.world.mu.Lock()
		d.LostMode = true
		h.world.mu.Unlock()
	}, time.Second)
	res, err := h.run(procedure.Request{Serial: "LOST00002", Enrollment: procedure.ADE})
	if err != nil {
		t.Fatal(err)
	}
	if d.deletedInLost || stepState(res.Steps, procedure.DisableLostMode) != StateDone {
		t.Fatalf("lost mode not handled: deletedInLost=%t steps=%v", d.deletedInLost, res.Steps)
	}
}

// 4-2 error branches: certificates, then a VPP license, each handled once, then the delete.
func TestGreyedOutDeleteErrorBranches(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	d := h.world.add("BRANCH001", "manual")
	d.purgeErrors = []string{console.CodeCertificatesRemain, console.CodeVPPLicenseRemains}
	res, err := h.run(procedure.Request{Serial: "BRANCH001", Enrollment: procedure.Manual, Wipe: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []procedure.StepID{procedure.RemoveCertificates, procedure.RefreshLicenseCounts, procedure.RevokeVPPLicenses} {
		if stepState(res.Steps, id) != StateDone {
			t.Errorf("%s: %s", id, stepState(res.Steps, id))
		}
	}
	order := []procedure.StepID{}
	for _, s := range res.Steps {
		order = append(order, s.ID)
	}
	if idx(order, procedure.RevokeVPPLicenses) > idx(order, procedure.DeleteGreyedOutRecord) {
		t.Errorf("branch steps must stand before the delete: %v", order)
	}
	if n := h.world.accepted("BRANCH001", console.CmdPurgeDevice); n != 1 || !h.world.gone("BRANCH001") {
		t.Errorf("purge accepted %d times; gone=%t", n, h.world.gone("BRANCH001"))
	}
}

func idx(ids []procedure.StepID, id procedure.StepID) int {
	for i, v := range ids {
		if v == id {
			return i
		}
	}
	return -1
}

// A VPP license that survives the revoke goes to vendor support, which a person closes.
func TestVPPStillFailingGoesToVendorSupport(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	d := h.world.add("VENDOR001", "manual")
	d.purgeErrors = []string{console.CodeVPPLicenseRemains, console.CodeVPPLicenseRemains, console.CodeVPPLicenseRemains}
	var waiting DeviceStatus
	h.env.RegisterDelayedCallback(func() {
		waiting = h.status()
		// A wrong step is refused with what the workflow waits on.
		h.env.UpdateWorkflow(contract.UpdateCompleteStep, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if !strings.Contains(err.Error(), "delete-greyed-out-record") {
					t.Errorf("rejection should name the awaited step: %v", err)
				}
			},
			OnAccept:   func() { t.Error("a report for the wrong step was accepted") },
			OnComplete: func(any, error) {},
		}, StepReport{Step: procedure.ABMUnassign, By: "alice", Outcome: "done"})
		h.world.mu.Lock()
		delete(h.world.devices, "VENDOR001") // CLOMO support deletes it by data maintenance
		h.world.mu.Unlock()
		h.env.UpdateWorkflow(contract.UpdateCompleteStep, "u2", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("vendor report refused: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, StepReport{Step: procedure.DeleteGreyedOutRecord, By: "alice", Outcome: "done", Note: "ticket 4711"})
	}, 3*24*time.Hour)
	res, err := h.run(procedure.Request{Serial: "VENDOR001", Enrollment: procedure.Manual, Wipe: true})
	if err != nil {
		t.Fatal(err)
	}
	if waiting.WaitingOn != procedure.PartyVendorSupport || waiting.Current != procedure.DeleteGreyedOutRecord {
		t.Errorf("while waiting: %s on %s, want delete-greyed-out-record on vendor-support", waiting.Current, waiting.WaitingOn)
	}
	if res.Outcome != OutcomeRemoved {
		t.Errorf("outcome %s", res.Outcome)
	}
	reminders := 0
	for _, m := range h.world.notes {
		if m.Audience == "operator" && strings.Contains(m.Subject, "Reminder") && m.Step == string(procedure.DeleteGreyedOutRecord) {
			reminders++
		}
	}
	if reminders < 2 {
		t.Errorf("vendor support waited 3 days with %d reminders, want daily reminders", reminders)
	}
	st := h.status()
	if len(st.Audit) != 1 || st.Audit[0].By != "alice" || st.Audit[0].Note != "ticket 4711" {
		t.Errorf("audit: %+v", st.Audit)
	}
}

// Work Smart cannot be deleted from the console: vendor support, not a retry loop.
func TestWorkSmartWaitsOnVendorSupport(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	d := h.world.add("WSMART001", "ade-restricted")
	d.WorkSmart = true
	var st DeviceStatus
	h.env.RegisterDelayedCallback(func() { st = h.status(); h.env.CancelWorkflow() }, 2*time.Hour)
	_, err := h.run(procedure.Request{Serial: "WSMART001", Enrollment: procedure.ADERestricted})
	if err == nil || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("want cancellation, got %v", err)
	}
	if st.WaitingOn != procedure.PartyVendorSupport {
		t.Errorf("waiting on %s, want vendor-support", st.WaitingOn)
	}
	if n := h.world.accepted("WSMART001", console.CmdDeleteDevice); n != 0 {
		t.Errorf("delete accepted %d times on a Work Smart device", n)
	}
	if final := h.status(); final.Outcome != OutcomeCancelled || final.WaitingOn != procedure.PartyNone {
		t.Errorf("after cancel: outcome %s waiting on %s", final.Outcome, final.WaitingOn)
	}
}

// A device that never checks in: the user is reminded on schedule, and at the deadline an
// operator is asked, never a silent failure.
func TestDeviceThatNeverChecksIn(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	d := h.world.add("NEVER0001", "ade")
	d.checkInEvery = 0
	var atDeadline DeviceStatus
	h.env.RegisterDelayedCallback(func() {
		atDeadline = h.status()
		h.env.UpdateWorkflow(contract.UpdateCompleteStep, "no-confirm", &testsuite.TestUpdateCallback{
			OnReject: func(error) {}, OnAccept: func() { t.Error("delete-anyway without YES accepted") }, OnComplete: func(any, error) {},
		}, StepReport{Step: procedure.AwaitGreyedOut, By: "bob", Outcome: procedure.ChoiceDeleteAnyway})
		h.env.UpdateWorkflow(contract.UpdateCompleteStep, "yes", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("refused: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, StepReport{Step: procedure.AwaitGreyedOut, By: "bob", Outcome: procedure.ChoiceDeleteAnyway, Confirm: "YES"})
	}, 15*24*time.Hour)
	res, err := h.run(procedure.Request{Serial: "NEVER0001", Enrollment: procedure.ADE})
	if err != nil {
		t.Fatal(err)
	}
	if atDeadline.WaitingOn != procedure.PartyOperator || atDeadline.Current != procedure.AwaitGreyedOut {
		t.Fatalf("at the deadline: %s on %s, want await-greyed-out on operator", atDeadline.Current, atDeadline.WaitingOn)
	}
	for _, c := range []string{procedure.ChoiceKeepWaiting, procedure.ChoiceConsoleWipe, procedure.ChoiceDeleteAnyway} {
		if !strings.Contains(strings.Join(atDeadline.Choices, ","), c) {
			t.Errorf("choice %s not offered: %v", c, atDeadline.Choices)
		}
	}
	userMessages := 0
	for _, m := range h.world.notes {
		if m.Audience == "user" && m.Step == string(procedure.UserRemoveMDMProfile) {
			userMessages++
		}
	}
	if want := 1 + len(DefaultTiming().UserReminders); userMessages != want {
		t.Errorf("user told %d times, want the first message and %d reminders", userMessages, want-1)
	}
	if stepState(res.Steps, procedure.DeleteManagedRecord) != StateDone || stepState(res.Steps, procedure.DeleteGreyedOutRecord) != StateSkipped {
		t.Errorf("delete-anyway should replace 4-2 by 4-1: %v", res.Steps)
	}
	if h.world.accepted("NEVER0001", console.CmdDeleteDevice) != 1 || h.world.accepted("NEVER0001", console.CmdPurgeDevice) != 0 {
		t.Error("want exactly one 4-1 delete and no purge")
	}
}

// Pre-flight finds the request does not fit the console: nothing destructive runs.
func TestPreflightMismatchChangesNothing(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	h.world.add("MISFIT001", "ade")
	_, err := h.run(procedure.Request{Serial: "MISFIT001", Enrollment: procedure.Manual, Wipe: true})
	if err == nil || !strings.Contains(err.Error(), "enrolled through ADE") || !strings.Contains(err.Error(), "MISFIT001") {
		t.Fatalf("want a mismatch naming the device, got %v", err)
	}
	if len(h.world.sent) != 0 {
		t.Errorf("commands ran after a failed pre-flight: %+v", h.world.sent)
	}
}

func TestUnknownSerialAndMissingConfirmation(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	_, err := h.run(procedure.Request{Serial: "NOSUCH001", Enrollment: procedure.Manual, Wipe: true})
	if err == nil || !strings.Contains(err.Error(), "no record with this serial") {
		t.Errorf("unknown serial: %v", err)
	}
	h = newHarness(t, contract.ModeAutomated)
	h.world.add("NOCONF001", "manual")
	_, err = h.run(procedure.Request{Serial: "NOCONF001", Enrollment: procedure.Manual, Wipe: true}, func(in *DeviceInput) { in.Confirmed = false })
	if err == nil || !strings.Contains(err.Error(), "confirm") || len(h.world.sent) != 0 {
		t.Errorf("unconfirmed wipe: %v, sent %v", err, h.world.sent)
	}
}

// Apple's POST failed ambiguously after creating the activity: the assignment is read again and
// no second unassign is sent.
func TestAmbiguousUnassignIsNotRepeated(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	h.world.add("APPLE0001", "ade")
	h.world.postFail = 1
	if _, err := h.run(procedure.Request{Serial: "APPLE0001", Enrollment: procedure.ADE, Wipe: true}); err != nil {
		t.Fatal(err)
	}
	if n := h.world.unassignCount("APPLE0001"); n != 1 {
		t.Errorf("unassign sent %d times, want 1", n)
	}
}

// An Apple activity that failed is followed by a new one after the assignment is read again.
func TestFailedAppleActivityIsRetried(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	h.world.add("APPLE0002", "ade-restricted")
	h.world.actFails = 1
	if _, err := h.run(procedure.Request{Serial: "APPLE0002", Enrollment: procedure.ADERestricted, Wipe: true}); err != nil {
		t.Fatal(err)
	}
	if n := h.world.unassignCount("APPLE0002"); n != 2 {
		t.Errorf("unassign sent %d times, want 2 (one failed activity, one success)", n)
	}
	h.world.mu.Lock()
	defer h.world.mu.Unlock()
	if _, still := h.world.assigned["APPLE0002"]; still {
		t.Error("still assigned")
	}
}

// Operator mode: every console step is a person's task, reported through complete-step; an
// outcome other than done leads into the procedure's branch. Apple stays automated.
func TestOperatorModeFollowsTheReportedOutcomes(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	h.world.add("OPER00001", "ade")
	outcomes := map[procedure.StepID][]string{procedure.DeleteGreyedOutRecord: {procedure.OutcomeVPPLicenseRemains, procedure.OutcomeDone}}
	var sawInstruction string
	for i := 1; i <= 30; i++ {
		h.env.RegisterDelayedCallback(func() {
			st := h.status()
			if st.WaitingOn != procedure.PartyOperator && st.WaitingOn != procedure.PartyDevice {
				return
			}
			if st.Current == procedure.RemoveProfiles {
				sawInstruction = st.Instruction
			}
			outcome := procedure.OutcomeDone
			if q := outcomes[st.Current]; len(q) > 0 {
				outcome, outcomes[st.Current] = q[0], q[1:]
			}
			h.env.UpdateWorkflow(contract.UpdateCompleteStep, "", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("report for %s refused: %v", st.Current, err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
			}, StepReport{Step: st.Current, By: "carol", Outcome: outcome})
		}, time.Duration(i)*time.Hour)
	}
	res, err := h.run(procedure.Request{Serial: "OPER00001", Enrollment: procedure.ADE}, func(in *DeviceInput) { in.ConsoleMode = contract.ModeOperator })
	if err != nil {
		t.Fatal(err)
	}
	if len(h.world.sent) != 0 {
		t.Errorf("operator mode sent console commands: %+v", h.world.sent)
	}
	for _, id := range []procedure.StepID{procedure.RemoveProfiles, procedure.RefreshLicenseCounts, procedure.RevokeVPPLicenses, procedure.DeleteGreyedOutRecord, procedure.ABMUnassign} {
		if stepState(res.Steps, id) != StateDone {
			t.Errorf("%s: %s", id, stepState(res.Steps, id))
		}
	}
	if !strings.Contains(sawInstruction, "構成プロファイルを削除") {
		t.Errorf("the operator's instruction should quote the vendor's label: %q", sawInstruction)
	}
	if n := h.world.unassignCount("OPER00001"); n != 1 {
		t.Errorf("Apple unassign ran %d times in operator mode with credentials, want 1", n)
	}
	if st := h.status(); len(st.Audit) < 6 {
		t.Errorf("audit has %d entries, want every report: %+v", len(st.Audit), st.Audit)
	}
}

// A device-event signal makes a long wait check again at once instead of at the next poll.
func TestDeviceEventWakesTheWait(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	d := h.world.add("EVENT0001", "manual")
	d.checkInEvery = 0 // only the callback below changes the device
	h.env.RegisterDelayedCallback(func() {
		h.world.mu.Lock()
		d.Status = console.StatusGreyedOut
		h.world.mu.Unlock()
		h.env.SignalWorkflow(contract.SignalDeviceEvent, DeviceEvent{Event: contract.EventGreyedOut, Source: "MDM alert"})
	}, time.Hour)
	res, err := h.run(procedure.Request{Serial: "EVENT0001", Enrollment: procedure.Manual},
		func(in *DeviceInput) { in.Timing.CheckInPoll = 24 * time.Hour })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Steps {
		if s.ID == procedure.AwaitGreyedOut {
			if took := s.EndedAt.Sub(*s.StartedAt); took > 2*time.Hour {
				t.Errorf("await-greyed-out took %s: the signal did not wake the 24h poll", took)
			}
			if !strings.Contains(s.Note, "MDM alert") {
				t.Errorf("the event is not in the step's note: %q", s.Note)
			}
		}
	}
}

// In operator mode the delete's outcomes lead into the procedure's branches.
func TestOperatorOutcomesLeadIntoBranches(t *testing.T) {
	cases := []struct {
		name     string
		enroll   string
		wipe     bool
		step     procedure.StepID
		outcome  string
		inserted procedure.StepID
		party    procedure.Party
	}{
		{"certificates remain", "manual", true, procedure.DeleteGreyedOutRecord, procedure.OutcomeCertificatesRemain, procedure.RemoveCertificates, procedure.PartyOperator},
		{"work smart", "ade-restricted", false, procedure.DeleteManagedRecord, procedure.OutcomeWorkSmart, "", procedure.PartyVendorSupport},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, contract.ModeAutomated)
			h.world.add("OPBR00001", tc.enroll)
			var after DeviceStatus
			reported := false
			for i := 1; i <= 20; i++ {
				h.env.RegisterDelayedCallback(func() {
					st := h.status()
					if reported {
						after = st
						return
					}
					if len(st.Choices) == 0 {
						return
					}
					outcome := procedure.OutcomeDone
					if st.Current == tc.step {
						outcome, reported = tc.outcome, true
					}
					h.env.UpdateWorkflow(contract.UpdateCompleteStep, "", &testsuite.TestUpdateCallback{
						OnReject: func(err error) { t.Errorf("refused: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
					}, StepReport{Step: st.Current, By: "dave", Outcome: outcome})
				}, time.Duration(i)*time.Hour)
			}
			h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, 30*time.Hour)
			_, _ = h.run(procedure.Request{Serial: "OPBR00001", Enrollment: procedure.Enrollment(tc.enroll), Wipe: tc.wipe},
				func(in *DeviceInput) { in.ConsoleMode = contract.ModeOperator })
			if !reported {
				t.Fatalf("the workflow never waited on %s", tc.step)
			}
			if tc.inserted != "" && stepState(after.Steps, tc.inserted) == "absent" {
				t.Errorf("%s did not lead to %s: %v", tc.outcome, tc.inserted, after.Steps)
			}
			if tc.party == procedure.PartyVendorSupport && after.WaitingOn != procedure.PartyVendorSupport {
				t.Errorf("after %s: waiting on %s, want vendor-support", tc.outcome, after.WaitingOn)
			}
		})
	}
}

// quietLogger passes only warnings and errors of the workflow under test to the test's log, so a
// failing test shows what went wrong without pages of debug lines. An activity the test
// environment cancels may log after the test has ended: that line is dropped, not raced.
type quietLogger struct{ l *testLog }

type testLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newQuietLogger(t *testing.T) quietLogger {
	l := &testLog{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.done = true
	})
	return quietLogger{l}
}

func (q quietLogger) log(kv ...any) {
	q.l.mu.Lock()
	defer q.l.mu.Unlock()
	if !q.l.done {
		q.l.t.Log(kv...)
	}
}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (q quietLogger) Warn(msg string, kv ...any) {
	q.log(append([]any{"WARN", msg}, kv...)...)
}
func (q quietLogger) Error(msg string, kv ...any) {
	if strings.Contains(fmt.Sprint(kv...), "NotYet") {
		return // a poll that is not there yet is the normal state of a wait
	}
	q.log(append([]any{"ERROR", msg}, kv...)...)
}
