package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// A fleet's report for many devices (CLOMO PANEL's multi-select) reaches each device as that
// device's own complete-step update, sent from this activity: each device's validator decides
// whether it still waits on exactly that step, and each records its own outcome and audit entry.
// The workflow cannot send an update itself, and a signal would have no validator to refuse a
// device that has moved on.

// DeviceReport is one device's update: the workflow, the update's ID (the same on every attempt,
// so a retried attempt gets the first answer instead of a second report) and its argument as JSON.
type DeviceReport struct {
	Serial     string          `json:"serial"`
	WorkflowID string          `json:"workflowId"`
	UpdateID   string          `json:"updateId"`
	Arg        json.RawMessage `json:"arg"`
}

// DeliverInput names the update and lists the devices' reports.
type DeliverInput struct {
	UpdateName string         `json:"updateName"`
	Reports    []DeviceReport `json:"reports"`
}

// Delivered is one device's answer: accepted, or why not (its validator's words, or gone).
type Delivered struct {
	Serial   string `json:"serial"`
	Accepted bool   `json:"accepted"`
	Refusal  string `json:"refusal,omitempty"`
}

// DeliverReports sends every device its update and says which took it. A device's refusal is an
// answer, not a failure; an attempt fails only when the server could not be asked, and its retry
// asks again under the same update IDs.
func (f *Fleet) DeliverReports(ctx context.Context, in DeliverInput) ([]Delivered, error) {
	if f == nil || f.Client == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to deliver a fleet's reports with", ErrNotConfigured, nil)
	}
	out := make([]Delivered, len(in.Reports))
	var (
		mu     sync.Mutex
		failed error
	)
	fanOut(len(in.Reports), func(i int) {
		d, err := f.deliver(ctx, in.UpdateName, in.Reports[i])
		mu.Lock()
		defer mu.Unlock()
		out[i] = d
		if err != nil && failed == nil {
			failed = err
		}
	})
	return out, failed
}

func (f *Fleet) deliver(ctx context.Context, name string, r DeviceReport) (Delivered, error) {
	d := Delivered{Serial: r.Serial}
	h, err := f.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: r.WorkflowID, UpdateID: r.UpdateID, UpdateName: name, Args: []any{r.Arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var gone *serviceerror.NotFound
	var app *temporal.ApplicationError
	switch {
	case err == nil:
		d.Accepted = true
	case errors.As(err, &gone):
		d.Refusal = "its workflow has ended"
	case errors.As(err, &app):
		// The validator's refusal (or the handler's error): the device's own words.
		d.Refusal = app.Message()
	case ctx.Err() != nil:
		return d, ctx.Err()
	default:
		return d, fmt.Errorf("update %s of %s: %w", name, r.WorkflowID, err)
	}
	return d, nil
}
