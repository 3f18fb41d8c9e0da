package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/workflows"
)

// traceBatcher prints the batcher's events between from and to, every run of it (BENCH_TRACE=1:
// what the batcher did while the slowest device waited longest).
func (b *bench) traceBatcher(ctx context.Context, from, to time.Time) {
	resp, err := b.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", workflows.BatcherWorkflowID), PageSize: 100})
	if err != nil {
		return
	}
	for _, e := range resp.GetExecutions() {
		run := e.GetExecution().GetRunId()
		fmt.Printf("  batcher run %s %s..%s len %d\n", run[:8], e.GetStartTime().AsTime().Format("15:04:05.000"), e.GetCloseTime().AsTime().Format("15:04:05.000"), e.GetHistoryLength())
		iter := b.c.GetWorkflowHistory(ctx, workflows.BatcherWorkflowID, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				break
			}
			t := ev.GetEventTime().AsTime()
			if t.Before(from) || t.After(to) {
				continue
			}
			name := ev.GetEventType().String()
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				name += " " + a.GetActivityType().GetName()
			}
			if a := ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); a != nil {
				name += " " + a.GetSignalName() + " " + a.GetWorkflowExecution().GetWorkflowId()
			}
			if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
				name += " " + a.GetSignalName()
			}
			if a := ev.GetTimerStartedEventAttributes(); a != nil {
				name += " " + a.GetStartToFireTimeout().AsDuration().String()
			}
			if a := ev.GetActivityTaskFailedEventAttributes(); a != nil {
				name += " " + a.GetFailure().GetMessage()
			}
			fmt.Printf("    %d %s %s\n", ev.GetEventId(), t.Format("15:04:05.000"), name)
		}
	}
}
