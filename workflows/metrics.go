package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/metrics"
	"github.com/offboard/offboard/internal/procedure"
)

// A device's metrics (internal/metrics, docs/metrics.md), through the workflow's metrics handler
// only: it records nothing while the workflow replays, and a metric is no command, so adding or
// changing these calls changes no history. Labels are the path, the outcome, the step and the
// party: never the serial or anything else of one device.

// recordDeviceStarted counts a device whose procedure begins.
func recordDeviceStarted(ctx workflow.Context, path string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelPath: path}).Counter(metrics.DevicesStarted).Inc(1)
}

// recordDeviceFinished counts a device that ends, and how long it took from its workflow's start.
func recordDeviceFinished(ctx workflow.Context, path, outcome string) {
	h := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelPath: path, metrics.LabelOutcome: outcome})
	h.Counter(metrics.DevicesFinished).Inc(1)
	h.Timer(metrics.DeviceDuration).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
}

// recordWait is called before the device's current step or the party it waits on changes to
// step and party: it ends the wait that was (its count and its duration since status.Since) and
// starts the new one. A step with no party ("none") is no wait.
func (w *device) recordWait(ctx workflow.Context, step procedure.StepID, party procedure.Party) {
	from, fromParty := w.status.Current, w.status.WaitingOn
	if from == step && fromParty == party {
		return
	}
	h := workflow.GetMetricsHandler(ctx)
	if isWait(from, fromParty) {
		ended := h.WithTags(map[string]string{metrics.LabelParty: string(fromParty), metrics.LabelStep: string(from)})
		ended.Counter(metrics.WaitsEnded).Inc(1)
		if w.status.Since != nil {
			ended.Timer(metrics.WaitDuration).Record(workflow.Now(ctx).Sub(*w.status.Since))
		}
	}
	if isWait(step, party) {
		h.WithTags(map[string]string{metrics.LabelParty: string(party), metrics.LabelStep: string(step)}).Counter(metrics.WaitsStarted).Inc(1)
	}
}

func isWait(step procedure.StepID, party procedure.Party) bool {
	return step != "" && party != "" && party != procedure.PartyNone
}

// recordStepEnd is called when a step ends (s has its state and end time): the step's duration
// by its state, and the end of the wait it was in. A step that never started is not timed.
func (w *device) recordStepEnd(ctx workflow.Context, s *StepStatus) {
	if s.StartedAt != nil && s.EndedAt != nil {
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelStep: string(s.ID), metrics.LabelState: s.State}).
			Timer(metrics.StepDuration).Record(s.EndedAt.Sub(*s.StartedAt))
	}
	w.recordWait(ctx, "", procedure.PartyNone)
}
