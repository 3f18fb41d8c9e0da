package workflows

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// The callers' side of the fleet's people updates (the starter's `fleet complete` and `fleet
// approve`, the integration tests), as DeviceStartOptions is of a device's start.

// FleetTaskNow reads the fleet's task for step (every device waiting there), or says there is none.
func FleetTaskNow(ctx context.Context, c client.Client, fleetID string, step procedure.StepID) (FleetTask, error) {
	v, err := c.QueryWorkflow(ctx, contract.FleetWorkflowID(fleetID), "", contract.QueryProgress)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return FleetTask{}, fmt.Errorf("fleet %s: no fleet workflow (%s): check the fleet ID", fleetID, contract.FleetWorkflowID(fleetID))
	}
	if err != nil {
		return FleetTask{}, fmt.Errorf("fleet %s: progress: %w", fleetID, err)
	}
	var p FleetProgress
	if err := v.Get(&p); err != nil {
		return FleetTask{}, err
	}
	var task FleetTask
	for _, t := range p.Tasks {
		if t.Step == step {
			if task.Step == "" {
				task = t
			} else { // 4-1 with and without the box ticked: one report covers both
				task.Serials = append(task.Serials, t.Serials...)
			}
		}
	}
	if task.Step == "" {
		return FleetTask{}, fmt.Errorf("fleet %s: no device waits at %s now: see `starter fleet watch %s`", fleetID, step, fleetID)
	}
	return task, nil
}

// CompleteFleetStep reports step for the devices of the fleet's task as it stands now: it reads
// the task, names its serials in the report (a device that joins the task after this read is not
// reported, and keeps waiting), and sends the fleet's complete-step update. The answer says how
// many devices took it and names those that did not. r.Serials, when set, is sent as it is.
func CompleteFleetStep(ctx context.Context, c client.Client, fleetID string, r FleetStepReport) (FleetStepResult, error) {
	if len(r.Serials) == 0 {
		task, err := FleetTaskNow(ctx, c, fleetID, r.Step)
		if err != nil {
			return FleetStepResult{}, err
		}
		r.Serials = task.Serials
	}
	var res FleetStepResult
	return res, fleetUpdate(ctx, c, fleetID, contract.UpdateCompleteFleetStep, r, &res)
}

// ApproveFleet sends the fleet's approve update: a second person approves a fleet whose wipes
// are past FLEET_APPROVAL_WIPES.
func ApproveFleet(ctx context.Context, c client.Client, fleetID, by, note string) (string, error) {
	var res string
	return res, fleetUpdate(ctx, c, fleetID, contract.UpdateApprove, FleetApprove{By: by, Note: note}, &res)
}

func fleetUpdate(ctx context.Context, c client.Client, fleetID, name string, arg, out any) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: contract.FleetWorkflowID(fleetID), UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, out)
	}
	var nf *serviceerror.NotFound
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("fleet %s: no running fleet workflow (%s): check the fleet ID", fleetID, contract.FleetWorkflowID(fleetID))
	case errors.As(err, &app):
		return fmt.Errorf("fleet %s: %s", fleetID, app.Message())
	}
	return err
}
