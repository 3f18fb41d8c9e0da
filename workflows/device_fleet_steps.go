package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// A fleet's device in operator mode tells its fleet when it starts, and stops, waiting on a person
// at a step CLOMO PANEL does for many devices at once (procedure.Groupable: the deletes of 4-1 and
// 4-2), so the fleet can show the devices waiting there as one task and deliver one person's
// report to each of them (fleet_steps.go). The device's own wait is unchanged: a report of its
// own (complete-step on the device) still ends it, and the fleet's report reaches it as that same
// update, through the same validator, into the same audit.

// versionFleetGroupedSteps: devices that reached a delete before this change replay without the
// signals to their fleet.
const versionFleetGroupedSteps = "fleet-grouped-steps"

// signalStepWait is internal: a device tells its fleet it waits (or no longer waits) on a person
// at a groupable step.
const signalStepWait = "step-wait"

// StepWait is the argument of the step-wait signal.
type StepWait struct {
	Serial string           `json:"serial"`
	Step   procedure.StepID `json:"step"`
	// Round is 1 + the reports the device had for the step when it began this wait: the fleet's
	// report carries it back, and the device refuses a report for a wait it has left.
	Round   int  `json:"round"`
	Waiting bool `json:"waiting"`
	// RemoveAutoInstalledApps changes what a person ticks at 4-1: devices group only with their like.
	RemoveAutoInstalledApps bool `json:"removeAutoInstalledApps,omitempty"`
	// Since is set by the fleet when it takes the signal.
	Since time.Time `json:"since,omitempty"`
}

// askOperatorDelete is the operator's task of a delete (issueDelete in operator mode). A fleet's
// device tells its fleet around the wait; any other device just asks.
func (w *device) askOperatorDelete(ctx workflow.Context, id procedure.StepID, outcomes []string) (StepReport, error) {
	why, instruction := "delete the record in CLOMO PANEL and report what it showed", w.instruction(id)
	if w.in.FleetID == "" || !procedure.Groupable(id) ||
		w.version(ctx, versionFleetGroupedSteps, 1) == workflow.DefaultVersion {
		return w.askPerson(ctx, id, procedure.PartyOperator, why, instruction, outcomes)
	}
	instruction += fmt.Sprintf("\n\nThis device is one of fleet %s's devices waiting at `%s`: select them all in CLOMO PANEL and report once "+
		"with `starter fleet complete %s %s --by <you>` (the fleet's `%s` update), or report this device on its own.",
		w.in.FleetID, id, w.in.FleetID, id, contract.UpdateCompleteFleetStep)
	wait := StepWait{Serial: w.status.Serial, Step: id, Round: w.reportsFor(id) + 1, Waiting: true,
		RemoveAutoInstalledApps: w.in.Request.RemoveAutoInstalledApps}
	// Waiting first, so the device takes the fleet's report the moment the fleet can send one.
	w.waiting(ctx, id, procedure.PartyOperator, why, instruction, outcomes)
	w.tellFleet(ctx, wait)
	r, err := w.askPerson(ctx, id, procedure.PartyOperator, why, instruction, outcomes)
	if err == nil && r.Round == 0 {
		// Reported on its own: the fleet takes it out of its task (the fleet knows the reports it
		// delivered itself, and a device that ends tells it by device-finished).
		wait.Waiting = false
		w.tellFleet(ctx, wait)
	}
	return r, err
}

func (w *device) tellFleet(ctx workflow.Context, s StepWait) {
	if err := workflow.SignalExternalWorkflow(ctx, contract.FleetWorkflowID(w.in.FleetID), "", signalStepWait, s).Get(ctx, nil); err != nil {
		w.logger.Warn("fleet not told of the wait", "fleet", w.in.FleetID, "step", s.Step, "error", err)
	}
}

// reportsFor counts the reports the device has recorded for a step.
func (w *device) reportsFor(id procedure.StepID) int {
	n := 0
	for _, a := range w.status.Audit {
		if a.Step == id {
			n++
		}
	}
	return n
}

// validateFleetRound refuses a fleet's report for a wait the device has left: it was reported on
// its own meanwhile (and may wait at the same step again, after a branch).
func (w *device) validateFleetRound(r StepReport) error {
	if r.Round == 0 || r.Round == w.reportsFor(r.Step)+1 {
		return nil
	}
	return fmt.Errorf("device %s has left the wait at %s that its fleet grouped it in (it has %d report(s) for the step since): "+
		"look at it with `starter status %s`, and report it on its own if it still needs one", w.status.Serial, r.Step, w.reportsFor(r.Step), w.status.Serial)
}

// fleetApprovalStep names the audit entry of a fleet's approval (not a step of the procedure).
const fleetApprovalStep procedure.StepID = "fleet-approval"

// recordFleetApproval puts the fleet's approval, when it needed one, first in the device's audit,
// so the status and the retirement record show who approved the fleet, and when.
func (w *device) recordFleetApproval() {
	if a := w.in.FleetApproval; a != nil {
		e := *a
		e.Step = fleetApprovalStep
		w.status.Audit = append(w.status.Audit, e)
	}
}
