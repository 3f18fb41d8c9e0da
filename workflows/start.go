package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// DeviceStartOptions are the options every caller uses to start one device (the starter, the
// intake API, the benchmark): the workflow ID is the lock, and a device whose last run failed or
// was cancelled may be started again; one that was removed may not. The search attributes say
// from the start which device it is and that it is at pre-flight.
func DeviceStartOptions(serial, path string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       contract.DeviceWorkflowID(serial),
		TaskQueue:                                contract.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(SADeviceSerial.ValueSet(serial), SAOffboardPath.ValueSet(path),
			SAOffboardStep.ValueSet(string(procedure.Preflight)), SAWaitingOn.ValueSet(string(procedure.PartyConsole))),
		StaticSummary: fmt.Sprintf("Offboard %s (%s)", serial, path),
	}
}
