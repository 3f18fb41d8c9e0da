package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/procedure"
)

// The device's side of the Apple coordinator (apple_coordinator.go). From version 1 of
// changeAppleCoordinator every Apple call of a device, its pre-flight read and its §5, goes
// through its organisation's one coordinator, which owns Apple's request budget. Devices that
// reached these points before keep the single path (section5_apple.go) or the fleet's batcher
// (section5_batched.go), command for command.
const changeAppleCoordinator = "apple-coordinator"

// coordinated reports whether this device's Apple calls go through the coordinator.
func (w *device) coordinated(ctx workflow.Context) bool {
	return w.appleVersion(ctx) >= 1
}

// appleVersion is the device's version of changeAppleCoordinator: 1 goes through the
// coordinator; 2 also skips §5 when pre-flight found the device assigned to no MDM server
// (version 1 sent it an UNASSIGN_DEVICES activity all the same).
func (w *device) appleVersion(ctx workflow.Context) workflow.Version {
	return w.version(ctx, changeAppleCoordinator, 2)
}

// readAppleThroughCoordinator is pre-flight's Apple read, through the coordinator.
func (w *device) readAppleThroughCoordinator(ctx workflow.Context) (activities.Assignment, error) {
	a, err := w.askApple(ctx, AppleRead, "pre-flight: reading the Apple assignment through the Apple coordinator")
	switch {
	case err != nil:
		return activities.Assignment{}, err
	case a.Outcome == AppleFailed:
		return activities.Assignment{}, errors.New(a.Detail)
	}
	return activities.Assignment{Assigned: a.Outcome != AppleNotAssigned, ServerID: a.ServerID}, nil
}

// unassignThroughCoordinator is §5 through the coordinator, which unassigns the device with
// others in as few activities as Apple's budget allows.
func (w *device) unassignThroughCoordinator(ctx workflow.Context) (ending, error) {
	id := procedure.ABMUnassign
	w.begin(ctx, id, procedure.PartyApple, "unassigning in Apple Business Manager, through the Apple coordinator")
	a, err := w.askApple(ctx, AppleUnassign, "waiting for the Apple coordinator's UNASSIGN_DEVICES activity")
	if err != nil {
		return ending{}, err
	}
	switch a.Outcome {
	case AppleUnassigned:
		w.status.AppleActID, w.status.AppleActivity = a.ActivityID, &a
		return done(fmt.Sprintf("unassigned by Apple activity %s with %d devices", a.ActivityID, a.BatchSize))
	case AppleNotAssigned:
		return done("Apple Business Manager shows no MDM server" + detailNote(a))
	case AppleOtherServer:
		w.status.Warnings = append(w.status.Warnings, "Apple Business Manager assigns the device to MDM server "+a.ServerID+
			", not this console's: it was not unassigned.")
		return skipped(fmt.Sprintf("assigned to another MDM server (%s): not this console's to unassign%s", a.ServerID, detailNote(a)))
	}
	return w.appleByHand(ctx, "the Apple coordinator could not unassign the device: "+a.Detail)
}

func detailNote(a AppleAnswer) string {
	if a.Detail == "" {
		return ""
	}
	return " (" + a.Detail + ")"
}

// askApple sends the coordinator a request and waits for its answer, starting the coordinator
// when none runs. A notice that Apple's budget holds the request shows in the status (WaitingOn
// apple, with the time of the next activity). Without an answer for a long while (the
// coordinator was terminated, or lost the request) it asks again: the coordinator never takes
// one device twice.
func (w *device) askApple(ctx workflow.Context, kind, why string) (AppleAnswer, error) {
	step := w.status.Current
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	w.appleRequests++ // a request's ID is new for every request of this run
	req := AppleRequest{Kind: kind, Serial: w.status.Serial, WorkflowID: w.id, Poll: w.timing.ApplePoll,
		// Every request waits a few Apple polls for others, single devices' too: a pipeline starts
		// devices one after another, and their reads then go in bulk and their unassigns in one
		// activity. Minutes at pre-flight are nothing beside a procedure of hours or days.
		RequestID: fmt.Sprintf("%s/%s/%d", runID, kind, w.appleRequests), Gather: batchGather(w.timing)}
	coordinator := CoordinatorWorkflowID(w.info.AppleOrg, w.info.AppleServerID)
	answers := workflow.GetSignalChannel(ctx, signalAppleAnswer)
	defer func() { w.appleHeld = false }()
	w.waiting(ctx, step, procedure.PartyApple, why, "", nil)
	if err := w.requestCoordinator(ctx, coordinator, req); err != nil {
		return AppleAnswer{}, err
	}
	patience := batchPatience(w.timing)
	for {
		var a AppleAnswer
		ok, err := receiveWithTimeout(ctx, answers, patience, &a)
		if err != nil {
			return AppleAnswer{}, err
		}
		switch {
		case !ok:
			w.note(step, "no answer from the Apple coordinator yet: asking again")
			if err := w.requestCoordinator(ctx, coordinator, req); err != nil {
				return AppleAnswer{}, err
			}
		case a.RequestID != req.RequestID:
			w.logger.Info("stale Apple answer ignored", "request", a.RequestID)
		case a.Outcome == AppleBudgetWaiting && a.NextAt != nil:
			why := "waiting for Apple's request budget: next activity at " + a.NextAt.UTC().Format(time.RFC3339)
			w.note(step, why)
			w.appleHeld = true // a wait a person may look for: the search attributes show it (lean.go)
			w.waiting(ctx, step, procedure.PartyApple, why, "", nil)
			patience = max(a.NextAt.Sub(workflow.Now(ctx)), 0) + batchPatience(w.timing)
		default:
			return a, nil
		}
	}
}

// receiveWithTimeout receives one value from ch, or reports false after d.
func receiveWithTimeout(ctx workflow.Context, ch workflow.ReceiveChannel, d time.Duration, out any) (bool, error) {
	got := false
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(timerCtx, d)
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, out); got = true })
	sel.AddFuture(timer, func(workflow.Future) {})
	sel.Select(ctx)
	return got, ctx.Err()
}

// requestCoordinator signals the coordinator; when none runs it starts one as an abandoned child
// (it outlives this device) and signals again.
func (w *device) requestCoordinator(ctx workflow.Context, id string, req AppleRequest) error {
	signal := signalAppleRequest
	if req.Kind == AppleLockRead {
		signal = signalAppleLockRequest // apple_coordinator_locks.go
	}
	err := workflow.SignalExternalWorkflow(ctx, id, "", signal, req).Get(ctx, nil)
	if err == nil || ctx.Err() != nil {
		return err
	}
	w.logger.Info("no Apple coordinator runs: starting one", "error", err)
	cctx := workflow.WithChildOptions(ctx, coordinatorChildOptions(id))
	err = workflow.ExecuteChildWorkflow(cctx, AppleCoordinator, CoordinatorInput{}).GetChildWorkflowExecution().Get(ctx, nil)
	switch {
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		// Another device started it a moment ago: give it its first workflow task.
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	return workflow.SignalExternalWorkflow(ctx, id, "", signal, req).Get(ctx, nil)
}
