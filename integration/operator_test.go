package integration

import (
	"context"
	"crypto/ecdsa"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

func report(serial string, r workflows.StepReport) error {
	h, err := tc.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: contract.DeviceWorkflowID(serial), UpdateName: contract.UpdateCompleteStep,
		Args: []any{r}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(context.Background(), nil)
}

// waitFor polls the status query until the device waits on the step.
func waitFor(t *testing.T, serial string, step procedure.StepID) workflows.DeviceStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st := status(t, serial)
		if st.Current == step && len(st.Choices) > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never waited on %s: now %s on %s", serial, step, st.Current, st.WaitingOn)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Operator mode end to end: each console step is a person's task reported through the update;
// the wrong step is refused; "VPP license remains" leads through its branch. Nothing is sent to the
// console, and Apple stays automated.
func TestOperatorModeEndToEnd(t *testing.T) {
	serial := uniqueSerial("OP")
	run := startDevice(t, device{name: "operator", mode: contract.ModeOperator, spec: quick(simulator.DeviceSpecFor(serial, "ade")),
		req: procedure.Request{Serial: serial, Enrollment: procedure.ADE, Wipe: true}})

	st := waitFor(t, serial, procedure.ConsoleWipe)
	if st.WaitingOn != procedure.PartyOperator || !strings.Contains(st.Instruction, "デバイスを初期化") {
		t.Fatalf("console-wipe should be an operator task quoting the vendor's label: %s %q", st.WaitingOn, st.Instruction)
	}
	err := report(serial, workflows.StepReport{Step: procedure.DeleteGreyedOutRecord, By: "op", Outcome: "done"})
	if err == nil || !strings.Contains(err.Error(), "console-wipe") {
		t.Fatalf("a report for the wrong step must be refused naming the awaited one, got %v", err)
	}
	steps := []struct {
		step    procedure.StepID
		outcome string
	}{
		{procedure.ConsoleWipe, "done"},
		{procedure.AwaitGreyedOut, "done"},
		{procedure.DeleteGreyedOutRecord, procedure.OutcomeVPPLicenseRemains},
		{procedure.RefreshLicenseCounts, "done"},
		{procedure.RevokeVPPLicenses, "done"},
		{procedure.DeleteGreyedOutRecord, "done"},
	}
	for _, s := range steps {
		waitFor(t, serial, s.step)
		if err := report(serial, workflows.StepReport{Step: s.step, By: "op", Outcome: s.outcome, Note: "CLOMO PANEL"}); err != nil {
			t.Fatalf("%s %s: %v", s.step, s.outcome, err)
		}
	}
	res := result(t, run)
	if res.Outcome != workflows.OutcomeRemoved {
		t.Fatalf("outcome %s", res.Outcome)
	}
	for _, e := range world.Sim.Ledger(serial) {
		if e.Source == simulator.SourceConsole {
			t.Errorf("operator mode sent a console command: %+v", e)
		}
	}
	if n := simulator.CountLedger(world.Sim.Ledger(serial), "UNASSIGN_DEVICES", simulator.OutcomeAccepted); n != 1 {
		t.Errorf("Apple unassign accepted %d times, want 1 (automated beside operator mode)", n)
	}
	if st := status(t, serial); len(st.Audit) != len(steps) {
		t.Errorf("audit has %d entries, want %d", len(st.Audit), len(steps))
	}
	saveHistory(t, run.GetID(), "mode-operator")
}

// Killing the workers in the middle loses nothing and repeats no destructive command.
func TestWorkerRestartMidFlight(t *testing.T) {
	var runs []client.WorkflowRun
	var serials []string
	for _, enroll := range []string{"ade-restricted", "ade", "manual"} {
		for _, wipe := range []bool{true, false} {
			serial := uniqueSerial("RS")
			spec := simulator.DeviceSpecFor(serial, enroll)
			spec.CheckInEvery = simulator.Duration(90 * time.Minute)
			spec.UserActsAfter = simulator.Duration(time.Hour)
			serials = append(serials, serial)
			runs = append(runs, startDevice(t, device{name: serial, spec: spec,
				req: procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(enroll), Wipe: wipe}}))
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	world.StopWorkers()
	time.Sleep(1500 * time.Millisecond)
	if err := world.StartWorkers(tc); err != nil {
		t.Fatal(err)
	}
	for i, run := range runs {
		if res := result(t, run); res.Outcome != workflows.OutcomeRemoved {
			t.Errorf("%s: %s", serials[i], res.Outcome)
		}
		assertLedger(t, serials[i])
	}
}

// The Apple Business client against the simulator: one token for many calls, and a 429 with its
// Retry-After surfaced as a typed error.
func TestAppleClientAgainstTheSimulator(t *testing.T) {
	key, err := world.Key()
	if err != nil {
		t.Fatal(err)
	}
	c := appleClient(t, key)
	serial := uniqueSerial("AP")
	if err := world.Sim.AddDevices(simulator.DeviceSpecFor(serial, "ade")); err != nil {
		t.Fatal(err)
	}
	before := world.Sim.Stats().TokensIssued
	for i := 0; i < 5; i++ {
		id, assigned, err := c.AssignedServer(context.Background(), serial)
		if err != nil || !assigned || id != simulator.DefaultAppleServerID {
			t.Fatalf("assignment: %q %t %v", id, assigned, err)
		}
	}
	if c.TokensFetched() != 1 || world.Sim.Stats().TokensIssued != before+1 {
		t.Errorf("tokens: client fetched %d, simulator issued %d more; want one token reused", c.TokensFetched(), world.Sim.Stats().TokensIssued-before)
	}
	world.Sim.SetFaults(simulator.Faults{Rate429: 1, RetryAfterSeconds: 7})
	_, _, err = c.AssignedServer(context.Background(), serial)
	world.Sim.SetFaults(simulator.Faults{})
	ae, ok := applebusiness.AsAPIError(err)
	if !ok || ae.Status != 429 || ae.RetryAfter != 7*time.Second {
		t.Fatalf("429: %v", err)
	}
	act, err := c.UnassignDevices(context.Background(), []string{serial})
	if err != nil {
		t.Fatal(err)
	}
	for !act.Final() {
		time.Sleep(50 * time.Millisecond)
		if act, err = c.Activity(context.Background(), act.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, assigned, _ := c.AssignedServer(context.Background(), serial); assigned || act.Status != applebusiness.ActivityCompleted {
		t.Errorf("after the activity: assigned %t, status %s %s", assigned, act.Status, act.SubStatus)
	}
}

func appleClient(t *testing.T, key *ecdsa.PrivateKey) *applebusiness.Client {
	t.Helper()
	cfg := world.WorkerConfig().Apple
	c, err := applebusiness.New(applebusiness.Config{ClientID: cfg.ClientID, KeyID: cfg.KeyID, PrivateKey: key, ServerID: cfg.ServerID,
		APIBaseURL: cfg.APIURL, TokenURL: cfg.TokenURL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The other outcomes a person may report at a delete, through the client against the real server.
func TestOperatorOutcomeBranchesEndToEnd(t *testing.T) {
	certs := uniqueSerial("OC")
	run := startDevice(t, device{name: "certificates", mode: contract.ModeOperator, spec: quick(simulator.DeviceSpecFor(certs, "manual")),
		req: procedure.Request{Serial: certs, Enrollment: procedure.Manual, Wipe: true}})
	for _, s := range []struct {
		step    procedure.StepID
		outcome string
	}{
		{procedure.ConsoleWipe, "done"}, {procedure.AwaitGreyedOut, "done"},
		{procedure.DeleteGreyedOutRecord, procedure.OutcomeCertificatesRemain},
		{procedure.RemoveCertificates, "done"}, {procedure.DeleteGreyedOutRecord, "done"},
	} {
		waitFor(t, certs, s.step)
		if err := report(certs, workflows.StepReport{Step: s.step, By: "op", Outcome: s.outcome}); err != nil {
			t.Fatalf("%s %s: %v", s.step, s.outcome, err)
		}
	}
	if res := result(t, run); res.Outcome != workflows.OutcomeRemoved || stateOf(res, procedure.RemoveCertificates) != workflows.StateDone {
		t.Errorf("certificates branch: %s, remove-certificates %s", res.Outcome, stateOf(res, procedure.RemoveCertificates))
	}

	ws := uniqueSerial("OW")
	run = startDevice(t, device{name: "work smart", mode: contract.ModeOperator, spec: quick(simulator.DeviceSpecFor(ws, "ade-restricted")),
		req: procedure.Request{Serial: ws, Enrollment: procedure.ADERestricted}})
	// In operator mode nothing reads lost mode: the operator checks it before the delete of 4-1.
	for _, step := range []procedure.StepID{procedure.RemoveProfiles, procedure.DisableLostMode} {
		waitFor(t, ws, step)
		if err := report(ws, workflows.StepReport{Step: step, By: "op", Outcome: "done"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ws, procedure.DeleteManagedRecord)
	if err := report(ws, workflows.StepReport{Step: procedure.DeleteManagedRecord, By: "op", Outcome: procedure.OutcomeWorkSmart}); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, ws, procedure.DeleteManagedRecord)
	for i := 0; st.WaitingOn != procedure.PartyVendorSupport; i++ {
		if i > 300 {
			t.Fatalf("after work-smart: waiting on %s, want vendor-support", st.WaitingOn)
		}
		time.Sleep(100 * time.Millisecond)
		st = status(t, ws)
	}
	if err := report(ws, workflows.StepReport{Step: procedure.DeleteManagedRecord, By: "op", Outcome: "done", Note: "support ticket 12"}); err != nil {
		t.Fatal(err)
	}
	if res := result(t, run); res.Outcome != workflows.OutcomeRemoved {
		t.Errorf("work smart: %s", res.Outcome)
	}
}
