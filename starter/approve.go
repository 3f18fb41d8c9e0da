package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

// Approve is `starter approve <serial> --by <who> [--note ...]` (cmd_approve.go): a second person releases the
// destructive step (a wipe or a delete) that the organisation's destruction budget holds
// (WaitingOn=approval, docs/approval.md). The device refuses an approval when it is not waiting on
// one, when by is empty, or when by is the person who started it; the refusal is printed as the
// device says it. On success it prints the device's acknowledgement.
func Approve(ctx context.Context, c client.Client, out io.Writer, serial, by, note string) error {
	serial, err := procedure.NormalizeSerial(serial)
	if err != nil {
		return err
	}
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("device %s: say who approves with --by: the approval is part of the retirement record", serial)
	}
	handle, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: contract.DeviceWorkflowID(serial), UpdateName: contract.UpdateApprove,
		Args: []any{workflows.Approval{By: by, Note: note}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return approveError(serial, err)
	}
	var ack string
	if err := handle.Get(ctx, &ack); err != nil {
		return approveError(serial, err)
	}
	fmt.Fprintln(out, ack)
	return nil
}

// approveError says which device, and what to do when no device runs under that serial.
func approveError(serial string, err error) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("device %s: no offboarding runs for it (starter list --waiting-on approval lists the devices waiting on approval)", serial)
	}
	return fmt.Errorf("device %s: %w", serial, err)
}
