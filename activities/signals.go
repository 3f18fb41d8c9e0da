package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
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
	Lister Lister // for SignalListed; nil: it refuses
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

// fanOut runs do(i) for every i below n, sendConcurrency at a time, and returns when all have.
func fanOut(n int, do func(i int)) {
	var wg sync.WaitGroup
	tickets := make(chan struct{}, sendConcurrency)
	for i := range n {
		wg.Add(1)
		tickets <- struct{}{}
		go func() {
			defer func() { <-tickets; wg.Done() }()
			do(i)
		}()
	}
	wg.Wait()
}

// SignalWorkflows delivers every signal. An attempt that fails for another reason than a gone
// workflow fails whole, and the retry sends them all again: a receiver takes a signal it already
// has as stale.
func (s *Signals) SignalWorkflows(ctx context.Context, in SendInput) (SendReport, error) {
	if s == nil || s.Sender == nil {
		return SendReport{}, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to send signals with", ErrNotConfigured, nil)
	}
	var (
		mu     sync.Mutex
		report SendReport
		failed error
	)
	fanOut(len(in.Signals), func(i int) {
		sig := in.Signals[i]
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
	})
	return report, failed
}

// Lister lists workflows from visibility; client.Client is one.
type Lister interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// WakeInput names the signal every workflow Query lists gets.
type WakeInput struct {
	Query string          `json:"query"`
	Name  string          `json:"name"`
	Arg   json.RawMessage `json:"arg"`
}

// WakeReport counts the workflows listed and told.
type WakeReport struct {
	Listed int `json:"listed"`
	Told   int `json:"told"`
	Gone   int `json:"gone"`
}

// SignalListed signals every workflow that Query lists, a page at a time (the console watcher
// wakes every device that waits on its device after the change feed lost changes). It heartbeats
// the page it has reached, so a retried attempt goes on from there; a workflow told twice takes
// the second signal as one more reason to look.
func (s *Signals) SignalListed(ctx context.Context, in WakeInput) (WakeReport, error) {
	if s == nil || s.Sender == nil || s.Lister == nil {
		return WakeReport{}, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to list and signal workflows with", ErrNotConfigured, nil)
	}
	var progress struct {
		Token  []byte     `json:"token"`
		Report WakeReport `json:"report"`
	}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &progress)
	}
	for {
		resp, err := s.Lister.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: in.Query, PageSize: 1000, NextPageToken: progress.Token})
		if err != nil {
			return progress.Report, fmt.Errorf("list %q: %w", in.Query, err)
		}
		send := SendInput{Name: in.Name}
		for _, e := range resp.GetExecutions() {
			send.Signals = append(send.Signals, Signal{WorkflowID: e.GetExecution().GetWorkflowId(), Arg: in.Arg})
		}
		told, err := s.SignalWorkflows(ctx, send)
		if err != nil {
			return progress.Report, err
		}
		progress.Report.Listed += len(send.Signals)
		progress.Report.Told += told.Told
		progress.Report.Gone += len(told.Gone)
		if progress.Token = resp.GetNextPageToken(); len(progress.Token) == 0 {
			return progress.Report, nil
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, progress)
		}
	}
}
