package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/contract"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/procedure"
)

// The batched side of §5 before the Apple coordinator (section5_coordinated.go), kept command for
// command for the fleets' devices that reached pre-flight before it. Such a device (DeviceInput.FleetID
// set, on a worker with Apple credentials) hands its unassign to the shared batcher
// (AppleUnassignBatcher) and skips its own pre-flight read of the Apple assignment. A device
// started on its own then took the single-device path of section5_apple.go.

// batched reports whether this device's Apple work goes through the batcher.
func (w *device) batched() bool { return w.in.FleetID != "" && w.info.AppleConfigured }

// unassignBatched asks the batcher to unassign the device and waits for its answer. A device the
// activity did not unassign, or whose batch got no clear answer, reads its own assignment (after
// the wait the batcher says) and asks again if it is still assigned, exactly as the single path
// re-reads before it posts again; a batch Apple refused leaves the device to the single path.
func (w *device) unassignBatched(ctx workflow.Context) (ending, error) {
	id, serial := procedure.ABMUnassign, w.status.Serial
	w.begin(ctx, id, procedure.PartyApple, "unassigning in Apple Business Manager, in one activity with other devices")
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	for round := 1; ; round++ {
		if round > maxAppleRounds {
			return w.appleByHand(ctx, fmt.Sprintf("the device is still assigned after %d batched activities", maxAppleRounds))
		}
		req := UnassignRequest{Serial: serial, WorkflowID: w.id, RequestID: fmt.Sprintf("%s/%d", runID, round),
			Gather: batchGather(w.timing), Poll: w.timing.ApplePoll}
		w.waiting(ctx, id, procedure.PartyApple, "waiting for a batched Apple activity", "", nil)
		res, err := w.awaitBatch(ctx, req)
		if err != nil {
			return ending{}, err
		}
		switch res.Outcome {
		case UnassignDone:
			w.status.AppleActID = res.ActivityID
			return done(fmt.Sprintf("unassigned by Apple activity %s with %d devices", res.ActivityID, res.BatchSize))
		case UnassignNotCreated:
			w.note(id, "batch refused ("+res.Detail+"): unassigning this device on its own")
			return w.unassignAlone(ctx)
		}
		why := fmt.Sprintf("batch activity %s: %s", orDash(res.ActivityID), strings.Join(nonEmpty(res.Outcome, res.Code, res.Detail), " "))
		w.note(id, why+": checking the assignment")
		if res.RetryAfter > 0 {
			if err := workflow.Sleep(ctx, res.RetryAfter); err != nil {
				return ending{}, err
			}
		}
		var a activities.Assignment
		if err := workflow.ExecuteActivity(callOptions(ctx, contract.AppleTaskQueue, "read Apple assignment of "+serial), appleActs.AssignedServer, serial).Get(ctx, &a); err != nil {
			return w.appleByHand(ctx, "Apple Business Manager could not be read: "+errMessage(err))
		}
		if !a.Assigned {
			return done(why + "; Apple Business Manager shows no MDM server")
		}
		if w.info.AppleServerID != "" && a.ServerID != w.info.AppleServerID {
			w.status.Warnings = append(w.status.Warnings, "Apple Business Manager assigns the device to MDM server "+a.ServerID+
				", not this console's: it was not unassigned (a fleet's devices skip the pre-flight check of the Apple assignment).")
			return skipped(fmt.Sprintf("%s; assigned to another MDM server (%s): not this console's to unassign", why, a.ServerID))
		}
	}
}

// awaitBatch sends the request to the batcher (starting one when none runs) and waits for the
// answer to it. Without an answer for a long while (the batcher was terminated, or lost the
// request) it asks again: the batcher never takes one device twice.
func (w *device) awaitBatch(ctx workflow.Context, req UnassignRequest) (UnassignResult, error) {
	results := workflow.GetSignalChannel(ctx, signalUnassignResult)
	if err := w.requestBatch(ctx, req); err != nil {
		if ctx.Err() != nil {
			return UnassignResult{}, err
		}
		return UnassignResult{Outcome: UnassignNotCreated, Detail: "the batcher could not be reached: " + errMessage(err)}, nil
	}
	for {
		var res UnassignResult
		got, fired := false, false
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(timerCtx, batchPatience(w.timing))
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(results, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &res); got = true })
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		sel.Select(ctx)
		if !fired {
			cancelTimer()
		}
		if err := ctx.Err(); err != nil {
			return UnassignResult{}, err
		}
		switch {
		case got && res.RequestID == req.RequestID:
			return res, nil
		case got:
			w.logger.Info("stale unassign result ignored", "request", res.RequestID)
		default:
			w.note(procedure.ABMUnassign, "no answer from the batcher yet: asking again")
			if err := w.requestBatch(ctx, req); err != nil {
				if ctx.Err() != nil {
					return UnassignResult{}, err
				}
				return UnassignResult{Outcome: UnassignNotCreated, Detail: "the batcher could not be reached: " + errMessage(err)}, nil
			}
		}
	}
}

// requestBatch signals the batcher; when none runs it starts one as an abandoned child (it
// outlives this device) and signals again.
func (w *device) requestBatch(ctx workflow.Context, req UnassignRequest) error {
	err := workflow.SignalExternalWorkflow(ctx, BatcherWorkflowID, "", signalUnassignRequest, req).Get(ctx, nil)
	if err == nil || ctx.Err() != nil {
		return err
	}
	w.logger.Info("no batcher runs: starting one", "error", err)
	cctx := workflow.WithChildOptions(ctx, batcherChildOptions())
	err = workflow.ExecuteChildWorkflow(cctx, AppleUnassignBatcher, BatcherInput{}).GetChildWorkflowExecution().Get(ctx, nil)
	if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return err
	}
	return workflow.SignalExternalWorkflow(ctx, BatcherWorkflowID, "", signalUnassignRequest, req).Get(ctx, nil)
}

func nonEmpty(parts ...string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// batcherChildOptions start the batcher as an abandoned child: it outlives whoever started it.
func batcherChildOptions() workflow.ChildWorkflowOptions {
	return workflow.ChildWorkflowOptions{
		WorkflowID: BatcherWorkflowID, TaskQueue: contract.BatcherTaskQueue, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary: "Apple Business unassign batcher: one UNASSIGN_DEVICES activity for many devices",
	}
}

// batchGather is how long a device lets its batch wait for other devices: a few Apple polls,
// nothing beside a procedure of hours or days.
func batchGather(t Timing) time.Duration { return 5 * t.ApplePoll }

// batchPatience is how long a device waits for the batcher's answer before it asks again.
func batchPatience(t Timing) time.Duration { return max(50*t.ApplePoll, time.Minute) }
