package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

func uniqueSerial(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%10000000)
}

func result(t *testing.T, run client.WorkflowRun) workflows.DeviceResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.DeviceResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("%s: %v", run.GetID(), err)
	}
	return res
}

func stateOf(res workflows.DeviceResult, id procedure.StepID) string {
	for _, s := range res.Steps {
		if s.ID == id {
			return s.State
		}
	}
	return "absent"
}

// The cautions and error branches of §4, each through the real stack.
func TestCautionsAndBranchesEndToEnd(t *testing.T) {
	cases := []struct {
		name    string
		enroll  string
		wipe    bool
		mutate  func(*simulator.DeviceSpec)
		steps   []procedure.StepID // must end done
		history string
		ordered bool // the steps run one after the other, in this order
	}{
		{"VPP license left", "manual", true, func(s *simulator.DeviceSpec) { s.VPPLicenses = 3 },
			[]procedure.StepID{procedure.RefreshLicenseCounts, procedure.RevokeVPPLicenses, procedure.DeleteGreyedOutRecord}, "branch-vpp-left", false},
		{"certificates left", "ade", true, func(s *simulator.DeviceSpec) { s.Certificates = 2; s.VPPLicenses = 0 },
			[]procedure.StepID{procedure.RemoveCertificates, procedure.DeleteGreyedOutRecord}, "branch-certificates-left", false},
		// From plan-order-after-preflight version 1, lost mode found at pre-flight is turned off
		// where the plan puts it: before the user's step, or before the delete of 4-1.
		{"lost mode, keep/ade", "ade", false, func(s *simulator.DeviceSpec) { s.LostMode = true },
			[]procedure.StepID{procedure.DisableLostMode, procedure.UserRemoveMDMProfile, procedure.DeleteGreyedOutRecord}, "branch-lost-mode-keep-ade-v1", true},
		{"lost mode, keep/manual", "manual", false, func(s *simulator.DeviceSpec) { s.LostMode = true },
			[]procedure.StepID{procedure.DisableLostMode, procedure.UserRemoveMDMProfile, procedure.DeleteGreyedOutRecord}, "branch-lost-mode-keep-manual-v1", true},
		{"lost mode, keep/ade-restricted", "ade-restricted", false, func(s *simulator.DeviceSpec) { s.LostMode = true },
			[]procedure.StepID{procedure.DisableLostMode, procedure.DeleteManagedRecord}, "branch-lost-mode-keep-ade-restricted-v1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			serial := uniqueSerial("BR")
			spec := quick(simulator.DeviceSpecFor(serial, tc.enroll))
			tc.mutate(&spec)
			run := startDevice(t, device{name: tc.name, spec: spec,
				req: procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(tc.enroll), Wipe: tc.wipe}})
			res := result(t, run)
			for _, id := range tc.steps {
				if stateOf(res, id) != workflows.StateDone {
					t.Errorf("%s: %s", id, stateOf(res, id))
				}
			}
			if tc.ordered {
				assertInOrder(t, res, tc.steps)
			}
			for _, e := range world.Sim.Ledger(serial) {
				if e.Source == simulator.SourceUser && e.Outcome == simulator.OutcomeRefused {
					t.Errorf("%s: the device's user could not %s (%s): %s", serial, e.Kind, e.Code, e.Detail)
				}
			}
			assertLedger(t, serial)
			saveHistory(t, run.GetID(), tc.history)
		})
	}
}

// assertInOrder checks that each step ended before the next one began.
func assertInOrder(t *testing.T, res workflows.DeviceResult, ids []procedure.StepID) {
	t.Helper()
	byID := map[procedure.StepID]workflows.StepStatus{}
	for _, s := range res.Steps {
		byID[s.ID] = s
	}
	for i := 1; i < len(ids); i++ {
		prev, next := byID[ids[i-1]], byID[ids[i]]
		if prev.EndedAt == nil || next.StartedAt == nil || next.StartedAt.Before(*prev.EndedAt) {
			t.Errorf("%s must end before %s starts: %s ended %v, %s started %v", ids[i-1], ids[i], ids[i-1], prev.EndedAt, ids[i], next.StartedAt)
		}
	}
}

// Devices that need a person are found by visibility: Work Smart and a VPP license Apple keeps
// wait on vendor support, a device that never checks in on an operator at its deadline.
func TestDevicesThatNeedAPersonAreVisible(t *testing.T) {
	workSmart, stuck, never := uniqueSerial("WS"), uniqueSerial("VS"), uniqueSerial("NV")
	ws := quick(simulator.DeviceSpecFor(workSmart, "ade-restricted"))
	ws.WorkSmart = true
	vs := quick(simulator.DeviceSpecFor(stuck, "manual"))
	vs.VPPStuck = true
	nv := simulator.DeviceSpecFor(never, "ade")
	nv.CheckInEvery = simulator.Never
	runs := []client.WorkflowRun{
		startDevice(t, device{name: "work smart", spec: ws, req: procedure.Request{Serial: workSmart, Enrollment: procedure.ADERestricted}}),
		startDevice(t, device{name: "vpp stuck", spec: vs, req: procedure.Request{Serial: stuck, Enrollment: procedure.Manual, Wipe: true}}),
	}
	// The never-checking device gets a short deadline so the test sees the hand-over.
	plan, _ := procedure.Plan(procedure.Request{Serial: never, Enrollment: procedure.ADE})
	if err := world.Sim.AddDevices(nv); err != nil {
		t.Fatal(err)
	}
	timing := fastTiming
	timing.CheckInDeadline = 3 * time.Second
	run, err := tc.ExecuteWorkflow(context.Background(), startOptions(never, plan.Path), contract.DeviceWorkflowType,
		workflows.DeviceInput{Request: procedure.Request{Serial: never, Enrollment: procedure.ADE}, Confirmed: true, Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	runs = append(runs, run)
	want := map[string]string{workSmart: "vendor-support", stuck: "vendor-support", never: "operator"}
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := map[string]string{}
		for serial := range want {
			st := status(t, serial)
			got[serial] = string(st.WaitingOn)
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting on: got %v, want %v", got, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Visibility (what `temporal workflow list --query "WaitingOn='operator'"` reads) agrees.
	if !listed(t, "WaitingOn = 'operator'", contract.DeviceWorkflowID(never)) {
		t.Errorf("visibility does not list %s as waiting on an operator", never)
	}
	if !listed(t, "WaitingOn = 'vendor-support'", contract.DeviceWorkflowID(workSmart), contract.DeviceWorkflowID(stuck)) {
		t.Errorf("visibility does not list the vendor-support devices")
	}
	if n := simulator.CountLedger(world.Sim.Ledger(workSmart), console.CmdDeleteDevice, simulator.OutcomeAccepted); n != 0 {
		t.Errorf("a Work Smart device was deleted %d times", n)
	}
	assertLedger(t, stuck)
	// Cancelled, each records where it stopped; the histories feed the replay test.
	for i, name := range []string{"branch-work-smart", "branch-vpp-stuck", "branch-never-checks-in"} {
		if err := tc.CancelWorkflow(context.Background(), runs[i].GetID(), ""); err != nil {
			t.Fatal(err)
		}
		if err := runs[i].Get(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "cancel") {
			t.Errorf("%s: want cancelled, got %v", runs[i].GetID(), err)
		}
		saveHistory(t, runs[i].GetID(), name)
	}
}

func status(t *testing.T, serial string) workflows.DeviceStatus {
	t.Helper()
	v, err := tc.QueryWorkflow(context.Background(), contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
	if err != nil {
		t.Fatalf("status of %s: %v", serial, err)
	}
	var st workflows.DeviceStatus
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// listed polls visibility, which is eventually consistent, until every wanted workflow ID is
// listed by the query, for up to ten seconds.
func listed(t *testing.T, query string, want ...string) bool {
	t.Helper()
	for i := 0; i < 50; i++ {
		resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range resp.GetExecutions() {
			got[e.GetExecution().GetWorkflowId()] = true
		}
		all := true
		for _, id := range want {
			all = all && got[id]
		}
		if all {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}
