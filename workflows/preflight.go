package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// preflight reads the console and Apple Business Manager and checks they fit the request before
// anything destructive happens; the facts may change the plan (lost mode, Work Smart).
func (w *device) preflight(ctx workflow.Context) (ending, error) {
	serial := w.status.Serial
	w.begin(ctx, procedure.Preflight, procedure.PartyConsole, "reading the console and Apple Business Manager")
	if err := workflow.ExecuteActivity(callOptions(ctx, contract.TaskQueue, "worker capabilities"), workerActs.Describe).Get(ctx, &w.info); err != nil {
		return ending{}, err
	}
	if w.status.ConsoleMode == "" {
		w.status.ConsoleMode = w.info.ConsoleMode
	}
	facts := procedure.Facts{}
	readsApple := w.in.Request.Enrollment.IsADE() && w.info.AppleConfigured
	var consoleRead workflow.Future
	if !w.operatorMode() {
		consoleRead = workflow.ExecuteActivity(callOptions(ctx, contract.ConsoleTaskQueue, "pre-flight: read "+serial), consoleActs.ReadDevice, serial)
	}
	// From lean-lifecycle 1 the Apple read is asked while the console read runs: both are reads.
	var apple *appleRead
	if readsApple && consoleRead != nil && w.lean {
		apple = w.readAppleNow(ctx)
	}
	if consoleRead != nil {
		var d consoleDevice
		if err := consoleRead.Get(ctx, &d); err != nil {
			return ending{}, preflightError(serial, err)
		}
		facts.ConsoleRead, facts.Status, facts.ADE, facts.MDMProfileRemovable = true, d.Status, d.ADE, d.MDMProfileRemovable
		facts.Supervised, facts.LostMode, facts.WorkSmart = d.Supervised, d.LostMode, d.WorkSmart
		for _, p := range d.Profiles {
			if p.Kind == "restrictions" {
				w.restrictionsProfiles = append(w.restrictionsProfiles, p.ID)
			}
		}
	}
	if readsApple {
		if apple == nil {
			apple = w.readAppleNow(ctx)
		}
		if apple.err != nil {
			return ending{}, preflightError(serial, apple.err)
		}
		facts.AppleRead, facts.AppleAssigned, facts.AppleServerID, facts.OurAppleServer = apple.read, apple.a.Assigned, apple.a.ServerID, w.info.AppleServerID
	}
	if !facts.ConsoleRead && w.version(ctx, changeOperatorLostMode, 1) >= 1 {
		// Nothing read lost mode: the operator checks it where it would stop the path.
		facts.LostModeUnknown = true
	}
	fit, err := procedure.CheckFacts(w.in.Request, facts)
	if err != nil {
		return ending{}, err
	}
	w.alreadyGreyedOut, w.alreadyUnassigned = fit.AlreadyGreyedOut, fit.AlreadyUnassigned
	w.replan(ctx, fit.Plan)
	return done(describeFacts(facts, fit))
}

// appleRead is what pre-flight's Apple read found.
type appleRead struct {
	a    activities.Assignment
	read bool
	err  error
}

func (w *device) readAppleNow(ctx workflow.Context) *appleRead {
	a, read, err := w.readApple(ctx)
	return &appleRead{a: a, read: read, err: err}
}

// readApple reads where Apple Business Manager assigns the device: through the Apple coordinator,
// or before it with a read of its own. Before the coordinator a fleet's device did not read it
// (read false): see section5_batched.go.
func (w *device) readApple(ctx workflow.Context) (a activities.Assignment, read bool, err error) {
	switch {
	case w.coordinated(ctx):
		a, err = w.readAppleThroughCoordinator(ctx)
		return a, true, err
	case w.batched():
		return a, false, nil
	}
	err = workflow.ExecuteActivity(callOptions(ctx, contract.AppleTaskQueue, "pre-flight: Apple assignment of "+w.status.Serial),
		appleActs.AssignedServer, w.status.Serial).Get(ctx, &a)
	return a, true, err
}

// replan lays out the plan the facts call for. Before version 1 a step the facts added
// (disable-lost-mode) went to the end of the status, and so ran after abm-unassign: on keep/ade
// and keep/manual the user was told to remove the MDM profile of a device lost mode locks. From
// version 1 the steps follow the new plan's order.
func (w *device) replan(ctx workflow.Context, plan procedure.Result) {
	if !w.reordersSteps(plan) {
		w.setPlan(plan)
		return
	}
	if w.version(ctx, changePlanOrder, 1) == workflow.DefaultVersion {
		w.setPlan(plan)
		return
	}
	w.setPlanInOrder(plan)
}

// changePlanOrder is the workflow.GetVersion change ID of replan's fix.
const changePlanOrder = "plan-order-after-preflight"

// changeOperatorLostMode: from version 1, in operator mode (nothing reads the console) the
// operator checks lost mode, and turns it off, before the first step it would stop; before, lost
// mode was never looked at in operator mode, and the user was told to act on a locked device.
const changeOperatorLostMode = "operator-checks-lost-mode"

// reordersSteps reports whether the plan puts a new step anywhere but at the end of the status.
func (w *device) reordersSteps(plan procedure.Result) bool {
	for i, id := range plan.Steps {
		if w.stepIndex(id) < 0 && slices.ContainsFunc(plan.Steps[i+1:], func(s procedure.StepID) bool { return w.stepIndex(s) >= 0 }) {
			return true
		}
	}
	return false
}

func preflightError(serial string, err error) error {
	if activities.IsType(err, activities.ErrRecordGone) {
		return fmt.Errorf("device %s: the console has no record with this serial: check the serial in CLOMO PANEL (Devices); nothing was changed", serial)
	}
	return fmt.Errorf("device %s: pre-flight could not read the facts: %s", serial, errMessage(err))
}

func describeFacts(f procedure.Facts, fit procedure.Fit) string {
	var parts []string
	if f.ConsoleRead {
		parts = append(parts, fmt.Sprintf("console: %s, ADE %t, lost mode %t, Work Smart %t", f.Status, f.ADE, f.LostMode, f.WorkSmart))
	} else {
		parts = append(parts, "console not read (operator mode)")
	}
	if f.AppleRead {
		parts = append(parts, fmt.Sprintf("Apple: assigned %t", f.AppleAssigned))
	}
	if fit.AlreadyGreyedOut {
		parts = append(parts, "already greyed-out")
	}
	return strings.Join(parts, "; ")
}
