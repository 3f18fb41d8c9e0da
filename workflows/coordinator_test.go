package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/stretchr/testify/mock"
)

// AssignedDevicesPage lists the devices assigned to a server, pageSize to a page.
func (a *batchApple) AssignedDevicesPage(_ context.Context, server, cursor string, _ int) (applebusiness.DevicePage, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["list"]++
	var serials []string
	for s, srv := range a.assigned {
		if srv == server {
			serials = append(serials, s)
		}
	}
	slices.Sort(serials)
	start := 0
	if cursor != "" {
		fmt.Sscan(cursor, &start)
	}
	size := a.pageSize
	if size <= 0 {
		size = applebusiness.MaxDevicesPageLimit
	}
	end := min(start+size, len(serials))
	page := applebusiness.DevicePage{Serials: serials[start:end], Total: len(serials)}
	if end < len(serials) {
		page.NextCursor = fmt.Sprint(end)
	}
	return page, nil
}

// coordinatedFleet runs a fleet the way a server sees it once the organisation's Apple
// coordinator runs: the coordinator is started first, then the fleet. (The test environment
// cannot take a signal for a child workflow that has started but not yet run its first task, a
// moment a server does not have: signals wait in its history.)
func coordinatedFleet(ctx workflow.Context, in FleetInput) (FleetProgress, error) {
	cctx := workflow.WithChildOptions(ctx, coordinatorChildOptions(CoordinatorWorkflowID("", fakeServer)))
	if err := workflow.ExecuteChildWorkflow(cctx, AppleCoordinator, CoordinatorInput{}).GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return FleetProgress{}, err
	}
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return FleetProgress{}, err
	}
	var p FleetProgress
	fctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: contract.FleetWorkflowID(in.FleetID)})
	err := workflow.ExecuteChildWorkflow(fctx, FleetRetirement, in).Get(ctx, &p)
	return p, err
}

// runCoordinated is run with the coordinator started before the fleet.
func (h *fleetHarness) runCoordinated(in FleetInput) (FleetProgress, error) {
	h.t.Helper()
	h.env.RegisterWorkflow(coordinatedFleet)
	return h.runAs(coordinatedFleet, func(id string) string { return "test-root-" + id }, in)
}

// appleCalls records when each Apple Business API call of the coordinator started, on the test
// environment's clock.
type appleCalls struct {
	mu          sync.Mutex
	gets, posts []time.Time
	locks       []time.Time // Activation Lock reads: GETs too, one a device (activation_lock_test.go)
	byType      map[string]int
}

func watchAppleCalls(h *fleetHarness) *appleCalls {
	c := &appleCalls{byType: map[string]int{}}
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.byType[info.ActivityType.Name]++
		switch info.ActivityType.Name {
		case "AssignedServer", "AssignedDevicesPage", "ReadActivity", "AwaitBatch", "AwaitActivity":
			c.gets = append(c.gets, h.env.Now())
		case "Unassign":
			c.posts = append(c.posts, h.env.Now())
		case "ActivationLock":
			c.locks = append(c.locks, h.env.Now())
		}
	})
	return c
}

// mostIn is the largest number of calls that started within any window of length d.
func mostIn(times []time.Time, d time.Duration) int {
	most := 0
	for i := range times {
		n := 0
		for _, t := range times[i:] {
			if t.Sub(times[i]) < d {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// A fleet's ADE devices are read and unassigned through the coordinator: in bulk, inside Apple's
// budget (no more than 20 GETs in any minute, 10 POSTs in any hour), each device unassigned
// exactly once, with well under one Apple request per device.
func TestCoordinatorUnassignsAFleetInsideTheBudget(t *testing.T) {
	h := newFleetHarnessWith(t, true, activities.WorkerInfo{})
	calls := watchAppleCalls(h)
	devices := adeFleet(h, 24)
	p, err := h.runCoordinated(FleetInput{Devices: devices, Window: 24})
	if err != nil {
		t.Fatal(err)
	}
	if p.ByState[OutcomeRemoved] != len(devices) {
		t.Fatalf("by state %v: want %d removed", p.ByState, len(devices))
	}
	for _, d := range devices {
		if n := h.apple.count(d.Request.Serial); n != 1 {
			t.Errorf("%s named in %d activities, want 1", d.Request.Serial, n)
		}
	}
	if got := mostIn(calls.gets, time.Minute); got > 20 {
		t.Errorf("%d GETs within a minute: Apple's budget is 20", got)
	}
	if got := mostIn(calls.posts, time.Hour); got > 10 {
		t.Errorf("%d POSTs within an hour: Apple's budget is 10", got)
	}
	requests := len(calls.gets) + len(calls.posts)
	if perDevice := float64(requests) / float64(len(devices)); perDevice > 0.5 {
		t.Errorf("%d Apple requests for %d devices (%.2f a device; calls %v)", requests, len(devices), perDevice, calls.byType)
	}
	if calls.byType["AssignedDevicesPage"] == 0 {
		t.Errorf("the pre-flight reads of %d devices did not use the server's device list: %v", len(devices), calls.byType)
	}
}

// A 429 on the POST created nothing: the same batch goes again once Apple's Retry-After has
// passed, and nobody reads a device's assignment because of it.
func TestCoordinatorSendsA429dBatchAgainAfterItsRetryAfter(t *testing.T) {
	h := newFleetHarnessWith(t, true, activities.WorkerInfo{})
	calls := watchAppleCalls(h)
	h.apple.rateLimitPosts, h.apple.retryAfter = 1, 17*time.Minute
	h.apple.pageSize = 2 // the coordinator follows the device list's cursor
	devices := adeFleet(h, 5)
	readsBefore := 0
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if info.ActivityType.Name == "Unassign" && err != nil {
			readsBefore = calls.byType["AssignedServer"] + calls.byType["AssignedDevicesPage"]
		}
	})
	p, err := h.runCoordinated(FleetInput{Devices: devices, Window: 5})
	if err != nil {
		t.Fatal(err)
	}
	if p.ByState[OutcomeRemoved] != len(devices) {
		t.Fatalf("by state %v", p.ByState)
	}
	if len(calls.posts) != 2 {
		t.Fatalf("%d POSTs, want the 429 and one more", len(calls.posts))
	}
	if gap := calls.posts[1].Sub(calls.posts[0]); gap < 17*time.Minute {
		t.Errorf("the batch went again %s after the 429, before its Retry-After of 17m", gap)
	}
	if len(h.apple.posts) != 1 || len(h.apple.posts[0]) != len(devices) {
		t.Errorf("activities created %v: want one, of all %d devices", h.apple.posts, len(devices))
	}
	if after := calls.byType["AssignedServer"] + calls.byType["AssignedDevicesPage"]; after != readsBefore {
		t.Errorf("%d assignment reads after the 429: a 429 is not ambiguous", after-readsBefore)
	}
	if calls.byType["AssignedServer"] != 0 || calls.byType["AssignedDevicesPage"] != 3 {
		t.Errorf("pre-flight of 5 devices on pages of 2: %v, want 3 pages and no single read", calls.byType)
	}
}

// When the POST budget is spent, the next activity waits for a token, and the device says so.
func TestDeviceWaitsForApplesPostBudget(t *testing.T) {
	h := newFleetHarnessWith(t, true, activities.WorkerInfo{ApplePostPerHour: 1})
	calls := watchAppleCalls(h)
	devices := adeFleet(h, 2)
	results := map[string]DeviceResult{}
	h.env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, v converter.EncodedValue, err error) {
		if info.WorkflowType.Name == contract.DeviceWorkflowType && err == nil {
			var r DeviceResult
			_ = v.Get(&r)
			results[r.Serial] = r
		}
	})
	// One device at a time: the second reaches §5 after the first's POST took the hour's token.
	// A last, manual device keeps the fleet open until the second's completion has been seen.
	slow := h.add("SLOW00001", "manual", false, func(d *fakeDevice) { d.checkInEvery = 40 })
	p, err := h.runCoordinated(FleetInput{Devices: append(devices, slow), Window: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.ByState[OutcomeRemoved] != 3 || len(calls.posts) != 2 {
		t.Fatalf("by state %v, %d POSTs", p.ByState, len(calls.posts))
	}
	if gap := calls.posts[1].Sub(calls.posts[0]); gap < 59*time.Minute {
		t.Errorf("second POST %s after the first: the budget is one an hour", gap)
	}
	second := stepOf(results[devices[1].Request.Serial].Steps, procedure.ABMUnassign)
	if !strings.Contains(second.Note, "waiting for Apple's request budget: next activity at") {
		t.Errorf("the second device's abm-unassign does not say it waited for the budget: %q", second.Note)
	}
}

// A device alone reads its own assignment at pre-flight (one GET), not the server's list.
func TestCoordinatorReadsADeviceAloneOnItsOwn(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	var types []string
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		types = append(types, info.ActivityType.Name)
	})
	h.world.add("ALONE0001", "ade")
	res, err := h.run(procedure.Request{Serial: "ALONE0001", Enrollment: procedure.ADE, Wipe: true})
	if err != nil || res.Outcome != OutcomeRemoved {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if slices.Contains(types, "AssignedDevicesPage") || !slices.Contains(types, "AssignedServer") {
		t.Errorf("activities %v: a device alone is read on its own", types)
	}
	if h.world.unassignCount("ALONE0001") != 1 {
		t.Errorf("unassigned %d times", h.world.unassignCount("ALONE0001"))
	}
}

// While Apple's POST budget holds a batch, devices that join it are told of the wait, each once,
// however many of the batch were told before; the batch then goes as one activity.
func TestCoordinatorTellsLateDevicesOfTheBudgetWait(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(newQuietLogger(t))
	env := ts.NewTestWorkflowEnvironment()
	apple := newBatchApple()
	for _, s := range []string{"LATE00001", "LATE00002", "LATE00003"} {
		apple.assign(s, fakeServer)
	}
	env.RegisterWorkflow(AppleCoordinator)
	env.RegisterActivity(&activities.Apple{API: apple, ServerID: fakeServer})
	env.RegisterActivity(&activities.Signals{})
	env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{AppleConfigured: true, AppleServerID: fakeServer, ApplePostPerHour: 1, ConsoleSafetyNetPoll: fakeSafetyNet}})
	var notices []string
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", signalAppleAnswer, mock.Anything).Return(
		func(_, id, _, _ string, arg any) error {
			var a AppleAnswer
			if b, ok := arg.(json.RawMessage); ok {
				_ = json.Unmarshal(b, &a)
			}
			if a.Outcome == AppleBudgetWaiting {
				notices = append(notices, id)
			}
			return nil
		})
	ask := func(at time.Duration, serial string) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(signalAppleRequest, AppleRequest{Kind: AppleUnassign, Serial: serial, WorkflowID: "offboard-" + serial,
				RequestID: serial + "/1", Gather: 10 * time.Second, Poll: 30 * time.Second})
		}, at)
	}
	ask(0, "LATE00001")             // posted at once: the hour's one POST
	ask(time.Minute, "LATE00002")   // waits for the budget, and is told so
	ask(2*time.Minute, "LATE00003") // joins the waiting batch: told too, the first not again
	env.RegisterDelayedCallback(env.CancelWorkflow, 3*time.Hour)
	env.ExecuteWorkflow(AppleCoordinator, CoordinatorInput{})
	if err := env.GetWorkflowError(); err != nil && !temporal.IsCanceledError(err) {
		t.Fatalf("coordinator: %v", err)
	}
	slices.Sort(notices)
	if want := []string{"offboard-LATE00002", "offboard-LATE00003"}; !slices.Equal(notices, want) {
		t.Errorf("told of the budget wait: %v, want %v", notices, want)
	}
	if len(apple.posts) != 2 || len(apple.posts[1]) != 2 {
		t.Errorf("activities %v: want the first device's, then one of the two that waited", apple.posts)
	}
}

// An activity of many devices takes minutes: its polls back off, doubling up to eight Apple
// polls, so a slow activity costs a few of Apple's GETs, not one every poll interval.
func TestCoordinatorPollsBackOff(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(newQuietLogger(t))
	env := ts.NewTestWorkflowEnvironment()
	apple := newBatchApple()
	apple.readsToDone = 6
	apple.assign("SLOWACT01", fakeServer)
	env.RegisterWorkflow(AppleCoordinator)
	env.RegisterActivity(&activities.Apple{API: apple, ServerID: fakeServer})
	env.RegisterActivity(&activities.Signals{})
	env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{AppleConfigured: true, AppleServerID: fakeServer, ConsoleSafetyNetPoll: fakeSafetyNet}})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", signalAppleAnswer, mock.Anything).Return(nil)
	var reads []time.Time
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "ReadActivity" {
			reads = append(reads, env.Now())
		}
	})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(signalAppleRequest, AppleRequest{Kind: AppleUnassign, Serial: "SLOWACT01", WorkflowID: "offboard-SLOWACT01",
			RequestID: "SLOWACT01/1", Gather: time.Second, Poll: 30 * time.Second})
	}, 0)
	env.RegisterDelayedCallback(env.CancelWorkflow, 3*time.Hour)
	env.ExecuteWorkflow(AppleCoordinator, CoordinatorInput{})
	if len(reads) != 6 {
		t.Fatalf("%d reads of the activity, want 6 (it completes at the 6th)", len(reads))
	}
	for i, want := range []time.Duration{60, 120, 240, 240, 240} {
		if gap := reads[i+1].Sub(reads[i]); gap != want*time.Second {
			t.Errorf("poll %d came %s after the one before, want %s", i+2, gap, want*time.Second)
		}
	}
}
