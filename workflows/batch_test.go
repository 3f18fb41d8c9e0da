package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/procedure"
)

var slowApple = Timing{ApplePoll: 20 * time.Minute}

func adeFleet(h *fleetHarness, n int) []FleetDevice {
	var out []FleetDevice
	for i := range n {
		out = append(out, h.add(fmt.Sprintf("ADE%05d", i), "ade", false))
	}
	return out
}

func stepOf(steps []StepStatus, id procedure.StepID) StepStatus {
	for _, s := range steps {
		if s.ID == id {
			return s
		}
	}
	return StepStatus{}
}

// A device the batch's activity did not unassign (Apple's log says why) reads its own assignment
// and ends skipped with a warning; the others are unassigned; nobody is named twice.
func TestBatchPartialFailureIsMappedToEachDevice(t *testing.T) {
	h := newFleetHarness(t)
	devices := adeFleet(h, 4)
	h.apple.assign("ADE00002", "SOMEONE-ELSES-SERVER")
	// A slow device keeps the fleet open until every ADE device's completion has been seen here.
	slow := h.add("SLOW00001", "manual", false, func(d *fakeDevice) { d.checkInEvery = 40 })
	results := map[string]DeviceResult{}
	h.env.SetOnChildWorkflowCompletedListener(func(info *workflow.Info, v converter.EncodedValue, err error) {
		if info.WorkflowType.Name == contract.DeviceWorkflowType && err == nil {
			var r DeviceResult
			_ = v.Get(&r)
			results[r.Serial] = r
		}
	})
	p, err := h.run(FleetInput{Devices: append(devices, slow), Window: 5, Timing: slowApple})
	if err != nil {
		t.Fatal(err)
	}
	if p.ByState[OutcomeRemoved] != 5 {
		t.Fatalf("by state %v: want 5 removed", p.ByState)
	}
	if len(h.apple.posts) != 1 || len(h.apple.posts[0]) != 4 {
		t.Errorf("activities %v: want one of the 4 devices", h.apple.posts)
	}
	if h.apple.calls["log"] != 1 {
		t.Errorf("the activity log was read %d times, want once", h.apple.calls["log"])
	}
	for _, d := range devices {
		s := d.Request.Serial
		if n := h.apple.count(s); n != 1 {
			t.Errorf("%s named in %d activities", s, n)
		}
		step := stepOf(results[s].Steps, procedure.ABMUnassign)
		want := StateDone
		if s == "ADE00002" {
			want = StateSkipped
			warned := slices.ContainsFunc(results[s].Warnings, func(w string) bool { return strings.Contains(w, "it was not unassigned") })
			if !strings.Contains(step.Note, "NOT_ASSIGNED_TO_SERVER") || !warned {
				t.Errorf("%s: note %q, warnings %v: want the log's code and a warning", s, step.Note, results[s].Warnings)
			}
		}
		if step.State != want {
			t.Errorf("%s: abm-unassign %s (%s), want %s; result %+v", s, step.State, step.Note, want, results[s])
		}
	}
}

// A batch POST whose answer is lost after it took effect is not sent again: the devices wait
// until the activity that may exist has finished, read their assignment, and find it done.
func TestBatchAmbiguousPostNeverUnassignsTwice(t *testing.T) {
	h := newFleetHarness(t)
	devices := adeFleet(h, 3)
	h.apple.postFail = 1
	p, err := h.run(FleetInput{Devices: devices, Window: 3, Timing: slowApple})
	if err != nil {
		t.Fatal(err)
	}
	if p.ByState[OutcomeRemoved] != 3 {
		t.Fatalf("by state %v", p.ByState)
	}
	if len(h.apple.posts) != 1 {
		t.Errorf("%d POSTs, want the one whose answer was lost", len(h.apple.posts))
	}
	for _, d := range devices {
		if n := h.apple.count(d.Request.Serial); n != 1 {
			t.Errorf("%s named in %d activities, want 1", d.Request.Serial, n)
		}
	}
}

// A batch Apple refuses leaves each device to the single-device path: no device is lost.
func TestRefusedBatchFallsBackToSingleDevices(t *testing.T) {
	h := newFleetHarness(t)
	devices := adeFleet(h, 3)
	h.apple.refuseBatches = true
	p, err := h.run(FleetInput{Devices: devices, Window: 3, Timing: slowApple})
	if err != nil {
		t.Fatal(err)
	}
	if p.ByState[OutcomeRemoved] != 3 {
		t.Fatalf("by state %v", p.ByState)
	}
	for _, d := range devices {
		if n := h.apple.count(d.Request.Serial); n != 1 {
			t.Errorf("%s named in %d activities, want its own one", d.Request.Serial, n)
		}
	}
}

// The batcher continues as new with the activity it created (polled again, never posted again)
// and the devices still waiting.
func TestBatcherContinueAsNewCarriesItsActivities(t *testing.T) {
	apple := newBatchApple()
	apple.readsToDone = 3
	for _, s := range []string{"BAT00001", "BAT00002", "BAT00003"} {
		apple.assign(s, fakeServer)
	}
	var mu sync.Mutex // the test environment calls the signal mock from its own goroutines
	answered := map[string]UnassignResult{}
	newEnv := func() *testsuite.TestWorkflowEnvironment {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		env.RegisterWorkflow(AppleUnassignBatcher)
		env.RegisterActivityWithOptions(&activities.Apple{API: apple, ServerID: fakeServer, HoldCap: time.Millisecond}, activity.RegisterOptions{})
		env.RegisterActivity(&activities.Signals{Sender: senderFunc(func(workflowID, name string, arg any) error {
			var r UnassignResult
			if err := json.Unmarshal(arg.(json.RawMessage), &r); err != nil || name != signalUnassignResult || workflowID != contract.DeviceWorkflowID(r.Serial) {
				return fmt.Errorf("answer %s to %s: %v", name, workflowID, err)
			}
			mu.Lock()
			defer mu.Unlock()
			answered[r.Serial] = r
			return nil
		})})
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: BatcherWorkflowID})
		return env
	}
	req := func(s string) UnassignRequest {
		return UnassignRequest{Serial: s, WorkflowID: contract.DeviceWorkflowID(s), RequestID: s + "/1", Gather: time.Minute, Poll: time.Minute}
	}
	in := BatcherInput{Pending: []UnassignRequest{req("BAT00001"), req("BAT00002"), req("BAT00003")}, MaxBatch: 2, MaxBatchesPerRun: 1}

	env := newEnv()
	env.ExecuteWorkflow(AppleUnassignBatcher, in)
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("first run ended with %v, want a continue-as-new", env.GetWorkflowError())
	}
	var next BatcherInput
	if err := converterFromPayloads(can, &next); err != nil {
		t.Fatal(err)
	}
	if len(next.InFlight) != 1 || next.InFlight[0].ActivityID != "batch-1" || len(next.InFlight[0].Requests) != 2 {
		t.Fatalf("carried in flight: %+v, want batch-1 of 2 devices", next.InFlight)
	}
	if len(next.Pending) != 1 || next.Pending[0].Serial != "BAT00003" || next.Totals.Batches != 1 {
		t.Fatalf("carried pending %+v totals %+v", next.Pending, next.Totals)
	}

	// The next run polls batch-1 and sends the rest as batch-2; it runs until cancelled.
	next.MaxBatchesPerRun = 0
	env = newEnv()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(AppleUnassignBatcher, next)
	if !env.IsWorkflowCompleted() {
		t.Fatal("second run did not end")
	}
	if len(apple.posts) != 2 || apple.count("BAT00001") != 1 || apple.count("BAT00002") != 1 {
		t.Errorf("posts %v: batch-1 must not be posted again", apple.posts)
	}
	for s, act := range map[string]string{"BAT00001": "batch-1", "BAT00002": "batch-1", "BAT00003": "batch-2"} {
		if r := answered[s]; r.Outcome != UnassignDone || r.ActivityID != act || r.RequestID != s+"/1" {
			t.Errorf("%s answered %+v: want unassigned by %s", s, r, act)
		}
	}
}

// senderFunc records the batcher's answers (activities.Signals) without a workflow to receive them.
type senderFunc func(workflowID, name string, arg any) error

func (f senderFunc) SignalWorkflow(_ context.Context, workflowID, _, name string, arg any) error {
	return f(workflowID, name, arg)
}
