package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

// Client is the part of the Temporal client the intake uses; a client.Client is one.
type Client interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	GetWorkflowHistory(ctx context.Context, workflowID string, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...any) (converter.EncodedValue, error)
}

// Run states of an existing workflow, as the answers say them.
const (
	StateRunning   = "running"
	StateCompleted = "completed" // the device was removed (or rejected: see its status)
	StateClosed    = "closed"    // failed, cancelled, terminated or timed out: it may start again
)

// existing is a device's latest workflow run and the input it was started with.
type existing struct {
	RunID     string
	State     string
	CloseTime time.Time
	Input     workflows.DeviceInput
}

var (
	errAlreadyStarted = errors.New("already started")
	errNoWorkflow     = errors.New("no workflow")
)

// backend is what the handler asks of Temporal; tests give it a fake.
type backend interface {
	// start starts the device's workflow, or answers errAlreadyStarted when the workflow ID is
	// taken (a run is open, or the last one completed).
	start(ctx context.Context, o Offboarding, in workflows.DeviceInput) (runID string, err error)
	// latest reads the device's latest run and its input, or answers errNoWorkflow.
	latest(ctx context.Context, serial string) (existing, error)
	// status runs the status query, or answers errNoWorkflow.
	status(ctx context.Context, serial string) (workflows.DeviceStatus, error)
}

// temporalBackend is the backend of a real Temporal client. dc decodes the payloads of the
// histories it reads: they are encrypted when CODEC_KEY_FILE is set.
type temporalBackend struct {
	c  Client
	dc converter.DataConverter
}

func (b temporalBackend) start(ctx context.Context, o Offboarding, in workflows.DeviceInput) (string, error) {
	run, err := b.c.ExecuteWorkflow(ctx, workflows.DeviceStartOptions(o.Request.Serial, o.Plan.Path), contract.DeviceWorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return "", errAlreadyStarted
	}
	if err != nil {
		return "", err
	}
	return run.GetRunID(), nil
}

func (b temporalBackend) latest(ctx context.Context, serial string) (existing, error) {
	id := contract.DeviceWorkflowID(serial)
	d, err := b.c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return existing{}, errNoWorkflow
	}
	if err != nil {
		return existing{}, fmt.Errorf("describe %s: %w", id, err)
	}
	info := d.GetWorkflowExecutionInfo()
	ex := existing{RunID: info.GetExecution().GetRunId()}
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		ex.State = StateRunning
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		ex.State = StateCompleted
	default:
		ex.State = StateClosed
	}
	if info.GetCloseTime() != nil {
		ex.CloseTime = info.GetCloseTime().AsTime()
	}
	ex.Input, err = b.startInput(ctx, id, ex.RunID)
	return ex, err
}

// startInput decodes the input of a run from its first history event, with the client's data
// converter: the intake compares the running request with a new one from it, since the
// contract's search attributes hold no fingerprint of a request.
func (b temporalBackend) startInput(ctx context.Context, id, runID string) (workflows.DeviceInput, error) {
	var in workflows.DeviceInput
	it := b.c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, fmt.Errorf("%s: the history is empty", id)
	}
	ev, err := it.Next()
	if err != nil {
		return in, fmt.Errorf("%s: read the history: %w", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, fmt.Errorf("%s: the first event is %s, not the start", id, ev.GetEventType())
	}
	if err := b.dc.FromPayloads(attrs.GetInput(), &in); err != nil {
		return in, fmt.Errorf("%s: decode the input (is CODEC_KEY_FILE the workers'?): %w", id, err)
	}
	return in, nil
}

func (b temporalBackend) status(ctx context.Context, serial string) (workflows.DeviceStatus, error) {
	var st workflows.DeviceStatus
	resp, err := b.c.QueryWorkflow(ctx, contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return st, errNoWorkflow
	}
	if err != nil {
		return st, err
	}
	return st, resp.Get(&st)
}
