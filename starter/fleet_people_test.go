package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

// fleetServer answers the fleet's progress query and its updates as a fleet would.
type fleetServer struct {
	client.Client
	progress workflows.FleetProgress
	result   any
	refuse   string
	sent     []client.UpdateWorkflowOptions
}

func (f *fleetServer) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return queryAnswer{f.progress}, nil
}

type queryAnswer struct{ v any }

func (q queryAnswer) HasValue() bool { return true }
func (q queryAnswer) Get(out any) error {
	b, _ := json.Marshal(q.v)
	return json.Unmarshal(b, out)
}

type answer struct {
	v   any
	err error
}

func (a answer) WorkflowID() string { return "" }
func (a answer) RunID() string      { return "" }
func (a answer) UpdateID() string   { return "" }
func (a answer) Get(_ context.Context, out any) error {
	if a.err != nil {
		return a.err
	}
	b, _ := json.Marshal(a.v)
	return json.Unmarshal(b, out)
}

func (f *fleetServer) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.sent = append(f.sent, o)
	if f.refuse != "" {
		return answer{err: temporal.NewApplicationError(f.refuse, "")}, nil
	}
	return answer{v: f.result}, nil
}

func TestFleetComplete(t *testing.T) {
	srv := &fleetServer{
		progress: workflows.FleetProgress{Tasks: []workflows.FleetTask{{Step: procedure.DeleteGreyedOutRecord, Serials: []string{"AAA111", "BBB222"}}}},
		result: workflows.FleetStepResult{Step: procedure.DeleteGreyedOutRecord, Reported: map[string]int{"done": 1},
			Refused: []workflows.FleetNote{{Serial: "BBB222", Detail: "it waits at remove-certificates"}}},
	}
	var out bytes.Buffer
	err := FleetComplete(context.Background(), srv, &out, "mar", procedure.DeleteGreyedOutRecord, "lead", "", "bulk",
		[]workflows.FleetStepException{{Serial: "BBB222", Outcome: procedure.OutcomeCertificatesRemain}})
	if err == nil || !strings.Contains(err.Error(), "1 device(s) did not take the report") {
		t.Errorf("a refused device: %v", err)
	}
	for _, want := range []string{"Reporting delete-greyed-out-record for 2 device(s) of fleet mar: AAA111, BBB222", "1 device(s): done", "BBB222 did not take it: it waits at remove-certificates"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if len(srv.sent) != 1 || srv.sent[0].UpdateName != contract.UpdateCompleteFleetStep || srv.sent[0].WorkflowID != "fleet-mar" {
		t.Fatalf("sent %+v", srv.sent)
	}
	r := srv.sent[0].Args[0].(workflows.FleetStepReport)
	if r.By != "lead" || len(r.Serials) != 2 || len(r.Except) != 1 || r.Note != "bulk" {
		t.Errorf("report %+v: want the task's serials named", r)
	}

	// No task at the step: nothing sent.
	srv.sent = nil
	if err := FleetComplete(context.Background(), srv, &out, "mar", procedure.DeleteManagedRecord, "lead", "", "", nil); err == nil ||
		!strings.Contains(err.Error(), "no device waits at delete-managed-record") || len(srv.sent) != 0 {
		t.Errorf("no task: %v, sent %d", err, len(srv.sent))
	}
}

func TestFleetApprove(t *testing.T) {
	srv := &fleetServer{result: "fleet mar approved: its 200 devices start"}
	var out bytes.Buffer
	if err := FleetApprove(context.Background(), srv, &out, "mar", "bob", "ok"); err != nil || !strings.Contains(out.String(), "approved") {
		t.Fatalf("approve: %v %q", err, out.String())
	}
	srv.refuse = "alice started fleet mar: its 200 wipes need a second person's approval"
	if err := FleetApprove(context.Background(), srv, &out, "mar", "alice", ""); err == nil || !strings.Contains(err.Error(), "fleet mar: alice started fleet mar") {
		t.Errorf("the starter's own approval: %v", err)
	}
}
