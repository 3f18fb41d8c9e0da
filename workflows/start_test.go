package workflows

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// Every caller starts a device with these options: the workflow ID is the lock.
func TestDeviceStartOptions(t *testing.T) {
	o := DeviceStartOptions("F2LXK0A1HG7J", "wipe/ade")
	if o.ID != "offboard-F2LXK0A1HG7J" || o.TaskQueue != "offboarding" || !o.WorkflowExecutionErrorWhenAlreadyStarted ||
		o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY ||
		o.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL || o.StaticSummary != "Offboard F2LXK0A1HG7J (wipe/ade)" {
		t.Errorf("%+v", o)
	}
	if v, ok := o.TypedSearchAttributes.GetKeyword(SAOffboardPath); !ok || v != "wipe/ade" {
		t.Errorf("OffboardPath %q", v)
	}
	if v, ok := o.TypedSearchAttributes.GetKeyword(SADeviceSerial); !ok || v != "F2LXK0A1HG7J" {
		t.Errorf("DeviceSerial %q", v)
	}
}
