package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
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
