package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/offboard/offboard/internal/applebusiness"
)

// BatchOutcome is what an UNASSIGN_DEVICES activity of many devices did, once final.
type BatchOutcome struct {
	Activity applebusiness.Activity `json:"activity"`
	// LogRead: the activity log was read. Without it only a COMPLETED_WITH_SUCCESS activity says
	// how each device fared.
	LogRead bool `json:"logRead,omitempty"`
	// Succeeded are the serials the log shows processed; Failed the log lines of the others. A
	// serial in neither is unknown, and its workflow verifies it itself.
	Succeeded []string                     `json:"succeeded,omitempty"`
	Failed    []applebusiness.DeviceResult `json:"failed,omitempty"`
	// Log is every line of the log, for the devices' records (ActivityLog only).
	Log []applebusiness.DeviceResult `json:"log,omitempty"`
}

// AwaitBatch succeeds once an Apple Business activity of many devices is final; until then it
// fails with ErrNotYet and is retried at the poll interval. An activity that did not succeed for
// every device has its log read (Apple's downloadUrl: a presigned URL, not an API call), so each
// device's own result is known.
//
// An attempt holds for up to the long-poll hold (20 s): it waits firstAfter before its first read
// (an activity just created is in progress, and a read then is an Apple call for nothing) and reads
// again every `every` while the activity is in progress, so a poll needs no timer on the server,
// whose timers fire late when it is loaded. With a poll interval longer than the hold, an attempt
// is one read, and the server's retry is the next.
func (a *Apple) AwaitBatch(ctx context.Context, id string, firstAfter, every time.Duration) (BatchOutcome, error) {
	limit := holdFor(ctx)
	if a.HoldCap > 0 {
		limit = min(limit, a.HoldCap)
	}
	until := time.Now().Add(limit)
	defer keepAlive(ctx)() // the workflow sets a heartbeat timeout: a worker that dies mid-hold is noticed in seconds
	if firstAfter > 0 && (!activity.IsActivity(ctx) || activity.GetInfo(ctx).Attempt == 1) {
		if err := sleepCtx(ctx, min(firstAfter, limit)); err != nil {
			return BatchOutcome{}, err
		}
	}
	for {
		out, err := a.awaitBatchOnce(ctx, id)
		if !IsType(err, ErrNotYet) || every <= 0 || time.Now().Add(every).After(until) {
			return out, err
		}
		if err := sleepCtx(ctx, every); err != nil {
			return out, err
		}
	}
}

// sleepCtx waits d, or less if ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// awaitBatchOnce reads the activity once, and its log once it is final.
func (a *Apple) awaitBatchOnce(ctx context.Context, id string) (BatchOutcome, error) {
	act, err := a.AwaitActivity(ctx, id)
	if err != nil || act.Succeeded() {
		return BatchOutcome{Activity: act}, err
	}
	out, err := a.ActivityLog(ctx, act)
	out.Log = nil // the batcher's devices take only their outcome
	return out, err
}
