package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
)

// sendSignals sends many devices their answers in one activity (activities.Signals), for the
// workflows that answer many devices (the Apple coordinator, the batcher). Signalled from the
// workflow, each answer would come back as a confirmation event and nearly always a workflow task
// of the sender's own.
func sendSignals(ctx workflow.Context, logger log.Logger, in activities.SendInput) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: contract.BatcherTaskQueue, StartToCloseTimeout: time.Minute,
		Summary: fmt.Sprintf("tell %d devices their %s", len(in.Signals), in.Name),
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrNotConfigured}},
	})
	var report activities.SendReport
	err := workflow.ExecuteActivity(actx, signalActs.SignalWorkflows, in).Get(ctx, &report)
	switch {
	case activities.IsType(err, activities.ErrNotConfigured):
		// A worker without a Temporal client for the activity: signal each device.
		signalEach(ctx, logger, in)
	case err != nil:
		// The devices ask again once their patience runs out; a sender never takes one twice.
		logger.Warn("devices not told their answer: they will ask again", "devices", len(in.Signals), "error", err)
	case len(report.Gone) > 0:
		// Gone (cancelled, or finished another way): nothing waits for these answers.
		logger.Warn("devices gone before their answer", "workflows", report.Gone)
	}
}

// signalEach sends the answers from the workflow itself, one signal a device.
func signalEach(ctx workflow.Context, logger log.Logger, in activities.SendInput) {
	futures := make([]workflow.Future, len(in.Signals))
	for i, sig := range in.Signals {
		futures[i] = workflow.SignalExternalWorkflow(ctx, sig.WorkflowID, "", in.Name, sig.Arg)
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			logger.Warn("device not told its unassign result", "workflow", in.Signals[i].WorkflowID, "error", err)
		}
	}
}
