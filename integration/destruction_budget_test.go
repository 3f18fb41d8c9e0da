package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/internal/stack"
	"github.com/offboard/offboard/internal/workerapp"
	"github.com/offboard/offboard/workflows"
)

// The destruction budget across two workers and restarts: a console of its own (a second
// simulator, so its budget holder is its own) with a budget of 3 in 10 minutes, and two worker
// instances polling the same queues. Four devices on the console-wipe path want 8 destructive
// commands (an EraseDevice and a delete each): the console takes exactly 3, and every device not
// removed by then waits with WaitingOn=approval. Both workers are replaced (their caches and in-flight work lost)
// while the devices wait; the person who started them cannot approve; a second person approves
// each held step in turn until every device is removed. The ledger shows each device's commands
// once each, the console took no more than the budget before the first approval, and each
// approval let exactly one command through.
func TestDestructionBudgetHoldsAcrossWorkersAndRestarts(t *testing.T) {
	const budget, n = 3, 4
	dir := t.TempDir()
	own, err := stack.Start(stack.Options{TimeScale: 3600, Dir: dir, ReappearAfter: 14 * 24 * time.Hour,
		DestructiveBudget: budget, DestructiveBudgetWindow: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	// The suite's workers serve the suite's simulator: they leave the queues to this console's.
	world.StopWorkers()
	defer func() {
		if err := world.StartWorkers(tc); err != nil {
			t.Errorf("restart the suite's workers: %v", err)
		}
	}()
	workers := []func(){startBudgetWorker(t, own), startBudgetWorker(t, own)}
	defer func() {
		for _, stop := range workers {
			stop()
		}
	}()

	prefix := fmt.Sprintf("DB%05d", time.Now().UnixNano()%100000)
	var serials []string
	for i := range n {
		serial := fmt.Sprintf("%s%03d", prefix, i)
		serials = append(serials, serial)
		spec := quick(simulator.DeviceSpecFor(serial, "manual"))
		spec.VPPLicenses = 0 // no license branch: two destructive commands a device, each accepted
		if err := own.Sim.AddDevices(spec); err != nil {
			t.Fatal(err)
		}
		req := procedure.Request{Serial: serial, Enrollment: procedure.Manual, Wipe: true, WipeMethod: procedure.WipeConsole}
		plan, err := procedure.Plan(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tc.ExecuteWorkflow(context.Background(), startOptions(serial, plan.Path), contract.DeviceWorkflowType,
			workflows.DeviceInput{Request: req, Confirmed: true, RequestedBy: "alice", Contact: "user@example.com", Timing: fastTiming})
		if err != nil {
			t.Fatal(err)
		}
	}
	// One worker is replaced as soon as the first command went through.
	budgetWaitUntil(t, "the first destructive command", func() bool { return destructiveTaken(own, serials) > 0 })
	workers[0]()
	workers[0] = startBudgetWorker(t, own)

	// Settled: every device is removed (both its commands granted) or waits on approval.
	budgetWaitUntil(t, "every device removed or waiting on approval", func() bool {
		removed := 0
		for _, s := range serials {
			if budgetDeviceStatus(t, s).Outcome == workflows.OutcomeRemoved {
				removed++
			}
		}
		return removed+len(budgetHeldDevices(t, serials)) == n
	})
	if got := destructiveTaken(own, serials); got != budget {
		t.Fatalf("the console took %d destructive commands before any approval, want the budget's %d", got, budget)
	}
	// Both workers go, and two new ones take over the waiting devices from their histories.
	for i, stop := range workers {
		stop()
		workers[i] = startBudgetWorker(t, own)
	}

	held := budgetHeldDevices(t, serials)
	if err := budgetApprove(held[0], workflows.Approval{By: "alice"}); err == nil || !strings.Contains(err.Error(), "second person") {
		t.Errorf("the starter's own approval of %s: %v, want it refused", held[0], err)
	}
	approvals := 0
	for deadline := time.Now().Add(3 * time.Minute); ; {
		removed := 0
		for _, s := range serials {
			if st := budgetDeviceStatus(t, s); st.Outcome == workflows.OutcomeRemoved {
				removed++
			}
		}
		if removed == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d devices removed after %d approvals", removed, n, approvals)
		}
		for _, s := range budgetHeldDevices(t, serials) {
			before := destructiveTaken(own, serials)
			if err := budgetApprove(s, workflows.Approval{By: "bob", Note: "checked against the HR list"}); err != nil {
				t.Fatalf("bob's approval of %s: %v", s, err)
			}
			approvals++
			budgetWaitUntil(t, "the approved command of "+s, func() bool { return destructiveTaken(own, serials) > before })
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got, want := destructiveTaken(own, serials), 2*n; got != want || approvals != want-budget {
		t.Errorf("%d destructive commands taken after %d approvals: want %d, and %d approvals", got, approvals, want, want-budget)
	}
	for _, s := range serials {
		entries := own.Sim.Ledger(s)
		for _, kind := range []string{console.CmdEraseDevice, console.CmdPurgeDevice} {
			if c := simulator.CountLedger(entries, kind, simulator.OutcomeAccepted); c != 1 {
				t.Errorf("%s: %s accepted %d times, want once", s, kind, c)
			}
		}
		st := budgetDeviceStatus(t, s)
		approved := 0
		for _, g := range st.Destruction {
			if g.ApprovedBy == "bob" {
				approved++
			}
		}
		if len(st.Destruction) != 2 {
			t.Errorf("%s: budget decisions %+v, want the wipe's and the delete's", s, st.Destruction)
		}
		// Histories for the replay test, by how many of the device's commands a person approved (0:
		// both granted by the budget); a name already committed is kept.
		saveHistory(t, contract.DeviceWorkflowID(s), fmt.Sprintf("budget-wipe-manual-console-approved-%d", approved))
	}
}

// startBudgetWorker starts one more worker instance of the stack's configuration (its own activities
// and clients) on the suite's server, polling the same queues as the others; it returns its stop.
func startBudgetWorker(t *testing.T, s *stack.Stack) func() {
	t.Helper()
	cfg := s.WorkerConfig()
	acts, err := workerapp.NewActivities(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := workerapp.Start(tc, acts, workerapp.OptionsFrom(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return stop
}

// destructiveTaken counts the wipes and deletes the console accepted for the serials.
func destructiveTaken(s *stack.Stack, serials []string) int {
	n := 0
	for _, serial := range serials {
		entries := s.Sim.Ledger(serial)
		for _, kind := range []string{console.CmdEraseDevice, console.CmdDeleteDevice, console.CmdPurgeDevice} {
			n += simulator.CountLedger(entries, kind, simulator.OutcomeAccepted)
		}
	}
	return n
}

func budgetDeviceStatus(t *testing.T, serial string) workflows.DeviceStatus {
	t.Helper()
	var st workflows.DeviceStatus
	for range 50 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := tc.QueryWorkflow(ctx, contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
		cancel()
		if err == nil && v.Get(&st) == nil {
			return st
		}
		time.Sleep(200 * time.Millisecond) // a worker is starting: the query waits for one
	}
	t.Fatalf("status of %s never came", serial)
	return st
}

// budgetHeldDevices are the serials whose device waits on approval.
func budgetHeldDevices(t *testing.T, serials []string) []string {
	var out []string
	for _, s := range serials {
		if budgetDeviceStatus(t, s).WaitingOn == procedure.PartyApproval {
			out = append(out, s)
		}
	}
	return out
}

func budgetApprove(serial string, a workflows.Approval) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: contract.DeviceWorkflowID(serial),
		UpdateName: contract.UpdateApprove, Args: []any{a}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return err
	}
	return h.Get(ctx, nil)
}

func budgetWaitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never came: %s", what)
		}
	}
}
