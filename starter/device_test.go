package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"
)

// A start refused by the workflow ID says why: the device is being offboarded now, or its last
// run removed it; never "already being offboarded" for a device that is gone.
func TestAlreadyStartedSaysWhy(t *testing.T) {
	for status, want := range map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:   "is already being offboarded",
		enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED: "was already removed",
	} {
		tc := &mocks.Client{}
		tc.On("DescribeWorkflowExecution", mock.Anything, "offboard-F2LXK0A1HG7J", "").Return(&workflowservice.DescribeWorkflowExecutionResponse{
			WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}, nil)
		err := alreadyStarted(context.Background(), tc, "F2LXK0A1HG7J")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "F2LXK0A1HG7J") {
			t.Errorf("%s: %v, want %q naming the device", status, err, want)
		}
	}
}
