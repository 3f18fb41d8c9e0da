package activities

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// updater is a client that answers updates: accepted, refused by the validator, gone, or down.
type updater struct {
	client.Client
	mu      sync.Mutex
	answers map[string]error // workflow ID → the update's outcome
	sent    []client.UpdateWorkflowOptions
}

type updateHandle struct {
	id  string
	err error
}

func (h updateHandle) WorkflowID() string             { return h.id }
func (h updateHandle) RunID() string                  { return "" }
func (h updateHandle) UpdateID() string               { return "" }
func (h updateHandle) Get(context.Context, any) error { return h.err }
func (u *updater) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sent = append(u.sent, o)
	err := u.answers[o.WorkflowID]
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) || (err != nil && !isApp(err)) {
		return nil, err
	}
	return updateHandle{id: o.WorkflowID, err: err}, nil
}

func isApp(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app)
}

func TestDeliverReports(t *testing.T) {
	u := &updater{answers: map[string]error{
		"offboard-B": temporal.NewApplicationError(`device B is not waiting on step "delete-greyed-out-record"`, ""),
		"offboard-C": serviceerror.NewNotFound("gone"),
	}}
	f := &Fleet{Client: u}
	in := DeliverInput{UpdateName: "complete-step"}
	for _, s := range []string{"A", "B", "C"} {
		in.Reports = append(in.Reports, DeviceReport{Serial: s, WorkflowID: "offboard-" + s, UpdateID: "fleet-f/report-1/" + s, Arg: json.RawMessage(`{"step":"x"}`)})
	}
	out, err := f.DeliverReports(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !out[0].Accepted || out[1].Accepted || !strings.Contains(out[1].Refusal, "not waiting") || out[2].Accepted || !strings.Contains(out[2].Refusal, "ended") {
		t.Errorf("answers %+v", out)
	}
	for _, o := range u.sent {
		if o.UpdateName != "complete-step" || !strings.HasPrefix(o.UpdateID, "fleet-f/report-1/") || o.WaitForStage != client.WorkflowUpdateStageCompleted {
			t.Errorf("sent %+v", o)
		}
	}
	// The server down: the attempt fails (and its retry sends the same update IDs again).
	u.answers["offboard-A"] = errors.New("connection refused")
	if _, err := f.DeliverReports(context.Background(), in); err == nil || !strings.Contains(err.Error(), "offboard-A") {
		t.Errorf("a failed delivery: %v", err)
	}
	if _, err := (&Fleet{}).DeliverReports(context.Background(), in); !IsType(err, ErrNotConfigured) {
		t.Errorf("no client: %v", err)
	}
}
