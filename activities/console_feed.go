package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/console"
)

// The console watcher's side (workflows/console_watcher.go): one activity follows the console's
// change feed (docs/console-api.md, "The change feed") and returns the devices that changed, so
// one workflow per console wakes exactly those. A waiting device then reads once per wake
// (CheckGreyedOut, CheckCommand) instead of holding a long poll.

// ErrNoFeed: the console endpoint serves no change feed (an adapter without GET /api/v1/changes):
// waiting devices fall back to their safety-net reads (CONSOLE_SAFETY_NET_POLL).
const ErrNoFeed = "NoChangeFeed"

// FollowInput is where to read the feed from and how long to follow it.
type FollowInput struct {
	Cursor string `json:"cursor"`
	// Hold is how long the activity follows the feed while no device changes: it then returns
	// the cursor it reached, so the watcher's history grows by one activity per Hold at most
	// while nothing happens.
	Hold time.Duration `json:"hold"`
	// Gather is how long it keeps reading after the first change, so changes close together wake
	// their devices in one batch.
	Gather time.Duration `json:"gather"`
	// MaxSerials ends the activity once that many devices changed (0: 1,000).
	MaxSerials int `json:"maxSerials,omitempty"`
}

// FollowResult lists the devices that changed, each once, and the cursor after them.
type FollowResult struct {
	Cursor  string   `json:"cursor"`
	Serials []string `json:"serials,omitempty"`
	// Changes counts the feed's entries read, the check-ins nobody waits for included.
	Changes  int `json:"changes"`
	Requests int `json:"requests"`
	// Expired: the console no longer kept the changes after the cursor (410); Cursor is the
	// oldest it keeps, and what happened in between is lost to the feed.
	Expired bool `json:"expired,omitempty"`
}

// feedWait is how long one read of the feed is held while nothing changes; minFeedGap is the
// least time between two reads that found nothing to wake.
const (
	feedWait   = 20 * time.Second
	minFeedGap = time.Second
)

// FollowChanges reads the change feed from in.Cursor until some devices changed (and Gather has
// passed) or Hold is over, and returns them. A change of lastCheckIn alone wakes nobody: no wait
// ends on it. It heartbeats its cursor, so a retried attempt goes on where the last one stopped.
func (c *Console) FollowChanges(ctx context.Context, in FollowInput) (FollowResult, error) {
	feed, ok := c.api().(console.Feed)
	if !ok {
		return FollowResult{}, temporal.NewNonRetryableApplicationError(
			"the console endpoint serves no change feed: waiting devices read it at their safety-net interval (CONSOLE_SAFETY_NET_POLL)", ErrNoFeed, nil)
	}
	res := FollowResult{Cursor: in.Cursor}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var last FollowResult
		if activity.GetHeartbeatDetails(ctx, &last) == nil && last.Cursor != "" {
			res = last
		}
	}
	maxSerials := in.MaxSerials
	if maxSerials <= 0 {
		maxSerials = 1000
	}
	seen := map[string]bool{}
	for _, s := range res.Serials {
		seen[s] = true
	}
	deadline := time.Now().Add(in.Hold)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl)-5*time.Second < in.Hold {
		deadline = dl.Add(-5 * time.Second)
	}
	var gatherUntil, lastIdle time.Time
	for {
		var wait time.Duration
		if !gatherUntil.IsZero() {
			// Gathering: let changes close together come, then read them without holding.
			t := time.NewTimer(time.Until(gatherUntil))
			select {
			case <-ctx.Done():
				t.Stop()
				return res, nil
			case <-t.C:
			}
		} else if wait = min(feedWait, time.Until(deadline)); wait < time.Second {
			wait = 0
		}
		if !lastIdle.IsZero() && time.Since(lastIdle) < minFeedGap {
			// The last page had nothing anybody waits for: a console that ignores skip=check-ins
			// answers every check-in at once, so read it at most once a second.
			time.Sleep(minFeedGap - time.Since(lastIdle))
		}
		lastIdle = time.Time{}
		before := len(res.Serials)
		page, err := feed.Changes(console.SkipCheckIns(ctx), res.Cursor, 1000, wait)
		res.Requests++
		var expired *console.ExpiredCursorError
		var api *console.APIError
		switch {
		case errors.As(err, &expired):
			res.Cursor, res.Expired = expired.Oldest, true
			return res, nil
		case errors.As(err, &api) && api.Status == 400 && res.Cursor != "":
			// A cursor this console never gave out (another console's): start from its oldest.
			res.Cursor, res.Expired = "", true
			return res, nil
		case errors.As(err, &api) && api.Status == 404:
			return res, temporal.NewNonRetryableApplicationError(
				"the console endpoint serves no change feed (GET /api/v1/changes answered 404): waiting devices read it at their safety-net interval (CONSOLE_SAFETY_NET_POLL)", ErrNoFeed, nil)
		case err != nil && len(res.Serials) > 0:
			return res, nil // deliver what was read; the next run reads on from the cursor
		case err != nil:
			return res, classifyConsole("(feed)", "read the change feed", err)
		}
		res.Cursor = page.Cursor
		res.Changes += len(page.Changes)
		for _, ch := range page.Changes {
			if ch.OnlyCheckIn() || seen[ch.Serial] {
				continue
			}
			seen[ch.Serial] = true
			res.Serials = append(res.Serials, ch.Serial)
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, res)
		}
		if len(res.Serials) == before && !page.More {
			lastIdle = time.Now()
		}
		switch {
		case len(res.Serials) >= maxSerials:
			return res, nil
		case page.More:
			continue
		case !gatherUntil.IsZero():
			return res, nil // gathered
		case len(res.Serials) > 0:
			gatherUntil = time.Now().Add(in.Gather)
			continue
		case time.Until(deadline) < time.Second:
			return res, nil // held for Hold: nothing changed that anybody waits for
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
}

// WaitCheck is one read of what a waiting device waits for: whether it happened, and the record
// or the command as read.
type WaitCheck struct {
	Done    bool             `json:"done"`
	Device  *console.Device  `json:"device,omitempty"`
	Command *console.Command `json:"command,omitempty"`
	Detail  string           `json:"detail,omitempty"`
}

// CheckGreyedOut reads the record once: Done once the console shows it greyed-out (取消線).
func (c *Console) CheckGreyedOut(ctx context.Context, serial string) (WaitCheck, error) {
	d, err := c.api().Device(ctx, serial)
	if err != nil {
		return WaitCheck{}, classifyConsole(serial, "read the device record", err)
	}
	return WaitCheck{Done: d.Status == console.StatusGreyedOut, Device: &d,
		Detail: fmt.Sprintf("device %s is %s (last check-in %s)", serial, d.Status, d.LastCheckIn.Format("2006-01-02 15:04 MST"))}, nil
}

// CheckCommand reads a queued command once: Done once the device carried it out; a command the
// device reported as failed is the non-retryable ErrCommandFailed, as for AwaitCommand.
func (c *Console) CheckCommand(ctx context.Context, ref CommandRef) (WaitCheck, error) {
	cmd, err := c.api().Command(ctx, ref.Serial, ref.CommandID)
	if err != nil {
		return WaitCheck{}, classifyConsole(ref.Serial, "read command "+ref.CommandID, err)
	}
	if cmd.Status == console.CommandFailed {
		msg := "the device reported the command as failed"
		if cmd.Error != nil {
			msg = cmd.Error.Message
		}
		return WaitCheck{Command: &cmd}, temporal.NewNonRetryableApplicationError("device "+ref.Serial+": "+cmd.Type+": "+msg, ErrCommandFailed, nil)
	}
	return WaitCheck{Done: cmd.Status == console.CommandCompleted, Command: &cmd,
		Detail: fmt.Sprintf("device %s: %s is %s", ref.Serial, cmd.Type, cmd.Status)}, nil
}
