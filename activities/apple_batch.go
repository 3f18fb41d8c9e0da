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
}

// AwaitBatch succeeds once an Apple Business activity of many devices is final; until then it
// fails with ErrNotYet and is retried at the poll interval. An activity that did not succeed for
// every device has its log read (Apple's downloadUrl: a presigned URL, not an API call), so each
// device's own result is known.
//
// firstAfter is how long after its creation the activity is first read: an activity just
// created is in progress, and a read then is an Apple call for nothing. The first attempt waits
// it out itself (at most the long-poll hold), so the wait needs no timer on the server, whose
// timers lag when it is loaded.
func (a *Apple) AwaitBatch(ctx context.Context, id string, firstAfter time.Duration) (BatchOutcome, error) {
	if firstAfter > 0 && (!activity.IsActivity(ctx) || activity.GetInfo(ctx).Attempt == 1) {
		limit := holdFor(ctx)
		if a.FirstReadCap > 0 {
			limit = min(limit, a.FirstReadCap)
		}
		t := time.NewTimer(min(firstAfter, limit))
		select {
		case <-ctx.Done():
			t.Stop()
			return BatchOutcome{}, ctx.Err()
		case <-t.C:
		}
	}
	act, err := a.AwaitActivity(ctx, id)
	if err != nil {
		return BatchOutcome{Activity: act}, err
	}
	out := BatchOutcome{Activity: act}
	if act.Succeeded() || act.DownloadURL == "" {
		return out, nil
	}
	reader, ok := a.API.(applebusiness.ActivityLogReader)
	if !ok {
		return out, nil
	}
	rows, err := reader.ActivityLog(ctx, act.DownloadURL)
	if err != nil {
		return out, classifyApple("read the log of activity "+id, err)
	}
	out.LogRead = true
	for _, r := range rows {
		if r.Succeeded() {
			out.Succeeded = append(out.Succeeded, r.Serial)
		} else {
			out.Failed = append(out.Failed, r)
		}
	}
	return out, nil
}
