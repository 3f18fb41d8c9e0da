package workflows

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
)

// lockHarness is the device harness with an evidence archive the test reads, and the worker's
// settings of the test (ACTIVATION_LOCK_HOLD).
type lockHarness struct {
	*harness
	archive *evidence.Archive
}

func newLockHarness(t *testing.T, info activities.WorkerInfo) *lockHarness {
	h := &harness{t: t, world: newFakeWorld()}
	h.ts.SetLogger(newQuietLogger(t))
	h.env = h.ts.NewTestWorkflowEnvironment()
	h.env.RegisterWorkflow(DeviceOffboarding)
	withCoordinator(h.env)
	archive, err := evidence.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.env.RegisterActivity(&activities.Console{API: h.world})
	h.env.RegisterActivity(&activities.Apple{API: h.world, ServerID: fakeServer})
	h.env.RegisterActivity(&activities.Notify{Notifier: h.world})
	h.env.RegisterActivity(&activities.Evidence{Archive: archive})
	info.ConsoleMode, info.AppleConfigured, info.AppleServerID, info.ConsoleSafetyNetPoll = contract.ModeAutomated, true, fakeServer, fakeSafetyNet
	h.env.RegisterActivity(&activities.Worker{Info: info})
	return &lockHarness{harness: h, archive: archive}
}

func (h *lockHarness) record(serial string) evidence.Record {
	h.t.Helper()
	rec, _, err := h.archive.Latest(serial)
	if err != nil {
		h.t.Fatalf("retirement record of %s: %v", serial, err)
	}
	return rec
}

// report sends complete-step for turn-off-activation-lock; it must be accepted.
func (h *lockHarness) report(by string) {
	h.env.UpdateWorkflow(contract.UpdateCompleteStep, "report-"+by, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { h.t.Errorf("%s's report refused: %v", by, err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
	}, StepReport{Step: procedure.TurnOffActivationLock, By: by, Outcome: procedure.OutcomeDone})
}

func (h *lockHarness) operatorTold(serial string) int {
	h.world.mu.Lock()
	defer h.world.mu.Unlock()
	n := 0
	for _, m := range h.world.notes {
		if m.Serial == serial && m.Audience == "operator" && m.Step == string(procedure.TurnOffActivationLock) {
			n++
		}
	}
	return n
}

var wipeADE = func(serial string) procedure.Request {
	return procedure.Request{Serial: serial, Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole}
}

// A wiped device locked to a personal Apple Account, with §5 held: abm-unassign waits on the
// operator, with Apple's steps; a report while Apple still says USER is not taken for the truth;
// once the lock is off in Apple Business Manager and reported, Apple reads it off and §5 goes on.
func TestActivationLockUserHoldsTheUnassignUntilTheOperatorTurnsItOff(t *testing.T) {
	h := newLockHarness(t, activities.WorkerInfo{})
	serial := "LOCKUSER01"
	h.world.add(serial, "ade")
	h.world.setLock(serial, applebusiness.LockTypeUser)
	var first, second DeviceStatus
	var unassignedWhileHeld int
	h.env.RegisterDelayedCallback(func() {
		first = h.status()
		unassignedWhileHeld = h.world.unassignCount(serial)
		h.report("alice") // says done, but Apple still reports USER
	}, 2*24*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		second = h.status()
		unassignedWhileHeld += h.world.unassignCount(serial)
		h.world.setLock(serial, "") // turned off in Apple Business Manager
		h.report("bob")
	}, 3*24*time.Hour)
	res, err := h.run(wipeADE(serial), func(in *DeviceInput) { in.HoldUnassignUntilUnlocked = true })
	if err != nil {
		t.Fatal(err)
	}
	if first.Current != procedure.TurnOffActivationLock || first.WaitingOn != procedure.PartyOperator {
		t.Fatalf("after the wipe: %s on %s, want turn-off-activation-lock on operator", first.Current, first.WaitingOn)
	}
	if !strings.Contains(first.Instruction, procedure.ActivationLockReference) || !strings.Contains(first.Instruction, serial) ||
		!strings.Contains(first.Instruction, "Activation Lock On (User)") || len(first.Choices) != 1 || first.Choices[0] != procedure.OutcomeDone {
		t.Errorf("the operator's task: %q, choices %v", first.Instruction, first.Choices)
	}
	if stepState(first.Steps, procedure.ABMUnassign) != StatePending || unassignedWhileHeld != 0 {
		t.Errorf("§5 went on while the lock was on: abm-unassign %s, %d unassigns", stepState(first.Steps, procedure.ABMUnassign), unassignedWhileHeld)
	}
	if first.ActivationLock == nil || first.ActivationLock.Reusable || first.ActivationLock.LockType != applebusiness.LockTypeUser {
		t.Errorf("status while held: %+v, want USER, not reusable", first.ActivationLock)
	}
	if second.Current != procedure.TurnOffActivationLock || second.WaitingOn != procedure.PartyOperator ||
		!strings.Contains(second.WaitingFor, "Apple still reports it on") {
		t.Errorf("after alice's report with the lock still on: %s on %s (%s), want the operator asked again", second.Current, second.WaitingOn, second.WaitingFor)
	}
	if res.Outcome != OutcomeRemoved || h.world.unassignCount(serial) != 1 {
		t.Fatalf("outcome %s, %d unassigns, want removed and one", res.Outcome, h.world.unassignCount(serial))
	}
	if got := stepState(res.Steps, procedure.TurnOffActivationLock); got != StateDone {
		t.Errorf("turn-off-activation-lock %s, want done", got)
	}
	l := res.ActivationLock
	if l == nil || !l.Reusable || l.IsLocked || l.TurnedOffBy != "bob" || !l.Held {
		t.Errorf("result: %+v, want reusable, turned off by bob, held", l)
	}
	if n := h.world.lockReads(serial); n != 3 {
		t.Errorf("%d Activation Lock reads, want 3 (after the wipe, after each report)", n)
	}
	if h.operatorTold(serial) == 0 {
		t.Error("no operator was told")
	}
	rec := h.record(serial)
	if a := rec.ActivationLockStatus; a == nil || !a.Reusable || a.LockType != applebusiness.LockTypeNone || a.TurnedOffBy != "bob" || a.ReadAt == nil {
		t.Errorf("record: %+v", a)
	}
	if len(rec.Reports) != 2 || rec.Reports[0].By != "alice" || rec.Reports[1].Step != string(procedure.TurnOffActivationLock) {
		t.Errorf("record's reports: %+v", rec.Reports)
	}
}

// Without the hold, §5 goes on; the operator is told; the device ends NOT reusable everywhere.
func TestActivationLockUserWithoutHoldUnassignsAndIsNotReusable(t *testing.T) {
	h := newLockHarness(t, activities.WorkerInfo{})
	serial := "LOCKUSER02"
	h.world.add(serial, "ade-restricted")
	h.world.setLock(serial, applebusiness.LockTypeUser)
	res, err := h.run(procedure.Request{Serial: serial, Enrollment: procedure.ADERestricted, Wipe: true, WipeMethod: procedure.WipeConsole})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeRemoved || h.world.unassignCount(serial) != 1 {
		t.Fatalf("outcome %s, %d unassigns, want removed and one", res.Outcome, h.world.unassignCount(serial))
	}
	if l := res.ActivationLock; l == nil || l.Reusable || !l.IsLocked || l.LockType != applebusiness.LockTypeUser || l.Held {
		t.Errorf("result: %+v, want USER, not reusable, not held", l)
	}
	if got := ReusableLabel(res.ActivationLock); got == "yes" {
		t.Errorf("the report says %q for a device locked to a personal Apple Account", got)
	}
	if !strings.Contains(strings.Join(res.Warnings, " "), "NOT reusable") {
		t.Errorf("warnings %q say nothing of the lock", res.Warnings)
	}
	if h.operatorTold(serial) != 1 {
		t.Errorf("operator told %d times, want once", h.operatorTold(serial))
	}
	st := h.status()
	if st.ActivationLock == nil || st.ActivationLock.Reusable {
		t.Errorf("status: %+v", st.ActivationLock)
	}
	rec := h.record(serial)
	if a := rec.ActivationLockStatus; a == nil || a.Reusable || !a.IsLocked || a.LockType != applebusiness.LockTypeUser || a.Reference != procedure.ActivationLockReference {
		t.Errorf("record: %+v", a)
	}
	if !strings.Contains(rec.ActivationLock, "NOT reusable") {
		t.Errorf("record's sentence: %q", rec.ActivationLock)
	}
}

// No lock: one read, nothing asked of anyone, reusable.
func TestActivationLockNoneIsReusable(t *testing.T) {
	h := newLockHarness(t, activities.WorkerInfo{ActivationLockHold: true})
	serial := "LOCKNONE01"
	h.world.add(serial, "ade")
	res, err := h.run(wipeADE(serial))
	if err != nil {
		t.Fatal(err)
	}
	if l := res.ActivationLock; l == nil || !l.Reusable || l.IsLocked || l.LockType != applebusiness.LockTypeNone || l.Held {
		t.Errorf("result: %+v, want NONE, reusable", l)
	}
	if got := stepState(res.Steps, procedure.TurnOffActivationLock); got != StateSkipped {
		t.Errorf("turn-off-activation-lock %s, want skipped", got)
	}
	if n := h.world.lockReads(serial); n != 1 || h.operatorTold(serial) != 0 || len(h.status().Audit) != 0 {
		t.Errorf("%d reads, operator told %d times: want one read and nobody asked", n, h.operatorTold(serial))
	}
	if a := h.record(serial).ActivationLockStatus; a == nil || !a.Reusable {
		t.Errorf("record: %+v", a)
	}
}

// An MDM (organisation) lock is handled as a USER one: the console's record, and with it the
// MDM's bypass code, is gone by §5. ACTIVATION_LOCK_HOLD holds §5 for it.
func TestActivationLockMDMHeldByTheWorkersSetting(t *testing.T) {
	h := newLockHarness(t, activities.WorkerInfo{ActivationLockHold: true})
	serial := "LOCKMDM01"
	h.world.add(serial, "ade")
	h.world.setLock(serial, applebusiness.LockTypeMDM)
	var held DeviceStatus
	h.env.RegisterDelayedCallback(func() {
		held = h.status()
		h.world.setLock(serial, "")
		h.report("carol")
	}, 2*24*time.Hour)
	res, err := h.run(wipeADE(serial))
	if err != nil {
		t.Fatal(err)
	}
	if held.Current != procedure.TurnOffActivationLock || held.WaitingOn != procedure.PartyOperator ||
		!strings.Contains(held.Instruction, "Activation Lock On (Organization)") {
		t.Errorf("MDM lock: %s on %s, instruction %q", held.Current, held.WaitingOn, held.Instruction)
	}
	if l := res.ActivationLock; res.Outcome != OutcomeRemoved || l == nil || !l.Reusable || l.TurnedOffBy != "carol" {
		t.Errorf("outcome %s, lock %+v", res.Outcome, l)
	}
}

// A device kept with its content (no wipe): the lock is its user's; it is recorded, not
// reusable, and nobody is asked to turn it off, even with the hold.
func TestActivationLockOnAKeptDeviceIsRecordedOnly(t *testing.T) {
	h := newLockHarness(t, activities.WorkerInfo{ActivationLockHold: true})
	serial := "LOCKKEEP01"
	h.world.add(serial, "ade-restricted")
	h.world.setLock(serial, applebusiness.LockTypeUser)
	res, err := h.run(procedure.Request{Serial: serial, Enrollment: procedure.ADERestricted})
	if err != nil {
		t.Fatal(err)
	}
	if l := res.ActivationLock; res.Outcome != OutcomeRemoved || l == nil || l.Reusable || l.LockType != applebusiness.LockTypeUser {
		t.Errorf("outcome %s, lock %+v", res.Outcome, l)
	}
	if h.operatorTold(serial) != 0 || h.world.unassignCount(serial) != 1 {
		t.Errorf("operator told %d times, %d unassigns", h.operatorTold(serial), h.world.unassignCount(serial))
	}
}

// ActivationLockStatus of batchApple: NONE for every device, counted.
func (a *batchApple) ActivationLockStatus(_ context.Context, serial string) (applebusiness.ActivationLock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["lock:"+serial]++
	return applebusiness.ActivationLock{Serial: serial, LockType: applebusiness.LockTypeNone, ReadAt: time.Unix(0, 0)}, nil
}

// A fleet's lock reads (one GET a device: Apple has no list of them) go through the coordinator's
// GET budget with its other GETs: with a budget of 5 GETs a minute, no minute has more, every
// device's lock is read exactly once, and every device ends reusable.
func TestFleetActivationLockReadsStayInsideTheGETBudget(t *testing.T) {
	h := newFleetHarnessWith(t, true, activities.WorkerInfo{AppleGetPerMinute: 5})
	calls := watchAppleCalls(h)
	devices := adeFleet(h, 24)
	results := map[string]DeviceResult{}
	h.env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, v converter.EncodedValue, err error) {
		if info.WorkflowType.Name == contract.DeviceWorkflowType && err == nil {
			var r DeviceResult
			_ = v.Get(&r)
			results[r.Serial] = r
		}
	})
	p, err := h.runCoordinated(FleetInput{Devices: devices, Window: 24})
	if err != nil {
		t.Fatal(err)
	}
	if p.ByState[OutcomeRemoved] != len(devices) {
		t.Fatalf("by state %v", p.ByState)
	}
	for _, d := range devices {
		s := d.Request.Serial
		if n := h.apple.calls["lock:"+s]; n != 1 {
			t.Errorf("%s: Activation Lock read %d times, want once", s, n)
		}
		if l := results[s].ActivationLock; l == nil || !l.Reusable {
			t.Errorf("%s: %+v", s, l)
		}
	}
	gets := append(slices.Clone(calls.gets), calls.locks...)
	slices.SortFunc(gets, func(a, b time.Time) int { return a.Compare(b) })
	if got := mostIn(gets, time.Minute); got > 5 {
		t.Errorf("%d GETs within a minute: the budget is 5", got)
	}
	if calls.byType["ActivationLock"] != len(devices) {
		t.Errorf("%d ActivationLock activities for %d devices: %v", calls.byType["ActivationLock"], len(devices), calls.byType)
	}
}

// Apple's 429 on a lock read holds every GET of the coordinator until its Retry-After; then the
// read goes again, and the device goes on with Apple's answer.
func TestActivationLockReadWaitsOutApples429(t *testing.T) {
	h := newLockHarness(t, activities.WorkerInfo{})
	serial := "LOCK429001"
	h.world.add(serial, "ade")
	h.world.lock429 = 1
	var reads []time.Time
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "ActivationLock" {
			reads = append(reads, h.env.Now())
		}
	})
	res, err := h.run(wipeADE(serial))
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) != 2 || reads[1].Sub(reads[0]) < 3*time.Minute {
		t.Fatalf("lock reads at %v: want two, the second after Apple's Retry-After of 3 minutes", reads)
	}
	if l := res.ActivationLock; l == nil || !l.Reusable || res.Outcome != OutcomeRemoved {
		t.Errorf("outcome %s, lock %+v", res.Outcome, l)
	}
}

// A lock Apple cannot tell (its documented server error for an internal-only lock state) is read
// a bounded number of times, then recorded as not read: never as reusable.
func TestActivationLockNotReadIsNeverReusable(t *testing.T) {
	h := newLockHarness(t, activities.WorkerInfo{ActivationLockHold: true})
	serial := "LOCK500001"
	h.world.add(serial, "ade")
	h.world.setLock(serial, fakeLockServerError)
	res, err := h.run(wipeADE(serial))
	if err != nil {
		t.Fatal(err)
	}
	if n := h.world.lockReads(serial); n != maxLockReadTries {
		t.Errorf("%d reads, want %d", n, maxLockReadTries)
	}
	if l := res.ActivationLock; res.Outcome != OutcomeRemoved || l == nil || l.Reusable || l.LockType != "" || ReusableLabel(l) != "not checked" {
		t.Errorf("outcome %s, lock %+v (%s)", res.Outcome, l, ReusableLabel(l))
	}
	rec := h.record(serial)
	if rec.ActivationLockStatus != nil || !strings.HasPrefix(rec.ActivationLock, "not read") {
		t.Errorf("record: %q %+v", rec.ActivationLock, rec.ActivationLockStatus)
	}
	if !strings.Contains(strings.Join(res.Warnings, " "), "could not be read") {
		t.Errorf("warnings: %q", res.Warnings)
	}
}

// The coordinator answers the lock reads a continue-as-new carried (CoordinatorInput.Locks) and
// those that come by their own signal; the same device asked twice is read once; nothing is
// unassigned for a lock read.
func TestCoordinatorAnswersLockReadsCarriedAndSignalled(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(newQuietLogger(t))
	env := ts.NewTestWorkflowEnvironment()
	apple := newBatchApple()
	apple.assign("CARRIED01", fakeServer)
	apple.assign("SIGNAL01", fakeServer)
	env.RegisterWorkflow(AppleCoordinator)
	env.RegisterActivity(&activities.Apple{API: apple, ServerID: fakeServer})
	env.RegisterActivity(&activities.Signals{})
	env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{AppleConfigured: true, AppleServerID: fakeServer, ConsoleSafetyNetPoll: fakeSafetyNet}})
	answered := map[string]AppleAnswer{}
	var mu sync.Mutex // the test environment calls the mock from the coordinator's goroutines
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", signalAppleAnswer, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			var a AppleAnswer
			if raw, ok := arg.(json.RawMessage); ok {
				_ = json.Unmarshal(raw, &a)
			} else if b, err := json.Marshal(arg); err == nil {
				_ = json.Unmarshal(b, &a)
			}
			mu.Lock()
			defer mu.Unlock()
			answered[a.RequestID] = a
			return nil
		})
	req := func(serial, id string) AppleRequest {
		return AppleRequest{Kind: AppleLockRead, Serial: serial, WorkflowID: "offboard-" + serial, RequestID: id, Gather: time.Second, Poll: 30 * time.Second}
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(signalAppleLockRequest, req("SIGNAL01", "SIGNAL01/1"))
		env.SignalWorkflow(signalAppleLockRequest, req("SIGNAL01", "SIGNAL01/2")) // asked again before the read: read once
	}, 0)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(AppleCoordinator, CoordinatorInput{Locks: []AppleRequest{req("CARRIED01", "CARRIED01/1")}})
	for _, id := range []string{"CARRIED01/1", "SIGNAL01/2"} {
		a, ok := answered[id]
		if !ok || a.Outcome != AppleLockReadDone || a.ActivationLock == nil || !a.ActivationLock.Reusable() {
			t.Errorf("%s: answered %t, %+v", id, ok, a)
		}
	}
	if _, ok := answered["SIGNAL01/1"]; ok {
		t.Error("the replaced request was answered too")
	}
	if apple.calls["lock:SIGNAL01"] != 1 || apple.calls["lock:CARRIED01"] != 1 || apple.calls["post"] != 0 {
		t.Errorf("calls %v: want one lock read each and no POST", apple.calls)
	}
}

// The reusable label: "yes" only when Apple reported no lock; a manually enrolled device, which
// Apple Business Manager does not hold, is unknown rather than unchecked.
func TestReusableLabel(t *testing.T) {
	for _, c := range []struct {
		lock *ActivationLockState
		want string
	}{
		{nil, "not checked"},
		{&ActivationLockState{LockType: "NONE", Reusable: true}, "yes"},
		{&ActivationLockState{IsLocked: true, LockType: "USER"}, "no (Activation Lock USER)"},
		{&ActivationLockState{Note: "not read: Apple answered 500"}, "not checked"},
		{manualActivationLock(), "unknown (not in ABM)"},
	} {
		if got := ReusableLabel(c.lock); got != c.want {
			t.Errorf("%+v: %q, want %q", c.lock, got, c.want)
		}
	}
}
