package workerapp

import (
	"testing"

	"github.com/offboard/offboard/internal/contract"

	"github.com/offboard/offboard/internal/config"
)

// Each outside system's queue carries its own server-side rate limit, from CONSOLE_RATE_LIMIT and
// APPLE_RATE_LIMIT; the workflow queue has none.
func TestQueuesCarryTheirRateLimits(t *testing.T) {
	cfg := config.Worker{Console: config.Console{RateLimit: 20}, Apple: config.Apple{RateLimit: 5},
		MaxConcurrentActivities: 50, MaxConcurrentWorkflowTasks: 10, WorkflowTaskPollers: 3, ActivityTaskPollers: 4}
	q := QueueOptions(OptionsFrom(cfg))
	if got := q[contract.ConsoleTaskQueue].TaskQueueActivitiesPerSecond; got != 20 {
		t.Errorf("console queue: %v activities/s, want 20", got)
	}
	if got := q[contract.AppleTaskQueue].TaskQueueActivitiesPerSecond; got != 5 {
		t.Errorf("apple queue: %v activities/s, want 5", got)
	}
	main := q[contract.TaskQueue]
	if main.TaskQueueActivitiesPerSecond != 0 || main.MaxConcurrentWorkflowTaskExecutionSize != 10 || main.MaxConcurrentActivityExecutionSize != 50 {
		t.Errorf("offboarding queue options %+v", main)
	}
	if main.MaxConcurrentWorkflowTaskPollers != 3 || main.MaxConcurrentActivityTaskPollers != 4 || q[contract.ConsoleTaskQueue].MaxConcurrentActivityTaskPollers != 4 {
		t.Errorf("pollers not taken from the configuration: %+v", main)
	}
	if b, ok := q[contract.BatcherTaskQueue]; !ok || b.TaskQueueActivitiesPerSecond != 0 {
		t.Errorf("batcher queue options %+v (present: %v)", b, ok)
	}
	if len(q) != 4 {
		t.Errorf("%d queues, want offboarding, clomo-console, apple-business and offboarding-batcher", len(q))
	}
}
