package workflows

import (
	"math"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
)

// Errors that no retry can fix: the workflow branches on them instead.
var nonRetryable = []string{
	activities.ErrLostModeOn, activities.ErrRecordGone, activities.ErrCommandFailed, activities.ErrRefused,
	activities.ErrNotConfigured, console.CodeCertificatesRemain, console.CodeVPPLicenseRemains,
	console.CodeWorkSmart, console.CodeNotGreyedOut, console.CodeNotManaged, console.CodeIdempotencyConflict,
}

// unlimited is spelled out: the server reads 0 as unlimited, the test environment as 10.
const unlimited = math.MaxInt32

// callOptions is for one outside call: retried with back-off until it succeeds or is refused for
// good. Nothing bounds the retries: the pending activity in the Web UI shows the last error, and
// an operator who sees the console down for days can cancel.
func callOptions(ctx workflow.Context, queue, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			MaximumAttempts:        unlimited,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// pollOptions is for a long wait as ONE activity: each attempt reads once and fails with
// ErrNotYet until the condition holds; the retry policy is the poll interval, so a wait of days
// adds no history events per poll. A `within` above zero ends the poll then (schedule-to-close):
// the wait's next reminder or deadline.
func pollOptions(ctx workflow.Context, queue, summary string, every, within time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              queue,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: within,
		Summary:                summary,
		// A poll is a read: a cancelled one (the wait woke up) is left to end on its own, and a
		// new one starts at once. An attempt holding a long poll would not hear of the
		// cancellation before it ends anyway (it does not heartbeat).
		WaitForCancellation: false,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        every,
			BackoffCoefficient:     1,
			MaximumInterval:        every,
			MaximumAttempts:        unlimited,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// longPollOptions is pollOptions for a console wait whose attempts hold a long poll and heartbeat
// while they hold it (activities.Console): a worker that dies mid-hold is noticed after the
// heartbeat timeout rather than the start-to-close timeout.
func longPollOptions(ctx workflow.Context, queue, summary string, every, within time.Duration) workflow.Context {
	return workflow.WithHeartbeatTimeout(pollOptions(ctx, queue, summary, every, within), activities.LongPollHeartbeatTimeout)
}

// onceOptions is for a call that must not be repeated blindly (Apple's POST is not idempotent):
// one attempt; the workflow decides what to do after a failure.
func onceOptions(ctx workflow.Context, queue, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
}

// notifyOptions bounds the retries of a notification: a channel that is down for ten minutes is
// logged, and the procedure goes on.
func notifyOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              contract.TaskQueue,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		Summary:                summary,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
}
