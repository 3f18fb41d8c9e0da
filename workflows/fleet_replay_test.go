package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/offboard/offboard/internal/contract"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The fleet's own workflows (a fleet run after continue-as-new, its device list, and the Apple
// unassign batcher) recorded from the integration test's real run (go test ./integration
// -run TestFleetEndToEnd -update-histories) replay against today's code. The batched device's
// history (fleet-wipe-ade-batched.json) sits with the device histories and replays in
// TestReplayCommittedHistories.
func TestReplayFleetHistories(t *testing.T) {
	dir := filepath.Join("testdata", "histories", "fleet")
	for _, name := range []string{"fleet-retirement", "fleet-device-list", "apple-unassign-batcher"} {
		if _, err := os.Stat(filepath.Join(dir, name+".json")); err != nil {
			t.Errorf("no committed history %s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join("testdata", "histories", "fleet-wipe-ade-batched.json")); err != nil {
		t.Errorf("no committed history of a batched device: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			hist := loadHistory(t, f)
			r := worker.NewWorkflowReplayer()
			for _, wf := range []any{DeviceOffboarding, FleetRetirement, FleetDeviceList, AppleUnassignBatcher, AppleCoordinator} {
				r.RegisterWorkflow(wf)
			}
			opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: fleetExecution(t, hist)}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, opts); err != nil {
				t.Fatalf("replay of %s: %v", f, err)
			}
		})
	}
}

// fleetExecution names the workflow a history belongs to: the fleet checks its own ID.
func fleetExecution(t *testing.T, h *historypb.History) workflow.Execution {
	t.Helper()
	started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	exec := workflow.Execution{RunID: started.GetOriginalExecutionRunId()}
	dc := converter.GetDefaultDataConverter()
	switch typ := started.GetWorkflowType().GetName(); typ {
	case contract.FleetWorkflowType:
		var in FleetInput
		if err := dc.FromPayloads(started.GetInput(), &in); err != nil {
			t.Fatal(err)
		}
		exec.ID = contract.FleetWorkflowID(in.FleetID)
	case FleetDeviceListType:
		var in FleetDeviceListInput
		if err := dc.FromPayloads(started.GetInput(), &in); err != nil {
			t.Fatal(err)
		}
		exec.ID = FleetDeviceListID(in.FleetID)
	case BatcherWorkflowType:
		exec.ID = BatcherWorkflowID
	case CoordinatorWorkflowType:
		exec.ID = CoordinatorWorkflowID("replay", "replay") // the coordinator does not check its ID
	default:
		t.Fatalf("a history of %s among the fleet's", typ)
	}
	return exec
}
