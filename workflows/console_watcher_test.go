package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
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

	env.ExecuteWorkflow(ConsoleWatcher, WatcherInput{Cursor: "e.1", RunLength: 3})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("the run ended with %v, want a continue-as-new after 3 batches", err)
	}
	var next WatcherInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
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
