package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"
)

// The engine's floor: the same sliding window of child workflows as a fleet, each child running
// as many activities as an average device, and every activity doing nothing. It measures what the
// engine (server and SDK on this machine) can do at best; the fleet is measured against it.

const (
	floorQueue          = "bench-floor"
	floorFinishedSignal = "floor-finished"
)

// FloorInput starts FloorFleet; a continue-as-new carries the counts.
type FloorInput struct {
	RunID      string `json:"runId"`
	N          int    `json:"n"`
	Window     int    `json:"window"`
	Activities int    `json:"activities"`
	Started    int    `json:"started"`
	Done       int    `json:"done"`
	Running    int    `json:"running"`
}

// FloorFleet starts N FloorDevice children, Window at a time; children report by signal, so they
// outlive the parent's continue-as-new, as a fleet's devices do.
func FloorFleet(ctx workflow.Context, in FloorInput) (int, error) {
	finished := workflow.GetSignalChannel(ctx, floorFinishedSignal)
	// As the fleet takes its devices' signals (workflows.pump): a blocked Receive would be handed
	// a signal that a continue-as-new decided in the same workflow task then loses.
	workflow.Go(ctx, func(ctx workflow.Context) {
		for workflow.Await(ctx, func() bool { return finished.Len() > 0 }) == nil {
			for finished.ReceiveAsync(nil) {
				in.Done++
				in.Running--
			}
		}
	})
	pending := 0
	for in.Done < in.N {
		if err := workflow.Await(ctx, func() bool {
			return in.Done >= in.N || (in.Running < in.Window && in.Started < in.N) || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		}); err != nil {
			return in.Done, err
		}
		if in.Done >= in.N {
			break
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return pending == 0 }); err != nil {
				return in.Done, err
			}
			for finished.ReceiveAsync(nil) {
				in.Done++
				in.Running--
			}
			return in.Done, workflow.NewContinueAsNewError(ctx, FloorFleet, in)
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: fmt.Sprintf("%s-%d", in.RunID, in.Started), TaskQueue: floorQueue,
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		})
		child := workflow.ExecuteChildWorkflow(cctx, FloorDevice, FloorDeviceInput{Activities: in.Activities, Parent: workflow.GetInfo(ctx).WorkflowExecution.ID})
		in.Started++
		in.Running++
		pending++
		workflow.Go(ctx, func(ctx workflow.Context) {
			_ = child.GetChildWorkflowExecution().Get(ctx, nil)
			pending--
		})
	}
	return in.Done, nil
}

// FloorDeviceInput is one child of the floor.
type FloorDeviceInput struct {
	Activities int    `json:"activities"`
	Parent     string `json:"parent"`
}

// FloorDevice runs its activities one after the other, as a device runs its steps, and tells
// its parent it has finished.
func FloorDevice(ctx workflow.Context, in FloorDeviceInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: floorQueue, StartToCloseTimeout: 30 * time.Second})
	for range in.Activities {
		if err := workflow.ExecuteActivity(ctx, Noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	return workflow.SignalExternalWorkflow(ctx, in.Parent, "", floorFinishedSignal, nil).Get(ctx, nil)
}

// Noop is the floor's activity: it does nothing.
func Noop(context.Context) error { return nil }
