package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
)

// The watcher follows the feed from its cursor, wakes exactly the devices a batch names (a
// device not running is reported gone and skipped), and after RunLength batches continues as new
// with the cursor it reached.
func TestConsoleWatcherWakesExactlyTheChangedDevices(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(newQuietLogger(t))
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(ConsoleWatcher)
	env.RegisterActivity(&activities.Console{})
	env.RegisterActivity(&activities.Signals{})

	batches := []activities.FollowResult{
		{Cursor: "e.5", Serials: []string{"A1", "B2"}, Changes: 7, Requests: 2},
		{Cursor: "e.9", Changes: 4, Requests: 1}, // check-ins only: nobody to wake
		{Cursor: "e.12", Serials: []string{"C3"}, Changes: 1, Requests: 1},
	}
	var cursors []string
	env.OnActivity("FollowChanges", mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FollowInput) (activities.FollowResult, error) {
		cursors = append(cursors, in.Cursor)
		if len(cursors) > len(batches) {
			return activities.FollowResult{}, errors.New("read past the run's length")
		}
		return batches[len(cursors)-1], nil
	})
	var woken [][]string
	env.OnActivity("SignalWorkflows", mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendInput) (activities.SendReport, error) {
		if in.Name != contract.SignalDeviceEvent {
			t.Errorf("signal %q, want %s", in.Name, contract.SignalDeviceEvent)
		}
		var ids []string
		report := activities.SendReport{}
		for _, s := range in.Signals {
			ids = append(ids, s.WorkflowID)
			var ev DeviceEvent
			if err := json.Unmarshal(s.Arg, &ev); err != nil || ev.Event != contract.EventConsoleChanged {
				t.Errorf("signal to %s carries %s (%v), want a device event", s.WorkflowID, s.Arg, err)
			}
			if s.WorkflowID == contract.DeviceWorkflowID("B2") {
				report.Gone = append(report.Gone, s.WorkflowID) // B2's workflow does not run
			} else {
				report.Told++
			}
		}
		woken = append(woken, ids)
		return report, nil
	})

	next := watchUntilContinueAsNew(t, env, WatcherInput{Cursor: "e.1", RunLength: 3})
	if !slices.Equal(cursors, []string{"e.1", "e.5", "e.9"}) {
		t.Errorf("the feed was read from %v, want each batch from the cursor the last one reached", cursors)
	}
	want := [][]string{{"offboard-A1", "offboard-B2"}, {"offboard-C3"}}
	if len(woken) != len(want) || !slices.Equal(woken[0], want[0]) || !slices.Equal(woken[1], want[1]) {
		t.Errorf("woken %v, want %v: exactly the devices that changed, none for a batch of check-ins", woken, want)
	}
	if next.Cursor != "e.12" || next.RunLength != 3 {
		t.Errorf("the next run starts from %q (run length %d), want e.12", next.Cursor, next.RunLength)
	}
	tot := next.Totals
	if tot.Runs != 1 || tot.Batches != 3 || tot.Woken != 2 || tot.Gone != 1 || tot.Changes != 12 || tot.Requests != 4 {
		t.Errorf("totals %+v, want 1 run, 3 batches, 2 woken, 1 gone, 12 changes, 4 requests", tot)
	}
}

// A console without a feed stops the watcher with the reason; nothing is signalled.
func TestConsoleWatcherStopsWithoutAFeed(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(newQuietLogger(t))
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(ConsoleWatcher)
	env.RegisterActivity(&activities.Console{API: newFakeWorld()}) // the fake serves no feed
	env.RegisterActivity(&activities.Signals{})
	signalled := false
	env.OnActivity("SignalWorkflows", mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.SendInput) (activities.SendReport, error) {
		signalled = true
		return activities.SendReport{}, nil
	})
	env.ExecuteWorkflow(ConsoleWatcher, WatcherInput{})
	if err := env.GetWorkflowError(); err == nil || !activities.IsType(err, activities.ErrNoFeed) {
		t.Errorf("err %v, want %s", err, activities.ErrNoFeed)
	}
	if signalled {
		t.Error("a watcher without a feed signalled devices")
	}
}

// After the feed lost changes (a 410) the watcher wakes every device that waits on its device,
// listed from visibility, and follows on from the cursor the 410 gave; before
// watcher-wakes-after-gap it only counted the gap, and the devices waited for their safety net.
func TestConsoleWatcherWakesTheWaitingAfterTheFeedLostChanges(t *testing.T) {
	for _, c := range []struct {
		name string
		old  bool
	}{{"version 1", false}, {"before it", true}} {
		t.Run(c.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			ts.SetLogger(newQuietLogger(t))
			env := ts.NewTestWorkflowEnvironment()
			env.RegisterWorkflow(ConsoleWatcher)
			env.RegisterActivity(&activities.Console{})
			env.RegisterActivity(&activities.Signals{})
			if c.old {
				env.OnGetVersion(changeWakeAfterGap, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			batches := []activities.FollowResult{{Cursor: "e2.0", Expired: true, Requests: 1}, {Cursor: "e2.4", Changes: 1, Requests: 1}}
			var cursors []string
			env.OnActivity("FollowChanges", mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FollowInput) (activities.FollowResult, error) {
				cursors = append(cursors, in.Cursor)
				return batches[len(cursors)-1], nil
			})
			var listed []activities.WakeInput
			env.OnActivity("SignalListed", mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.WakeInput) (activities.WakeReport, error) {
				listed = append(listed, in)
				return activities.WakeReport{Listed: 3, Told: 2, Gone: 1}, nil
			})
			next := watchUntilContinueAsNew(t, env, WatcherInput{Cursor: "e1.9", RunLength: 2})
			if !slices.Equal(cursors, []string{"e1.9", "e2.0"}) || next.Cursor != "e2.4" || next.Totals.Expired != 1 {
				t.Errorf("read from %v, next run from %q, %d expired: want e1.9 then the 410's e2.0, one gap", cursors, next.Cursor, next.Totals.Expired)
			}
			if c.old {
				if len(listed) != 0 || next.Totals.GapWoken != 0 {
					t.Errorf("before the change the watcher woke %v (%d)", listed, next.Totals.GapWoken)
				}
				return
			}
			if len(listed) != 1 {
				t.Fatalf("devices listed and woken %d times after one gap, want once", len(listed))
			}
			in := listed[0]
			var ev DeviceEvent
			if err := json.Unmarshal(in.Arg, &ev); err != nil || in.Name != contract.SignalDeviceEvent || ev.Event != contract.EventConsoleChanged {
				t.Errorf("woken with %s %s (%v), want a device event", in.Name, in.Arg, err)
			}
			for _, want := range []string{"WorkflowType = 'DeviceOffboarding'", "ExecutionStatus = 'Running'", "WaitingOn = 'device'"} {
				if !strings.Contains(in.Query, want) {
					t.Errorf("query %q does not ask for %s", in.Query, want)
				}
			}
			if next.Totals.GapWoken != 2 || next.Totals.Gone != 1 {
				t.Errorf("totals %+v, want 2 woken after the gap, 1 gone", next.Totals)
			}
		})
	}
}

// watchUntilContinueAsNew runs the watcher from in until it continues as new after its
// RunLength batches, and returns the next run's input.
func watchUntilContinueAsNew(t *testing.T, env *testsuite.TestWorkflowEnvironment, in WatcherInput) WatcherInput {
	t.Helper()
	env.ExecuteWorkflow(ConsoleWatcher, in)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("the run ended with %v, want a continue-as-new after %d batches", err, in.RunLength)
	}
	var next WatcherInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

func TestConsoleWatcherIDNamesTheEndpointWithoutSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8088":                "console-watcher-127.0.0.1-8088",
		"https://console.example.com/adapter/": "console-watcher-console.example.com-adapter",
	} {
		if got := ConsoleWatcherWorkflowID(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
