package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
)

type fakeSender struct {
	mu   sync.Mutex
	got  map[string]string // workflow ID → the argument it received
	gone map[string]bool
	down map[string]bool
}

func (f *fakeSender) SignalWorkflow(_ context.Context, workflowID, runID, name string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.gone[workflowID]:
		return serviceerror.NewNotFound("workflow execution already completed")
	case f.down[workflowID]:
		return serviceerror.NewUnavailable("try again")
	}
	if runID != "" || name != "unassign-result" {
		return errors.New("unexpected run ID or signal name")
	}
	f.got[workflowID] = string(arg.(json.RawMessage))
	return nil
}

func signalsFor(ids ...string) SendInput {
	in := SendInput{Name: "unassign-result"}
	for _, id := range ids {
		in.Signals = append(in.Signals, Signal{WorkflowID: id, Arg: json.RawMessage(`{"serial":"` + id + `"}`)})
	}
	return in
}

// Every workflow gets its own argument; a closed one is reported as gone, not as a failure; any
// other failure fails the attempt so that the retry sends again.
func TestSignalWorkflows(t *testing.T) {
	f := &fakeSender{got: map[string]string{}, gone: map[string]bool{"W3": true}, down: map[string]bool{}}
	s := &Signals{Sender: f}
	var ids []string // more than sendConcurrency, so some wait for a ticket
	for i := 1; i <= 20; i++ {
		ids = append(ids, fmt.Sprintf("W%d", i))
	}
	r, err := s.SignalWorkflows(context.Background(), signalsFor(ids...))
	if err != nil {
		t.Fatal(err)
	}
	if r.Told != 19 || len(r.Gone) != 1 || r.Gone[0] != "W3" {
		t.Errorf("report %+v: want 19 told, W3 gone", r)
	}
	for _, id := range ids {
		if want := `{"serial":"` + id + `"}`; id != "W3" && f.got[id] != want {
			t.Errorf("%s received %q, want %q", id, f.got[id], want)
		}
	}
	f.down["W2"] = true
	if _, err := s.SignalWorkflows(context.Background(), signalsFor("W1", "W2")); err == nil {
		t.Error("a signal the server could not take did not fail the attempt")
	}
	if _, err := (&Signals{}).SignalWorkflows(context.Background(), signalsFor("W1")); !IsType(err, ErrNotConfigured) {
		t.Errorf("without a client: %v, want %s", err, ErrNotConfigured)
	}
}

// SignalListed signals every workflow the query lists, page after page, and counts the gone.
func TestSignalListedSignalsEveryPage(t *testing.T) {
	lister := &pagedLister{pages: [][]string{{"offboard-A", "offboard-B"}, {"offboard-C"}}}
	sender := &recordingSender{gone: map[string]bool{"offboard-B": true}}
	s := &Signals{Sender: sender, Lister: lister}
	report, err := s.SignalListed(context.Background(), WakeInput{Query: "WaitingOn = 'device'", Name: "device-event", Arg: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if report != (WakeReport{Listed: 3, Told: 2, Gone: 1}) {
		t.Errorf("report %+v, want 3 listed, 2 told, 1 gone", report)
	}
	slices.Sort(sender.told)
	if !slices.Equal(sender.told, []string{"offboard-A", "offboard-C"}) || lister.queries != 2 || lister.query != "WaitingOn = 'device'" {
		t.Errorf("told %v after %d list requests of %q", sender.told, lister.queries, lister.query)
	}
	if _, err := (&Signals{Sender: sender}).SignalListed(context.Background(), WakeInput{}); !IsType(err, ErrNotConfigured) {
		t.Errorf("without a lister: %v, want %s", err, ErrNotConfigured)
	}
}

type pagedLister struct {
	pages   [][]string
	queries int
	query   string
}

func (l *pagedLister) ListWorkflow(_ context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	i := 0
	if len(r.NextPageToken) > 0 {
		i = int(r.NextPageToken[0])
	}
	l.queries++
	l.query = r.Query
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, id := range l.pages[i] {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
	}
	if i+1 < len(l.pages) {
		resp.NextPageToken = []byte{byte(i + 1)}
	}
	return resp, nil
}

type recordingSender struct {
	mu   sync.Mutex
	gone map[string]bool
	told []string
}

func (s *recordingSender) SignalWorkflow(_ context.Context, id, _, _ string, _ any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone[id] {
		return serviceerror.NewNotFound("workflow not found")
	}
	s.told = append(s.told, id)
	return nil
}
