package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/procedure"
)

// maxAppleRounds bounds the activities created for one device before an operator is asked.
const maxAppleRounds = 5

// abmUnassign is `abm-unassign`, §5: unassign the device from this console's MDM server in Apple Business
// Manager (unassign, never release). Apple's POST is not idempotent, so the activity ID is kept in
// the workflow's state before polling, and after any failure the assignment is read again before
// another activity is created.
func (w *device) abmUnassign(ctx workflow.Context) (ending, error) {
	id := procedure.ABMUnassign
	if err := w.activationLockBeforeUnassign(ctx); err != nil {
		return ending{}, err
	}
	if !w.info.AppleConfigured {
		if _, err := w.askPerson(ctx, id, procedure.PartyOperator, "unassign the device in Apple Business Manager (no API credentials on this worker)",
			w.instruction(id), []string{procedure.OutcomeDone}); err != nil {
			return ending{}, err
		}
		return done("")
	}
	switch v := w.appleVersion(ctx); {
	case v >= 2 && w.alreadyUnassigned:
		return skipped("Apple Business Manager showed the device assigned to no MDM server at pre-flight: nothing to unassign")
	case v >= 1:
		return w.unassignThroughCoordinator(ctx)
	}
	// Before the coordinator: a fleet's device shared one activity with others (section5_batched.go).
	if w.batched() {
		return w.unassignBatched(ctx)
	}
	return w.unassignAlone(ctx)
}

// unassignAlone is §5 for one device before the Apple coordinator: read, POST one activity, poll,
// and read again after any failure before another POST. Kept for the devices that reached §5
// before it, and for a batch the old batcher saw refused.
func (w *device) unassignAlone(ctx workflow.Context) (ending, error) {
	id, serial := procedure.ABMUnassign, w.status.Serial
	w.begin(ctx, id, procedure.PartyApple, "unassigning in Apple Business Manager")
	for round := 1; ; round++ {
		var a activities.Assignment
		if err := workflow.ExecuteActivity(callOptions(ctx, contract.AppleTaskQueue, "read Apple assignment of "+serial), appleActs.AssignedServer, serial).Get(ctx, &a); err != nil {
			return w.appleByHand(ctx, "Apple Business Manager could not be read: "+errMessage(err))
		}
		if !a.Assigned {
			return done("Apple Business Manager shows no MDM server")
		}
		if w.info.AppleServerID != "" && a.ServerID != w.info.AppleServerID {
			return skipped(fmt.Sprintf("assigned to another MDM server (%s) now: not this console's to unassign", a.ServerID))
		}
		if round > maxAppleRounds {
			return w.appleByHand(ctx, fmt.Sprintf("the device is still assigned after %d activities", maxAppleRounds))
		}
		if w.status.AppleActID == "" {
			var act applebusiness.Activity
			err := workflow.ExecuteActivity(onceOptions(ctx, contract.AppleTaskQueue, "UNASSIGN_DEVICES "+serial), appleActs.Unassign, []string{serial}).Get(ctx, &act)
			if err != nil {
				if !retryable(err) {
					return w.appleByHand(ctx, "Apple refused the unassign: "+errMessage(err))
				}
				// Ambiguous: the activity may exist. Wait, then read the assignment again first.
				w.note(id, "unassign failed ("+errMessage(err)+"): checking the assignment again")
				if err := workflow.Sleep(ctx, retryDelay(err, round)); err != nil {
					return ending{}, err
				}
				continue
			}
			w.status.AppleActID = act.ID
			w.note(id, "activity "+act.ID)
			w.publish(ctx)
		}
		var act applebusiness.Activity
		w.waiting(ctx, id, procedure.PartyApple, "waiting for Apple's activity "+w.status.AppleActID, "", nil)
		err := workflow.ExecuteActivity(pollOptions(ctx, contract.AppleTaskQueue, "await Apple activity "+w.status.AppleActID, w.timing.ApplePoll, 0),
			appleActs.AwaitActivity, w.status.AppleActID).Get(ctx, &act)
		if err != nil && ctx.Err() != nil {
			return ending{}, err
		}
		if err != nil || act.Status != applebusiness.ActivityCompleted {
			w.note(id, fmt.Sprintf("activity %s ended %s %s", w.status.AppleActID, act.Status, act.SubStatus))
			w.status.AppleActID = ""
		}
	}
}

// appleByHand asks an operator to do §5 in Apple Business Manager.
func (w *device) appleByHand(ctx workflow.Context, why string) (ending, error) {
	if _, err := w.askPerson(ctx, procedure.ABMUnassign, procedure.PartyOperator, why, w.instruction(procedure.ABMUnassign),
		[]string{procedure.OutcomeDone}); err != nil {
		return ending{}, err
	}
	return done("done by hand in Apple Business Manager")
}

func retryable(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable()
	}
	return true // timeouts and transport errors: ambiguous, so check and retry
}

// retryDelay honours Apple's Retry-After, else backs off with the round.
func retryDelay(err error, round int) time.Duration {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NextRetryDelay() > 0 {
		return appErr.NextRetryDelay()
	}
	return time.Duration(round*round) * 5 * time.Second
}
