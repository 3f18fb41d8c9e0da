package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// Sender sends a signal to a workflow; client.Client is one.
type Sender interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Signals sends a workflow's signals to many workflows in one activity. A workflow that signals
// another by itself (workflow.SignalExternalWorkflow) gets a confirmation event back for each, and
// a workflow task for nearly each: the batcher, which answers every device of a batch, spent most
// of its work on those. Signals sent by an activity cost the sender one activity.
type Signals struct {
	Sender Sender // nil: the worker has no Temporal client
}

// Signal is one signal: the workflow it goes to (its current run) and its argument as JSON.
type Signal struct {
	WorkflowID string          `json:"workflowId"`
	Arg        json.RawMessage `json:"arg"`
}

// SendInput names the signal and lists who gets it.
type SendInput struct {
	Name    string   `json:"name"`
	Signals []Signal `json:"signals"`
}

// SendReport says how many were delivered and which workflows were gone (closed, or never
// there): nothing waits for their signal.
type SendReport struct {
	Told int      `json:"told"`
	Gone []string `json:"gone,omitempty"`
}

// sendConcurrency bounds the signals in flight at once.
const sendConcurrency = 16

// SignalWorkflows delivers every signal. An attempt that fails for another reason than a gone
// workflow fails whole, and the retry sends them all again: a receiver takes a signal it already
// has as stale.
func (s *Signals) SignalWorkflows(ctx context.Context, in SendInput) (SendReport, error) {
	if s == nil || s.Sender == nil {
		return SendReport{}, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to send signals with", ErrNotConfigured, nil)
	}
	var (
		mu      sync.Mutex
		report  SendReport
		failed  error
		wg      sync.WaitGroup
		tickets = make(chan struct{}, sendConcurrency)
	)
	for _, sig := range in.Signals {
		wg.Add(1)
		tickets <- struct{}{}
		go func() {
			defer func() { <-tickets; wg.Done() }()
			err := s.Sender.SignalWorkflow(ctx, sig.WorkflowID, "", in.Name, sig.Arg)
			mu.Lock()
			defer mu.Unlock()
			var gone *serviceerror.NotFound
			switch {
			case err == nil:
				report.Told++
			case errors.As(err, &gone):
				report.Gone = append(report.Gone, sig.WorkflowID)
			case failed == nil:
				failed = fmt.Errorf("signal %s to %s: %w", in.Name, sig.WorkflowID, err)
			}
		}()
	}
	wg.Wait()
	return report, failed
}
