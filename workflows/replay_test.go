package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/internal/contract"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/offboard/offboard/internal/procedure"
)

// Histories recorded from real runs against the dev server (go test ./integration
// -update-histories) are replayed against today's code: a change that would break a running
// workflow fails here, before it reaches a worker.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[strings.TrimSuffix(filepath.Base(f), ".json")] = true
	}
	// Every cell of the matrix, with both wipe methods, has a history.
	for _, e := range procedure.Enrollments {
		for _, name := range []string{"keep-" + string(e), "wipe-" + string(e) + "-console", "wipe-" + string(e) + "-device"} {
			if !have["path-"+name] {
				t.Errorf("no committed history for path %s", name)
			}
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			hist := loadHistory(t, f)
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(DeviceOffboarding)
			// The workflow checks its ID is offboard-<SERIAL>: replay under the original ID.
			opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflowExecution(t, hist)}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, opts); err != nil {
				t.Fatalf("replay of %s: %v", f, err)
			}
		})
	}
}

func loadHistory(t *testing.T, file string) *historypb.History {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var h historypb.History
	if err := protojson.Unmarshal(b, &h); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &h
}

func workflowExecution(t *testing.T, h *historypb.History) workflow.Execution {
	t.Helper()
	started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	var in DeviceInput
	if err := converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	return workflow.Execution{ID: contract.DeviceWorkflowID(in.Request.Serial), RunID: started.GetOriginalExecutionRunId()}
}
