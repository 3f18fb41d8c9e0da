package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
)

// fleetHarness runs FleetRetirement with real DeviceOffboarding children on the fake world, and
// Apple's side on batchApple.
type fleetHarness struct {
	t     *testing.T
	ts    testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	world *fakeWorld
	apple *batchApple

	devicesRunning, maxRunning, devicesStarted int
	updates                                    int // updates sent, for their IDs (fleet_people_test.go)
}

func newFleetHarness(t *testing.T) *fleetHarness {
	return newFleetHarnessWith(t, false, activities.WorkerInfo{})
}

// newFleetHarnessWith is the fleet harness with the Apple coordinator (coordinated), or with the
// batcher the devices used before it; info adds to the worker's settings (the Apple budget).
func newFleetHarnessWith(t *testing.T, coordinated bool, info activities.WorkerInfo) *fleetHarness {
	h := &fleetHarness{t: t, world: newFakeWorld(), apple: newBatchApple()}
	h.env = h.ts.NewTestWorkflowEnvironment()
	h.env.SetDetachedChildWait(false) // the batcher runs on after the fleet, as it does on a server
	for _, wf := range []any{DeviceOffboarding, FleetRetirement, FleetDeviceList, AppleUnassignBatcher} {
		h.env.RegisterWorkflow(wf)
	}
	h.env.RegisterActivity(&activities.Console{API: h.world})
	h.env.RegisterActivity(&activities.Apple{API: h.apple, ServerID: fakeServer, HoldCap: time.Millisecond})
	h.env.RegisterActivity(&activities.Notify{Notifier: h.world})
	h.env.RegisterActivity(fleetEvidence(t))
	info.ConsoleMode, info.AppleConfigured, info.AppleServerID, info.ConsoleSafetyNetPoll = contract.ModeAutomated, true, fakeServer, fakeSafetyNet
	h.env.RegisterActivity(&activities.Worker{Info: info})
	h.env.RegisterActivity(&activities.Fleet{}) // no client: the census is off unless a test mocks it
	// No sender: the batcher answers by signals of its own (the test environment cannot take
	// signals from an activity's goroutine); batch_test covers the activity.
	h.env.RegisterActivity(&activities.Signals{})
	// The test environment routes a signal to a workflow it runs; one to a batcher that does not
	// run yet fails, as the server's would, and the device starts the batcher.
	h.env.OnSignalExternalWorkflow(mock.Anything, BatcherWorkflowID, "", signalUnassignRequest, mock.Anything).
		Return(errors.New("unknown external workflow execution"))
	// The destruction budget is off in the fleet's tests: the test environment cannot take a signal
	// for a child that has started but not run yet (coordinatedFleet's note), which many devices
	// asking a holder one of them just started would send. destruction_budget_test.go runs it
	// beside devices; the integration test runs it across two workers.
	h.env.OnGetVersion(changeDestructionBudget, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	if coordinated {
		// lean-lifecycle 2 implies the budget: these devices are of version 1, which reads its marker.
		h.env.OnGetVersion(changeLeanLifecycle, workflow.DefaultVersion, 2).Return(workflow.Version(1))
		h.env.RegisterWorkflow(AppleCoordinator)
		h.env.OnSignalExternalWorkflow(mock.Anything, CoordinatorWorkflowID("", fakeServer), "", signalAppleRequest, mock.Anything).
			Return(errors.New("unknown external workflow execution"))
		h.env.OnSignalExternalWorkflow(mock.Anything, CoordinatorWorkflowID("", fakeServer), "", signalAppleLockRequest, mock.Anything).
			Return(errors.New("unknown external workflow execution"))
	} else {
		// The fleet's and the batcher's tests: the batcher is what devices used before the Apple
		// coordinator, so they are pinned to that version (coordinator_test.go has the coordinator's).
		h.env.OnGetVersion(changeAppleCoordinator, workflow.DefaultVersion, 2).Return(workflow.DefaultVersion)
		// A device of before the coordinator is of before lean-lifecycle too, which implies it.
		h.env.OnGetVersion(changeLeanLifecycle, workflow.DefaultVersion, 2).Return(workflow.DefaultVersion)
	}
	h.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		if info.WorkflowType.Name == contract.DeviceWorkflowType {
			h.devicesStarted++
			h.devicesRunning++
			h.maxRunning = max(h.maxRunning, h.devicesRunning)
		}
	})
	h.env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, _ converter.EncodedValue, _ error) {
		if info.WorkflowType.Name == contract.DeviceWorkflowType {
			h.devicesRunning--
		}
	})
	return h
}

// add puts a device in the fake console (and, for ADE, assigned in Apple) and returns its row.
func (h *fleetHarness) add(serial, enrollment string, wipe bool, opts ...func(*fakeDevice)) FleetDevice {
	h.world.add(serial, enrollment, opts...)
	if enrollment != "manual" {
		h.apple.assign(serial, fakeServer)
	}
	req := procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(enrollment), Wipe: wipe}
	if wipe {
		req.WipeMethod = procedure.WipeConsole
	}
	return FleetDevice{Request: req, Contact: "user@example.com"}
}

// mixed returns n devices over every enrollment, wiped and kept.
func (h *fleetHarness) mixed(n int) []FleetDevice {
	enrollments := []string{"ade-restricted", "ade", "manual"}
	var out []FleetDevice
	for i := range n {
		out = append(out, h.add(fmt.Sprintf("FLT%05d", i), enrollments[i%3], i%2 == 0))
	}
	return out
}

func (h *fleetHarness) run(in FleetInput) (FleetProgress, error) {
	return h.runAs(FleetRetirement, contract.FleetWorkflowID, in)
}

// runAs runs the fleet as root workflow wf, with the workflow ID id gives the fleet's ID:
// FleetRetirement itself, or a workflow that starts it.
func (h *fleetHarness) runAs(wf any, id func(string) string, in FleetInput) (FleetProgress, error) {
	h.t.Helper()
	if in.FleetID == "" {
		in.FleetID = "f1"
	}
	in.Confirmed = true
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id(in.FleetID)})
	h.env.ExecuteWorkflow(wf, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("fleet did not complete")
	}
	var p FleetProgress
	err := h.env.GetWorkflowError()
	if err == nil {
		if gerr := h.env.GetWorkflowResult(&p); gerr != nil {
			h.t.Fatal(gerr)
		}
	}
	return p, err
}

func (h *fleetHarness) progress() FleetProgress {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(contract.QueryProgress)
	if err != nil {
		h.t.Fatalf("progress query: %v", err)
	}
	var p FleetProgress
	if err := v.Get(&p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// Every device of a mixed fleet is removed, the window is filled and never exceeded, each
// destructive command ran once, and the ADE devices share Apple activities.
func TestFleetRetiresEveryDevice(t *testing.T) {
	h := newFleetHarness(t)
	devices := h.mixed(12)
	// Apple polls of 20 minutes: the devices reach abm-unassign within a batch's gathering time.
	p, err := h.run(FleetInput{Devices: devices, Window: 4, PageSize: 5, Timing: Timing{ApplePoll: 20 * time.Minute}})
	if err != nil {
		t.Fatalf("fleet failed: %v", err)
	}
	if p.State != FleetFinished || p.ByState[OutcomeRemoved] != 12 || p.ByState[FleetDevicePending] != 0 || p.ByState[FleetDeviceRunning] != 0 {
		t.Fatalf("progress %+v: want 12 removed, finished", p)
	}
	if p.Finished != 12 || p.Total != 12 || len(p.NeedPerson) != 0 {
		t.Errorf("finished %d of %d, need a person %v", p.Finished, p.Total, p.NeedPerson)
	}
	if h.devicesStarted != 12 || h.maxRunning != 4 {
		t.Errorf("started %d devices, at most %d at once: want 12, window 4", h.devicesStarted, h.maxRunning)
	}
	ade := 0
	for _, d := range devices {
		s := d.Request.Serial
		if !h.world.gone(s) {
			t.Errorf("%s: the console still has the record", s)
		}
		for _, typ := range []string{console.CmdEraseDevice, console.CmdPurgeDevice, console.CmdDeleteDevice, console.CmdRemoveProfile} {
			if n := h.world.accepted(s, typ); n > 1 {
				t.Errorf("%s: %s accepted %d times", s, typ, n)
			}
		}
		want := 0
		if d.Request.Enrollment.IsADE() {
			want = 1
			ade++
		}
		if n := h.apple.count(s); n != want {
			t.Errorf("%s: named in %d unassign activities, want %d", s, n, want)
		}
	}
	if calls := h.apple.apiCalls(); 2*calls > ade {
		t.Errorf("%d Apple calls for %d ADE devices: batching should make it far fewer than one a device", calls, ade)
	}
	if len(h.apple.posts) >= ade {
		t.Errorf("%d activities for %d ADE devices: no batching", len(h.apple.posts), ade)
	}
}

// A device listed twice is started once; a device that cannot be planned is rejected without a
// start; both are named for a person.
func TestFleetStartsADeviceOnce(t *testing.T) {
	h := newFleetHarness(t)
	d := h.add("DUPE00001", "manual", true)
	bad := FleetDevice{Request: procedure.Request{Serial: "BAD", Enrollment: procedure.Manual}}
	p, err := h.run(FleetInput{Devices: []FleetDevice{d, d, bad}, Window: 2})
	if err != nil {
		t.Fatal(err)
	}
	if h.devicesStarted != 1 || p.ByState[OutcomeRemoved] != 1 || p.ByState[OutcomeConflict] != 1 || p.ByState[OutcomeRejected] != 1 {
		t.Fatalf("started %d, by state %v: want one start, removed 1, conflict 1, rejected 1", h.devicesStarted, p.ByState)
	}
	if len(p.NeedPerson) != 2 {
		t.Errorf("need a person: %+v, want the conflict and the rejected row", p.NeedPerson)
	}
	if n := h.world.accepted("DUPE00001", console.CmdEraseDevice); n != 1 {
		t.Errorf("erase accepted %d times", n)
	}
}

// Paused, the fleet starts nothing; resumed, it goes on to the end.
func TestFleetPauseAndResume(t *testing.T) {
	h := newFleetHarness(t)
	devices := h.mixed(6)
	var paused FleetProgress
	startedWhenPaused := 0
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(contract.SignalPause, nil) }, time.Millisecond)
	h.env.RegisterDelayedCallback(func() {
		paused = h.progress()
		startedWhenPaused = h.devicesStarted
	}, 10*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		if h.devicesStarted != startedWhenPaused {
			t.Errorf("%d devices started while paused", h.devicesStarted-startedWhenPaused)
		}
		h.env.SignalWorkflow(contract.SignalResume, nil)
	}, 20*time.Hour)
	p, err := h.run(FleetInput{Devices: devices, Window: 2})
	if err != nil {
		t.Fatal(err)
	}
	if paused.State != FleetPaused || paused.ByState[FleetDevicePending] != 6-startedWhenPaused || startedWhenPaused > 2 {
		t.Errorf("while paused: %+v, %d started", paused, startedWhenPaused)
	}
	if p.ByState[OutcomeRemoved] != 6 || p.State != FleetFinished {
		t.Errorf("after resume: %+v", p)
	}
}

// A continue-as-new carries the cursor, the running devices, the counts and the devices fetched
// but not started (at most a page), never the list.
func TestFleetContinueAsNewCarriesCountsOnly(t *testing.T) {
	h := newFleetHarness(t)
	devices := h.mixed(9)
	_, err := h.run(FleetInput{Devices: devices, Window: 2, MaxStartsPerRun: 3})
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("fleet ended with %v, want a continue-as-new", err)
	}
	var next FleetInput
	if err := converterFromPayloads(can, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if len(next.Devices) != 0 || st == nil {
		t.Fatalf("the next run carries %d devices, state %v: want no list, a state", len(next.Devices), st)
	}
	if st.Total != 9 || st.Cursor != 3 || st.Runs != 1 {
		t.Errorf("state total %d cursor %d runs %d, want 9, 3, 1", st.Total, st.Cursor, st.Runs)
	}
	finished := 0
	for _, n := range st.Outcomes {
		finished += n
	}
	if finished+len(st.Running) != 3 {
		t.Errorf("%d finished + %d running, want the 3 started", finished, len(st.Running))
	}
	if len(st.Queue) != 6 || st.Queue[0].Request.Serial != devices[3].Request.Serial || st.Queue[5].Request.Serial != devices[8].Request.Serial {
		t.Errorf("the next run carries a queue of %d devices, want the 6 not started (%s to %s)", len(st.Queue),
			devices[3].Request.Serial, devices[8].Request.Serial)
	}
	if next.Window != 2 || next.FleetID != "f1" || !next.Confirmed {
		t.Errorf("next input lost its settings: %+v", next)
	}
}

// Cancelled, the fleet starts no more devices and says the running ones go on (that they do is
// integration's TestFleetCancelLeavesRunningDevices: the test environment does not carry a
// cancellation to children as the server does).
func TestFleetCancelStopsStarting(t *testing.T) {
	h := newFleetHarness(t)
	var devices []FleetDevice
	for i := range 5 {
		devices = append(devices, h.add(fmt.Sprintf("SLOW%05d", i), "manual", true, func(d *fakeDevice) { d.checkInEvery = 0 }))
	}
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, time.Hour)
	_, err := h.run(FleetInput{Devices: devices, Window: 2, Timing: Timing{CheckInDeadline: 1000 * time.Hour}})
	if !temporal.IsCanceledError(err) {
		t.Fatalf("fleet ended with %v, want cancelled", err)
	}
	p := h.progress()
	if p.State != FleetCancelled || p.ByState[FleetDevicePending] != 3 || p.ByState[FleetDeviceRunning] != 2 || p.OnCancel == "" {
		t.Errorf("after cancel: %+v", p)
	}
	if h.devicesStarted != 2 {
		t.Errorf("%d devices started, want the window's 2", h.devicesStarted)
	}
}

// A fleet without the typed confirmation starts nothing.
func TestFleetNeedsConfirmation(t *testing.T) {
	h := newFleetHarness(t)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: contract.FleetWorkflowID("f1")})
	h.env.ExecuteWorkflow(FleetRetirement, FleetInput{FleetID: "f1", Devices: h.mixed(2)})
	if err := h.env.GetWorkflowError(); err == nil || h.devicesStarted != 0 {
		t.Fatalf("unconfirmed fleet: error %v, %d started", err, h.devicesStarted)
	}
}

// A device whose workflow closes without telling the fleet (terminated) is found by the census,
// confirmed by describing it, and counted lost, so the fleet still ends; the census's steps show
// in the progress.
func TestFleetFindsALostDevice(t *testing.T) {
	h := newFleetHarness(t)
	d := h.add("LOST00001", "manual", true, func(d *fakeDevice) { d.checkInEvery = 0 })
	census := 0
	h.env.OnActivity(fleetActs.Census, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.CensusInput) (activities.Census, error) {
		census++
		if census == 1 { // the first census sees it waiting; then it is gone
			return activities.Census{Running: 1, ByStep: map[string]int{"await-greyed-out": 1}, ByWaitingOn: map[string]int{"device": 1},
				Serials: []string{"LOST00001"}}, nil
		}
		return activities.Census{}, nil
	})
	h.env.OnActivity(fleetActs.DescribeDevices, mock.Anything, mock.Anything).Return(
		[]activities.DeviceState{{WorkflowID: contract.DeviceWorkflowID("LOST00001"), Status: "Terminated"}}, nil)
	var mid FleetProgress
	h.env.RegisterDelayedCallback(func() { mid = h.progress() }, 90*time.Second)
	p, err := h.run(FleetInput{Devices: []FleetDevice{d}, Window: 1, CensusEvery: time.Minute, Timing: Timing{CheckInDeadline: 1000 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if mid.ByStep["await-greyed-out"] != 1 || mid.ByWaitingOn["device"] != 1 {
		t.Errorf("mid-way progress by step %v, by waiting-on %v: want the census's", mid.ByStep, mid.ByWaitingOn)
	}
	if p.ByState[OutcomeLost] != 1 || len(p.NeedPerson) != 1 || p.NeedPerson[0].Serial != "LOST00001" {
		t.Errorf("progress %+v: want the device lost and named", p)
	}
}

func converterFromPayloads(can *workflow.ContinueAsNewError, out any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, out)
}

// A device that visibility has not caught up with (under load) is described, found running, and
// left alone: it is not counted lost.
func TestFleetDoesNotTakeVisibilityLagForALostDevice(t *testing.T) {
	h := newFleetHarness(t)
	d := h.add("LAGS00001", "manual", true, func(d *fakeDevice) { d.checkInEvery = 0 })
	h.env.OnActivity(fleetActs.Census, mock.Anything, mock.Anything).Return(activities.Census{}, nil)
	described := 0
	h.env.OnActivity(fleetActs.DescribeDevices, mock.Anything, mock.Anything).Return(func(_ context.Context, ids []string) ([]activities.DeviceState, error) {
		described++
		return []activities.DeviceState{{WorkflowID: ids[0], Running: true, Status: "Running", FleetID: "f1"}}, nil
	})
	var p FleetProgress
	h.env.RegisterDelayedCallback(func() { p = h.progress(); h.env.CancelWorkflow() }, 10*time.Minute)
	_, _ = h.run(FleetInput{Devices: []FleetDevice{d}, Window: 1, CensusEvery: time.Minute, Timing: Timing{CheckInDeadline: 1000 * time.Hour}})
	if described == 0 {
		t.Fatal("the suspect was never described")
	}
	if p.ByState[OutcomeLost] != 0 || p.ByState[FleetDeviceRunning] != 1 {
		t.Errorf("progress %v: a running device was counted lost", p.ByState)
	}
}
