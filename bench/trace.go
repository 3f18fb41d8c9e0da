package main

import (
	"context"
	"fmt"
	"time"

	historypb "go.temporal.io/api/history/v1"
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
		b.eachEvent(ctx, workflows.BatcherWorkflowID, run, func(ev *historypb.HistoryEvent) bool {
			if t := ev.GetEventTime().AsTime(); !t.Before(from) && !t.After(to) {
				fmt.Printf("    %s %s\n", t.Format("15:04:05.000"), eventName(ev))
			}
			return true
		})
	}
}
