package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// A fleet with more wipes than the organisation allows one person (FLEET_APPROVAL_WIPES, the
// worker's setting, so whoever starts a fleet cannot lift it) waits, before any device starts,
// until a second person approves it with the fleet's approve update; the person who started it
// cannot. The fleet shows WaitingOn=approval meanwhile, keeps the approval (who, when) in its
// state, and hands it to every device, whose audit and retirement record show it.

// versionFleetApproval: fleets that started before the approval replay without its commands (the
// worker's settings read, the WaitingOn search attribute).
const versionFleetApproval = "fleet-approval"

// FleetStateAwaitingApproval is the fleet's state while it waits for the second person.
const FleetStateAwaitingApproval = "awaiting-approval"

// FleetApproval is what the fleet keeps of its approval.
type FleetApproval struct {
	Wipes     int    `json:"wipes"`
	Threshold int    `json:"threshold"`
	StartedBy string `json:"startedBy"`
	// ApprovedBy, ApprovedAt and Note are the second person's, once they approve.
	ApprovedBy string     `json:"approvedBy,omitempty"`
	ApprovedAt *time.Time `json:"approvedAt,omitempty"`
	Note       string     `json:"note,omitempty"`
}

// FleetApprove is the argument of the fleet's approve update.
type FleetApprove struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

func (a *FleetApproval) waiting() bool { return a != nil && a.ApprovedBy == "" }

// awaitApproval reads the worker's threshold and, when the fleet's wipes are past it, waits for
// the second person. It runs once, in the fleet's first run, before the device list starts.
func (f *fleet) awaitApproval(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, versionFleetApproval, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	var info activities.WorkerInfo
	if err := workflow.ExecuteActivity(callOptions(ctx, contract.TaskQueue, "worker settings"), workerActs.Describe).Get(ctx, &info); err != nil {
		return err
	}
	wipes := 0
	for _, d := range f.in.Devices {
		if d.Request.Wipe {
			wipes++
		}
	}
	threshold := info.FleetApprovalWipes
	if threshold <= 0 || wipes <= threshold {
		return nil
	}
	if strings.TrimSpace(f.in.StartedBy) == "" {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("fleet %s wipes %d devices, more than %d (FLEET_APPROVAL_WIPES): a second person "+
			"must approve it, so say who starts it (starter fleet start --by <you>); nothing was started", f.id, wipes, threshold), "Rejected", nil)
	}
	f.st.Approval = &FleetApproval{Wipes: wipes, Threshold: threshold, StartedBy: f.in.StartedBy}
	f.logger.Info("fleet waits for a second person's approval", "wipes", wipes, "threshold", threshold)
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAWaitingOn.ValueSet(string(procedure.PartyApproval))); err != nil {
		f.logger.Warn("search attributes not updated", "error", err)
	}
	f.publish(ctx)
	if err := workflow.Await(ctx, func() bool { return !f.st.Approval.waiting() }); err != nil {
		return err
	}
	f.now = workflow.Now(ctx)
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAWaitingOn.ValueUnset()); err != nil {
		f.logger.Warn("search attributes not updated", "error", err)
	}
	return nil
}

// validateApproval refuses an approval the fleet does not wait for, and the starter's own.
func (f *fleet) validateApproval(r FleetApprove) error {
	a := f.st.Approval
	by := strings.TrimSpace(r.By)
	switch {
	case by == "":
		return fmt.Errorf("say who approves (by): the approval is part of every device's record")
	case a == nil:
		return fmt.Errorf("fleet %s waits for no approval: its wipes are within FLEET_APPROVAL_WIPES, or it was started before approvals", f.id)
	case !a.waiting():
		return fmt.Errorf("fleet %s was approved already, by %s at %s", f.id, a.ApprovedBy, a.ApprovedAt.UTC().Format(time.RFC3339))
	case samePerson(by, a.StartedBy) || samePerson(by, f.in.RequestedBy):
		return fmt.Errorf("%s started fleet %s: its %d wipes need a second person's approval, someone other than who started it", by, f.id, a.Wipes)
	}
	return nil
}

// approve records the approval; the fleet then starts its devices.
func (f *fleet) approve(ctx workflow.Context, r FleetApprove) (string, error) {
	now := workflow.Now(ctx)
	f.st.Approval.ApprovedBy, f.st.Approval.ApprovedAt, f.st.Approval.Note = strings.TrimSpace(r.By), &now, r.Note
	f.logger.Info("fleet approved", "wipes", f.st.Approval.Wipes)
	return fmt.Sprintf("fleet %s approved: its %d devices start", f.id, f.st.Total), nil
}

// approvalEntry is the approval as a device's audit shows it; nil when the fleet needed none.
func (f *fleet) approvalEntry() *AuditEntry {
	a := f.st.Approval
	if a == nil || a.ApprovedAt == nil {
		return nil
	}
	note := fmt.Sprintf("fleet %s: %d wipes, more than %d (FLEET_APPROVAL_WIPES); started by %s", f.id, a.Wipes, a.Threshold, a.StartedBy)
	if a.Note != "" {
		note += "; " + a.Note
	}
	return &AuditEntry{Time: *a.ApprovedAt, Step: fleetApprovalStep, By: a.ApprovedBy, Outcome: "approved", Note: note}
}
