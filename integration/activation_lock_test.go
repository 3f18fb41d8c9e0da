package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// startLocked adds an ADE device with the given Activation Lock to the simulator and starts its
// wipe, holding §5 until the lock is off when hold is set.
func startLocked(t *testing.T, serial, lock string, hold bool) client.WorkflowRun {
	t.Helper()
	spec := quick(simulator.DeviceSpecFor(serial, "ade"))
	spec.ActivationLock = lock
	if err := world.Sim.AddDevices(spec); err != nil {
		t.Fatal(err)
	}
	req := procedure.Request{Serial: serial, Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole}
	run, err := tc.ExecuteWorkflow(context.Background(), startOptions(serial, "wipe/ade"), contract.DeviceWorkflowType,
		workflows.DeviceInput{Request: req, Confirmed: true, Contact: "user@example.com", Timing: fastTiming, HoldUnassignUntilUnlocked: hold})
	if err != nil {
		t.Fatalf("%s: start: %v", serial, err)
	}
	return run
}

func lockGETs() simulator.AppleEndpointRequests {
	return world.Sim.AppleRequests().Endpoints[simulator.EndpointActivationLock]
}

// Activation Lock against the simulator, through real workers and the real server: a device
// locked to a personal Apple Account (USER) with §5 held waits on an operator after its wipe,
// with nothing unassigned, until the lock is turned off in Apple Business Manager and reported;
// an MDM lock without the hold is unassigned and recorded NOT reusable; no lock is reusable.
// Each read is one GET of Apple's budget, none of them rate limited.
func TestActivationLockEndToEnd(t *testing.T) {
	n := time.Now().UnixNano() % 100000
	user, mdm, none := fmt.Sprintf("ALU%05d", n), fmt.Sprintf("ALM%05d", n), fmt.Sprintf("ALN%05d", n)
	before := lockGETs()
	userRun := startLocked(t, user, "USER", true)
	mdmRun := startLocked(t, mdm, "MDM", false)
	noneRun := startLocked(t, none, "", false)

	held := waitFor(t, user, procedure.TurnOffActivationLock)
	if held.WaitingOn != procedure.PartyOperator || held.ActivationLock == nil || held.ActivationLock.LockType != applebusiness.LockTypeUser || held.ActivationLock.Reusable {
		t.Fatalf("%s: waits on %s with lock %+v, want the operator and USER", user, held.WaitingOn, held.ActivationLock)
	}
	d, _ := world.Sim.Device(user)
	if !d.Wiped || d.ActivationLock != applebusiness.LockTypeUser {
		t.Errorf("%s in the simulator: wiped %t, lock %q: the wipe must leave the USER lock", user, d.Wiped, d.ActivationLock)
	}
	if n := simulator.CountLedger(world.Sim.Ledger(user), "UNASSIGN_DEVICES", simulator.OutcomeAccepted); n != 0 {
		t.Errorf("%s was unassigned %d times while §5 was held", user, n)
	}
	if !listed(t, "WaitingOn = 'operator'", contract.DeviceWorkflowID(user)) {
		t.Errorf("visibility does not list %s as waiting on an operator", user)
	}
	// The operator turns the lock off in Apple Business Manager, then reports.
	if _, err := world.Sim.TurnOffActivationLock(user, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := report(user, workflows.StepReport{Step: procedure.TurnOffActivationLock, By: "alice", Outcome: procedure.OutcomeDone}); err != nil {
		t.Fatal(err)
	}

	want := map[string]struct {
		run      client.WorkflowRun
		reusable bool
		lockType string
	}{user: {userRun, true, applebusiness.LockTypeNone}, mdm: {mdmRun, false, applebusiness.LockTypeMDM}, none: {noneRun, true, applebusiness.LockTypeNone}}
	cfg := world.WorkerConfig()
	archive := &evidence.Archive{Dir: cfg.Evidence.Dir}
	for serial, w := range want {
		res := result(t, w.run)
		if res.Outcome != workflows.OutcomeRemoved {
			t.Errorf("%s: %s %s", serial, res.Outcome, res.Error)
			continue
		}
		if l := res.ActivationLock; l == nil || l.Reusable != w.reusable || l.LockType != w.lockType {
			t.Errorf("%s: lock %+v, want reusable %t, %s", serial, l, w.reusable, w.lockType)
		}
		counts := assertLedger(t, serial)
		if counts["UNASSIGN_DEVICES"] != 1 {
			t.Errorf("%s: unassigned %d times, want once", serial, counts["UNASSIGN_DEVICES"])
		}
		rec, _, err := archive.Latest(serial)
		if err != nil {
			t.Fatal(err)
		}
		if a := rec.ActivationLockStatus; a == nil || a.Reusable != w.reusable || a.LockType != w.lockType {
			t.Errorf("%s: record says %+v (%q)", serial, a, rec.ActivationLock)
		}
	}
	got := lockGETs()
	// USER: after the wipe and after alice's report; MDM and none: once each.
	if reads := got.Requests - before.Requests; reads != 4 {
		t.Errorf("%d Activation Lock GETs for the three devices, want 4", reads)
	}
	if got.RateLimited != before.RateLimited || got.RetryAfterViolations != before.RetryAfterViolations {
		t.Errorf("Activation Lock reads were rate limited: %+v (before %+v)", got, before)
	}
	saveHistory(t, userRun.GetID(), "activation-lock-user-held")
	saveHistory(t, mdmRun.GetID(), "activation-lock-mdm-not-held")
	saveHistory(t, noneRun.GetID(), "activation-lock-none")
}

// A fleet's lock reads: exactly one GET per ADE device (Apple has no list of them), through the
// Apple coordinator's budget: the simulator, which enforces Apple's budget, answers none 429.
func TestFleetActivationLockReadsInsideTheBudget(t *testing.T) {
	prefix := fmt.Sprintf("FAL%05d", time.Now().UnixNano()%100000)
	var specs []simulator.DeviceSpec
	var rows []workflows.FleetDevice
	for i := range 12 {
		serial := fmt.Sprintf("%s%03d", prefix, i)
		specs = append(specs, quick(simulator.DeviceSpecFor(serial, "ade")))
		rows = append(rows, workflows.FleetDevice{Line: i + 2, Request: procedure.Request{Serial: serial, Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole}})
	}
	if err := world.Sim.AddDevices(specs...); err != nil {
		t.Fatal(err)
	}
	before := world.Sim.AppleRequests()
	timing := fastTiming
	timing.ApplePoll = time.Second
	p := fleetResult(t, startFleet(t, workflows.FleetInput{FleetID: "it-" + prefix, Devices: rows, Window: 12, Timing: timing, RequestedBy: "integration"}), 3*time.Minute)
	if p.ByState[workflows.OutcomeRemoved] != len(rows) {
		t.Fatalf("fleet: %v", p.ByState)
	}
	after := world.Sim.AppleRequests()
	lock := after.Endpoints[simulator.EndpointActivationLock].Requests - before.Endpoints[simulator.EndpointActivationLock].Requests
	if lock != len(rows) {
		t.Errorf("%d Activation Lock GETs for %d devices, want one each", lock, len(rows))
	}
	total, limited := 0, 0
	for name, e := range after.Endpoints {
		total += e.Requests - before.Endpoints[name].Requests
		limited += e.RateLimited - before.Endpoints[name].RateLimited
	}
	if limited != 0 {
		t.Errorf("%d Apple requests answered 429 during the fleet", limited)
	}
	t.Logf("Apple requests for %d ADE devices: %d (%.2f a device), %d of them Activation Lock reads", len(rows), total, float64(total)/float64(len(rows)), lock)
}
