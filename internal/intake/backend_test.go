package intake

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

// historyClient is a Temporal client that holds one workflow, started with input.
type historyClient struct {
	Client
	status enumspb.WorkflowExecutionStatus
	input  *commonpb.Payloads
}

func (c historyClient) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("taken", "req", "run-7")
}

func (c historyClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id != "offboard-F2LXK0A1HG7J" {
		return nil, serviceerror.NewNotFound("no such workflow")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-7"}, Status: c.status}}, nil
}

func (c historyClient) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &events{list: []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: c.input}}}}}
}

type events struct{ list []*historypb.HistoryEvent }

func (e *events) HasNext() bool { return len(e.list) > 0 }
func (e *events) Next() (*historypb.HistoryEvent, error) {
	ev := e.list[0]
	e.list = e.list[1:]
	return ev, nil
}

func testCodec(t *testing.T) converter.DataConverter {
	t.Helper()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, codec.KeySize))
	keys, err := codec.ParseKeys(strings.NewReader("k1 "+key+"\n"), "test keys")
	if err != nil {
		t.Fatal(err)
	}
	return codec.NewDataConverter(codec.New(keys))
}

// The running request is read from the first event of its history, with the client's codec: the
// input of a device started by `starter start` with CODEC_KEY_FILE set is encrypted.
func TestLatestDecodesTheEncryptedInput(t *testing.T) {
	dc := testCodec(t)
	in := workflows.DeviceInput{Request: procedure.Request{Serial: "F2LXK0A1HG7J", Enrollment: procedure.ADE, Wipe: true},
		Contact: "jane.doe@example.com", RequestedBy: "alice"}
	payloads, err := dc.ToPayloads(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(payloads.Payloads[0].GetData(), []byte("jane.doe")) {
		t.Fatal("the test's input is not encrypted")
	}
	b := temporalBackend{c: historyClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, input: payloads}, dc: dc}
	if _, err := b.start(context.Background(), Offboarding{Request: in.Request, Plan: procedure.Result{Path: "wipe/ade"}}, in); !errors.Is(err, errAlreadyStarted) {
		t.Fatalf("start: %v, want errAlreadyStarted", err)
	}
	ex, err := b.latest(context.Background(), "F2LXK0A1HG7J")
	if err != nil {
		t.Fatal(err)
	}
	if ex.RunID != "run-7" || ex.State != StateRunning || ex.Input.Contact != "jane.doe@example.com" || ex.Input.Request != in.Request {
		t.Errorf("%+v", ex)
	}
	if _, err := b.latest(context.Background(), "OTHER00001"); !errors.Is(err, errNoWorkflow) {
		t.Errorf("no workflow: %v", err)
	}

	// Without the key, the input cannot be read: say so rather than compare with nothing.
	plain := temporalBackend{c: historyClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, input: payloads}, dc: converter.GetDefaultDataConverter()}
	if _, err := plain.latest(context.Background(), "F2LXK0A1HG7J"); err == nil || !strings.Contains(err.Error(), "CODEC_KEY_FILE") {
		t.Errorf("an encrypted input decoded without its key: %v", err)
	}
	for status, want := range map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED: StateCompleted, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED: StateClosed,
		enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED: StateClosed, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: StateClosed,
	} {
		ex, err := temporalBackend{c: historyClient{status: status, input: payloads}, dc: dc}.latest(context.Background(), "F2LXK0A1HG7J")
		if err != nil || ex.State != want {
			t.Errorf("%s: %s %v, want %s", status, ex.State, err, want)
		}
	}
}
