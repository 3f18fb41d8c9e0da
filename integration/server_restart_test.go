package integration

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

// A fleet of 18 devices while the Temporal server itself (not the worker) is killed with SIGKILL
// and started again, three times, at three points of the fleet: every device reaches its outcome,
// each device ran in one workflow execution, and the simulator's ledger shows no destructive
// command taken on twice and one Apple unassign per ADE device. It needs a server it may kill: the
// one scripts/cluster.sh runs (make test-cluster), named by OFFBOARD_TEST_TEMPORAL_ADDRESS.
func TestFleetSurvivesServerRestart(t *testing.T) {
	if serverAddress == "" {
		t.Skip("kills the Temporal server: runs against scripts/cluster.sh's server only (make test-cluster)")
	}
	const n = 18
	prefix := fmt.Sprintf("SR%05d", time.Now().UnixNano()%100000)
	fleetID := "server-restart-" + prefix
	rows := fleetDevices(t, prefix, n)

	timing := fastTiming
	timing.ApplePoll = 500 * time.Millisecond
	// A device whose waits are cut off by the restarts must not reach the check-in deadline, which
	// hands it to an operator: this test has none.
	timing.CheckInDeadline = 10 * time.Minute
	run := startFleet(t, workflows.FleetInput{FleetID: fleetID, Devices: rows, Window: 6, Timing: timing,
		CensusEvery: time.Second, PageSize: 6, MaxStartsPerRun: 7, RequestedBy: "server restart test"})

	// Kill once devices run, again when a third has finished, and again at two thirds.
	for i, done := range []int{0, n / 3, 2 * n / 3} {
		p := waitProgressThroughRestarts(t, fleetID, func(p workflows.FleetProgress) bool {
			return p.ByState[workflows.FleetDeviceRunning] > 0 && p.Finished >= done
		})
		if p.State == workflows.FleetFinished {
			t.Fatalf("kill %d: the fleet had finished already: %+v", i+1, p)
		}
		t.Logf("kill %d: %d finished, %v", i+1, p.Finished, p.ByState)
		restartServer(t)
	}

	p := fleetResultThroughRestarts(t, run, 8*time.Minute)
	t.Logf("fleet %v in %d runs", p.ByState, p.Runs)
	if p.State != workflows.FleetFinished || p.ByState[workflows.OutcomeRemoved] != n || p.Total != n {
		t.Fatalf("fleet result %+v: want all %d removed", p, n)
	}
	for _, r := range rows {
		id := contract.DeviceWorkflowID(r.Request.Serial)
		desc, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			t.Errorf("%s: %v", id, err)
		} else if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Errorf("%s is %s, want completed", id, st)
		}
		if runs := executionsOf(t, id); runs != 1 {
			t.Errorf("%s ran in %d executions, want 1", id, runs)
		}
		counts := assertLedger(t, r.Request.Serial)
		want := 0
		if r.Request.Enrollment.IsADE() {
			want = 1
		}
		if counts["UNASSIGN_DEVICES"] != want {
			t.Errorf("%s: UNASSIGN_DEVICES accepted %d times, want %d", r.Request.Serial, counts["UNASSIGN_DEVICES"], want)
		}
	}
}

// restartServer kills the Temporal server with SIGKILL and starts it again, through
// scripts/cluster.sh (CLUSTER_DIR and the ports come from the environment, as make test-cluster
// sets them); the script returns once a workflow can be started and listed again.
func restartServer(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "../scripts/cluster.sh", "restart-server").CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/cluster.sh restart-server: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// waitProgressThroughRestarts polls the progress query until ok says so; a query that fails (the
// server or the workers are coming back) is tried again.
func waitProgressThroughRestarts(t *testing.T, fleetID string, ok func(workflows.FleetProgress) bool) workflows.FleetProgress {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last workflows.FleetProgress
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := tc.QueryWorkflow(ctx, contract.FleetWorkflowID(fleetID), "", contract.QueryProgress)
		cancel()
		if err == nil {
			err = v.Get(&last)
		}
		lastErr = err
		if err == nil && (ok(last) || last.State == workflows.FleetFinished) {
			return last
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("fleet %s: progress never came (last %+v, error %v)", fleetID, last, lastErr)
	return last
}

// fleetResultThroughRestarts waits for the fleet's result, asking again when the wait is cut off.
func fleetResultThroughRestarts(t *testing.T, run client.WorkflowRun, timeout time.Duration) workflows.FleetProgress {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		var p workflows.FleetProgress
		err := run.Get(ctx, &p)
		cancel()
		if err == nil {
			return p
		}
		var ended *temporal.WorkflowExecutionError
		if errors.As(err, &ended) || time.Now().After(deadline) {
			t.Fatalf("fleet result: %v", err)
		}
		t.Logf("waiting for the fleet's result: %v", err)
		time.Sleep(time.Second)
	}
}

// executionsOf counts the executions of a workflow ID in visibility, waiting briefly for the
// last ones to be recorded.
func executionsOf(t *testing.T, workflowID string) int64 {
	t.Helper()
	var n int64
	for range 20 {
		resp, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", workflowID),
		})
		if err != nil {
			t.Fatalf("count %s: %v", workflowID, err)
		}
		n = resp.GetCount()
		if n >= 1 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	return n
}
