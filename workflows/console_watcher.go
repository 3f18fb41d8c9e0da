package workflows

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
)

// The console watcher: one workflow per console follows its change feed (docs/console-api.md,
// "The change feed") and wakes exactly the devices that changed with the device-event signal, so
// a waiting device holds no activity and reads the console only when woken (or at its rare
// safety-net read). Waiting then costs one follower per console, not a poll per device.
//
// Why a workflow and not a component of the worker: a console must have exactly one follower
// however many workers run (a goroutine in each worker would read the feed and signal every
// device once per worker), its cursor must survive a worker's crash (it is the workflow's
// state, carried by continue-as-new), and it shows in the Web UI and answers a query like every
// other part of Offboard. Its cost is one activity per batch of changes (or per Hold while
// nothing happens) and one signalling activity per batch.
const (
	ConsoleWatcherWorkflowType = "ConsoleWatcher"
	// QueryWatcher shows the watcher's cursor and totals.
	QueryWatcher = "watcher"
)

// ConsoleWatcherWorkflowID is the watcher of the console at endpoint (CONSOLE_URL): its host and
// path, never credentials (the console client refuses a URL with any).
func ConsoleWatcherWorkflowID(endpoint string) string {
	name := endpoint
	if u, err := url.Parse(strings.TrimSpace(endpoint)); err == nil && u.Host != "" {
		name = u.Host + strings.TrimRight(u.Path, "/")
	}
	return "console-watcher-" + strings.NewReplacer("/", "-", ":", "-", " ", "-").Replace(name)
}

// WatcherInput starts a run; a continue-as-new carries the cursor and the totals.
type WatcherInput struct {
	Cursor string `json:"cursor,omitempty"`
	// Hold and Gather tune the follow activity (activities.FollowInput); 0: an hour and 2 s.
	Hold   time.Duration `json:"hold,omitempty"`
	Gather time.Duration `json:"gather,omitempty"`
	// RunLength is how many batches a run follows before it continues as new (0: 500), unless
	// the server suggests it sooner: the history stays bounded.
	RunLength int           `json:"runLength,omitempty"`
	Totals    WatcherTotals `json:"totals"`
}

// WatcherTotals count the watcher's work over all its runs.
type WatcherTotals struct {
	Runs     int `json:"runs"`
	Batches  int `json:"batches"`  // follow activities
	Requests int `json:"requests"` // feed requests
	Changes  int `json:"changes"`  // feed entries read
	Woken    int `json:"woken"`    // devices signalled
	Gone     int `json:"gone"`     // changed devices with no workflow running: skipped
	Expired  int `json:"expired"`  // 410s: changes lost to the feed
	GapWoken int `json:"gapWoken"` // devices woken after a 410 (changeWakeAfterGap), every one waiting on its device
}

// WatcherStatus answers the watcher query.
type WatcherStatus struct {
	Cursor string        `json:"cursor"`
	Totals WatcherTotals `json:"totals"`
}

// ConsoleWatcher follows the console's change feed until cancelled.
func ConsoleWatcher(ctx workflow.Context, in WatcherInput) error {
	logger := workflow.GetLogger(ctx)
	totals := in.Totals
	totals.Runs++
	cursor := in.Cursor
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryWatcher, func() (WatcherStatus, error) {
		return WatcherStatus{Cursor: cursor, Totals: totals}, nil
	}, workflow.QueryHandlerOptions{Description: "the change feed's cursor and the devices woken"}); err != nil {
		return err
	}
	hold, gather, runLength := in.Hold, in.Gather, in.RunLength
	if hold <= 0 {
		hold = time.Hour
	}
	if gather <= 0 {
		gather = 2 * time.Second
	}
	if runLength <= 0 {
		runLength = 500
	}
	follow := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: contract.ConsoleTaskQueue, StartToCloseTimeout: hold + time.Minute, HeartbeatTimeout: time.Minute,
		Summary: "follow the console's change feed",
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: append([]string{activities.ErrNoFeed}, nonRetryable...)},
	})
	arg, _ := json.Marshal(DeviceEvent{Event: contract.EventConsoleChanged, Source: "console watcher"}) //workflowcheck:ignore
	for batch := 0; ; batch++ {
		if batch >= runLength || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, ConsoleWatcher,
				WatcherInput{Cursor: cursor, Hold: in.Hold, Gather: in.Gather, RunLength: in.RunLength, Totals: totals})
		}
		var res activities.FollowResult
		err := workflow.ExecuteActivity(follow, consoleActs.FollowChanges,
			activities.FollowInput{Cursor: cursor, Hold: hold, Gather: gather}).Get(ctx, &res)
		if err != nil {
			// No feed, or a refusal no retry fixes: the devices' safety-net reads carry them.
			logger.Error("the console watcher stops: devices fall back on their safety-net reads", "error", err)
			return err
		}
		cursor = res.Cursor
		totals.Batches++
		totals.Requests += res.Requests
		totals.Changes += res.Changes
		if res.Expired {
			totals.Expired++
			wakeAfterGap(ctx, &totals, cursor)
		}
		if len(res.Serials) == 0 {
			continue
		}
		in := activities.SendInput{Name: contract.SignalDeviceEvent}
		for _, serial := range res.Serials {
			in.Signals = append(in.Signals, activities.Signal{WorkflowID: contract.DeviceWorkflowID(serial), Arg: arg})
		}
		report, err := wake(ctx, in)
		if err != nil {
			logger.Warn("devices not woken: they read at their safety-net interval", "devices", len(in.Signals), "error", err)
			continue
		}
		totals.Woken += report.Told
		totals.Gone += len(report.Gone)
	}
}

// changeWakeAfterGap: from version 1, when the change feed no longer kept the changes after the
// cursor (410 cursor-expired, or a cursor the console never gave out), the watcher wakes every
// device that waits on its device (WaitingOn=device, from visibility) and each reads the console
// once: a change lost in the gap is found within minutes, not at the next safety-net read (a day
// by default). Before, the watcher only logged the gap.
const changeWakeAfterGap = "watcher-wakes-after-gap"

// waitingOnDeviceQuery lists the devices a lost change may concern.
var waitingOnDeviceQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
	contract.DeviceWorkflowType, contract.SAWaitingOn, contract.WaitingOnDevice)

// wakeAfterGap wakes the devices that wait on their device after the feed lost changes.
func wakeAfterGap(ctx workflow.Context, totals *WatcherTotals, cursor string) {
	logger := workflow.GetLogger(ctx)
	if workflow.GetVersion(ctx, changeWakeAfterGap, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		logger.Warn("the change feed no longer kept the changes after the cursor: waiting devices catch up at their safety-net read",
			"cursor", cursor)
		return
	}
	logger.Warn("the change feed no longer kept the changes after the cursor: waking every device that waits on its device",
		"cursor", cursor)
	arg, _ := json.Marshal(DeviceEvent{Event: contract.EventConsoleChanged, Source: "console watcher, after the change feed lost changes"}) //workflowcheck:ignore
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: contract.BatcherTaskQueue, StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: 2 * time.Minute,
		Summary: "wake every device waiting on its device: the change feed lost changes",
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrNotConfigured}},
	})
	var report activities.WakeReport
	err := workflow.ExecuteActivity(actx, signalActs.SignalListed,
		activities.WakeInput{Query: waitingOnDeviceQuery, Name: contract.SignalDeviceEvent, Arg: arg}).Get(ctx, &report)
	if err != nil {
		logger.Warn("devices not woken after the feed's gap: they read at their safety-net interval", "error", err)
		return
	}
	totals.GapWoken += report.Told
	totals.Gone += report.Gone
}

// wake signals the devices that changed, in one activity; a device not running is skipped.
func wake(ctx workflow.Context, in activities.SendInput) (activities.SendReport, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: contract.BatcherTaskQueue, StartToCloseTimeout: 2 * time.Minute,
		Summary: fmt.Sprintf("wake %d devices that changed", len(in.Signals)),
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrNotConfigured}},
	})
	var report activities.SendReport
	err := workflow.ExecuteActivity(actx, signalActs.SignalWorkflows, in).Get(ctx, &report)
	return report, err
}

// watcherChildOptions start the watcher as an abandoned child: it outlives the device that
// started it.
func watcherChildOptions(id string) workflow.ChildWorkflowOptions {
	return workflow.ChildWorkflowOptions{
		WorkflowID: id, TaskQueue: contract.BatcherTaskQueue, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary: "console watcher: follows the console's change feed and wakes the devices that changed",
	}
}
