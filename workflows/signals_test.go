package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// handOffProbe counts the values taken from a channel by a consumer coroutine, then sends one more
// and, in the same step, drains the channel and ends, as a continue-as-new does when a signal comes
// in the workflow task that decides it. withPump consumes with pump; otherwise with a coroutine
// blocked in Receive, the pattern pump replaces. A value sent to a channel with a blocked receiver
// is handed to that receiver (signals are delivered the same way).
func handOffProbe(ctx workflow.Context, withPump bool) (int, error) {
	ch := workflow.NewBufferedChannel(ctx, 10)
	got := 0
	if withPump {
		pump(ctx, ch, func() bool {
			if !ch.ReceiveAsync(nil) {
				return false
			}
			got++
			return true
		})
	} else {
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				ch.Receive(ctx, nil)
				got++
			}
		})
	}
	ch.SendAsync(1)
	if err := workflow.Sleep(ctx, time.Second); err != nil { // the consumer takes it, and waits again
		return got, err
	}
	ch.SendAsync(2)
	for ch.ReceiveAsync(nil) {
		got++
	}
	return got, nil
}

func TestPumpLeavesValuesToTheDrain(t *testing.T) {
	for _, withPump := range []bool{true, false} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterWorkflow(handOffProbe)
		env.ExecuteWorkflow(handOffProbe, withPump)
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		var got int
		if err := env.GetWorkflowResult(&got); err != nil {
			t.Fatal(err)
		}
		t.Logf("withPump=%v: %d of 2 values counted", withPump, got)
		if withPump && got != 2 {
			t.Errorf("pump: %d of 2 values counted: the one sent as the workflow ended was lost", got)
		}
	}
}
