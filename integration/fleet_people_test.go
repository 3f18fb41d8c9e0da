package integration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// A 200-device fleet in operator mode, on the real server: 133 wipes, so it waits for a second
// person (the one who started it is refused), and no device starts until then. A scripted person
// reports every per-device step device by device, and the deletes once for all: one fleet
// update for 4-2 and one for 4-1 (CLOMO PANEL's multi-select). Every device ends removed, as
// procedure.md prescribes for its path, each with its own audit entry; the device excepted with
// certificates-remain goes to remove-certificates and deletes again (procedure.md 4-2).
func TestFleetOfPeopleInOneGo(t *testing.T) {
	const n = 200
	prefix := fmt.Sprintf("FP%05d", time.Now().UnixNano()%100000)
	fleetID := "people-" + prefix
	rows := fleetDevices(t, prefix, n)
	var serials, managed, greyed []string
	wipes, ade := 0, 0
	for _, r := range rows {
		s := r.Request.Serial
		serials = append(serials, s)
		plan, err := procedure.Plan(r.Request)
		if err != nil {
			t.Fatal(err)
		}
		// procedure.md: keep on ade-restricted deletes the managed record (4-1); every other path
		// deletes the greyed-out record (4-2).
		if !r.Request.Wipe && r.Request.Enrollment == procedure.ADERestricted {
			managed = append(managed, s)
		} else {
			greyed = append(greyed, s)
		}
		if !plan.Has(procedure.DeleteManagedRecord) && !plan.Has(procedure.DeleteGreyedOutRecord) {
			t.Fatalf("%s: plan %v deletes nothing", s, plan.Steps)
		}
		if r.Request.Wipe {
			wipes++
		}
		if r.Request.Enrollment.IsADE() {
			ade++
		}
	}
	exception := greyed[0]
	timing := fastTiming
	timing.CheckInDeadline, timing.OperatorReminder, timing.UserReminders = time.Hour, time.Hour, []time.Duration{time.Hour}
	run := startFleet(t, workflows.FleetInput{FleetID: fleetID, Devices: rows, Window: n, ConsoleMode: contract.ModeOperator,
		StartedBy: "lead-op", RequestedBy: "integration", Timing: timing, CensusEvery: -1})
	ctx := context.Background()

	// The second person.
	p := waitProgress(t, fleetID, "waited for approval", func(p workflows.FleetProgress) bool { return p.State == workflows.FleetStateAwaitingApproval })
	if p.WaitingOn != string(contract.WaitingOnApproval) || p.Approval == nil || p.Approval.Wipes != wipes || p.ByState[workflows.FleetDeviceRunning] != 0 {
		t.Fatalf("awaiting approval: %+v", p)
	}
	waitVisible(t, fmt.Sprintf("WorkflowId = '%s' AND WaitingOn = 'approval'", contract.FleetWorkflowID(fleetID)))
	time.Sleep(time.Second)
	if _, err := tc.DescribeWorkflowExecution(ctx, contract.DeviceWorkflowID(serials[0]), ""); !isNotFound(err) {
		t.Fatalf("a device started before the approval: %v", err)
	}
	if _, err := workflows.ApproveFleet(ctx, tc, fleetID, "Lead-Op", ""); err == nil || !strings.Contains(err.Error(), "second person") {
		t.Fatalf("the starter approving their own fleet: %v, want refused", err)
	}
	if _, err := workflows.ApproveFleet(ctx, tc, fleetID, "second-op", "checked against the HR list"); err != nil {
		t.Fatalf("approval: %v", err)
	}

	// The person: device by device where CLOMO PANEL has no multi-select, once for all where it has.
	started := time.Now()
	var mu sync.Mutex
	individual := 0
	fleetReports := map[procedure.StepID]int{}
	reportIndividually := func() {
		var wg sync.WaitGroup
		tickets := make(chan struct{}, 8)
		for _, s := range serials {
			wg.Add(1)
			tickets <- struct{}{}
			go func() {
				defer func() { <-tickets; wg.Done() }()
				st, err := queryDevice(s)
				if err != nil || st.WaitingOn != procedure.PartyOperator || len(st.Choices) == 0 || procedure.Groupable(st.Current) {
					return
				}
				if report(s, workflows.StepReport{Step: st.Current, By: "op-" + s, Outcome: procedure.OutcomeDone}) == nil {
					mu.Lock()
					individual++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	task := func(step procedure.StepID) []string {
		task, err := workflows.FleetTaskNow(ctx, tc, fleetID, step)
		if err != nil {
			return nil
		}
		return task.Serials
	}
	for len(task(procedure.DeleteGreyedOutRecord)) < len(greyed) || len(task(procedure.DeleteManagedRecord)) < len(managed) {
		if time.Since(started) > 6*time.Minute {
			t.Fatalf("the devices never all waited at the deletes: 4-2 %d of %d, 4-1 %d of %d", len(task(procedure.DeleteGreyedOutRecord)), len(greyed),
				len(task(procedure.DeleteManagedRecord)), len(managed))
		}
		reportIndividually()
		time.Sleep(200 * time.Millisecond)
	}
	if got := task(procedure.DeleteGreyedOutRecord); !slices.Equal(got, sorted(greyed)) {
		t.Fatalf("4-2 task %v, want %v", got, greyed)
	}
	res, err := workflows.CompleteFleetStep(ctx, tc, fleetID, workflows.FleetStepReport{Step: procedure.DeleteGreyedOutRecord, By: "lead-op",
		Note: "bulk delete in CLOMO PANEL", Except: []workflows.FleetStepException{{Serial: exception, Outcome: procedure.OutcomeCertificatesRemain}}})
	fleetReports[procedure.DeleteGreyedOutRecord]++
	if err != nil || res.Reported[procedure.OutcomeDone] != len(greyed)-1 || res.Reported[procedure.OutcomeCertificatesRemain] != 1 || len(res.Refused) != 0 {
		t.Fatalf("the fleet's 4-2 report: %+v %v", res, err)
	}
	res, err = workflows.CompleteFleetStep(ctx, tc, fleetID, workflows.FleetStepReport{Step: procedure.DeleteManagedRecord, By: "lead-op"})
	fleetReports[procedure.DeleteManagedRecord]++
	if err != nil || res.Reported[procedure.OutcomeDone] != len(managed) || len(res.Refused) != 0 {
		t.Fatalf("the fleet's 4-1 report: %+v %v", res, err)
	}
	// The exception: remove-certificates (by hand, device by device), then the delete again.
	for !slices.Equal(task(procedure.DeleteGreyedOutRecord), []string{exception}) {
		if time.Since(started) > 8*time.Minute {
			t.Fatalf("%s never came back to 4-2", exception)
		}
		reportIndividually()
		time.Sleep(200 * time.Millisecond)
	}
	if res, err = workflows.CompleteFleetStep(ctx, tc, fleetID, workflows.FleetStepReport{Step: procedure.DeleteGreyedOutRecord, By: "lead-op"}); err != nil ||
		res.Reported[procedure.OutcomeDone] != 1 {
		t.Fatalf("the exception's second delete: %+v %v", res, err)
	}
	fleetReports[procedure.DeleteGreyedOutRecord]++
	final := fleetResult(t, run, 5*time.Minute)
	t.Logf("%d devices: %d per-device reports, fleet reports %v, %s from the approval to the end", n, individual, fleetReports, time.Since(started).Round(time.Second))
	if final.ByState[workflows.OutcomeRemoved] != n || final.State != workflows.FleetFinished || final.Approval.ApprovedBy != "second-op" {
		t.Fatalf("fleet: %+v, approval %+v", final.ByState, final.Approval)
	}
	if fleetReports[procedure.DeleteManagedRecord] != 1 || fleetReports[procedure.DeleteGreyedOutRecord] != 2 {
		t.Errorf("fleet reports %v", fleetReports)
	}

	// Each device: removed, its own audit entry for its delete (by the person who reported the
	// fleet, at a time of its own), the approval first; no console command (operator mode); ADE
	// devices unassigned exactly once.
	archive := &evidence.Archive{Dir: world.WorkerConfig().Evidence.Dir}
	for _, s := range serials {
		st, err := queryDevice(s)
		if err != nil {
			t.Fatal(err)
		}
		step := procedure.DeleteGreyedOutRecord
		if slices.Contains(managed, s) {
			step = procedure.DeleteManagedRecord
		}
		var got []string
		for _, a := range st.Audit {
			if a.Step == step {
				got = append(got, a.Outcome)
				if a.By != "lead-op" || a.Time.IsZero() {
					t.Errorf("%s: audit entry %+v", s, a)
				}
			}
		}
		want := []string{procedure.OutcomeDone}
		if s == exception {
			want = []string{procedure.OutcomeCertificatesRemain, procedure.OutcomeDone}
			if i := slices.IndexFunc(st.Steps, func(x workflows.StepStatus) bool { return x.ID == procedure.RemoveCertificates }); i < 0 || st.Steps[i].State != workflows.StateDone {
				t.Errorf("%s: remove-certificates did not run: %+v", s, st.Steps)
			}
		}
		if st.Outcome != workflows.OutcomeRemoved || !slices.Equal(got, want) || len(st.Audit) == 0 || st.Audit[0].By != "second-op" {
			t.Errorf("%s: outcome %s, audit of %s %v (want %v), audit %+v", s, st.Outcome, step, got, want, st.Audit)
		}
		ledger := world.Sim.Ledger(s)
		for _, e := range ledger {
			if e.Source == simulator.SourceConsole {
				t.Errorf("%s: operator mode sent a console command: %+v", s, e)
			}
		}
		wantUnassign := 0
		for _, r := range rows {
			if r.Request.Serial == s && r.Request.Enrollment.IsADE() {
				wantUnassign = 1
			}
		}
		if got := simulator.CountLedger(ledger, "UNASSIGN_DEVICES", simulator.OutcomeAccepted); got != wantUnassign {
			t.Errorf("%s: UNASSIGN_DEVICES accepted %d times, want %d", s, got, wantUnassign)
		}
		if s == exception {
			rec, _, err := archive.Latest(s)
			if err != nil || len(rec.Reports) < 3 || rec.Reports[0].By != "second-op" || rec.Reports[0].Step != "fleet-approval" {
				t.Errorf("%s: the retirement record's reports %+v (%v), want the fleet's approval first", s, rec.Reports, err)
			}
		}
	}
	saveHistory(t, contract.DeviceWorkflowID(exception), "fleet-operator-grouped-certificates-v1")
	saveFleetHistory(t, contract.FleetWorkflowID(fleetID), "fleet-retirement-people-v1")
}

func queryDevice(serial string) (workflows.DeviceStatus, error) {
	v, err := tc.QueryWorkflow(context.Background(), contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
	if err != nil {
		return workflows.DeviceStatus{}, err
	}
	var st workflows.DeviceStatus
	return st, v.Get(&st)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// waitVisible polls visibility until the query lists a workflow.
func waitVisible(t *testing.T, query string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil && len(resp.GetExecutions()) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility never listed %s: %v", query, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
