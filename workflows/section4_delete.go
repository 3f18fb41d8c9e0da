package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// §4 Delete the device record: 4-1 a managed (管理中) record, 4-2 a greyed-out one, with the
// cautions before any delete (lost mode) and the error branches of procedure.Branch:
// certificates remain → remove-certificates, retry; a VPP license remains →
// refresh-license-counts, revoke-vpp-licenses, retry; still failing, or Work Smart → CLOMO support.

// disableLostMode is `disable-lost-mode`: lost mode (紛失モード) off, acknowledged by the device,
// before its user is asked to tap through Settings or its record is deleted. A record deleted
// in lost mode can never leave lost mode.
func (w *device) disableLostMode(ctx workflow.Context) (ending, error) {
	id := procedure.DisableLostMode
	if w.operatorMode() {
		// Nothing read the console: the operator looks, and turns lost mode off if it is on.
		if _, err := w.askPerson(ctx, id, procedure.PartyOperator,
			"check lost mode (紛失モード) in CLOMO PANEL: turn it off if it is on, and report done once the device shows it off",
			w.instruction(id), procedure.Outcomes(id)); err != nil {
			return ending{}, err
		}
		return done("")
	}
	return w.consoleCommand(ctx, id, console.CommandRequest{Type: console.CmdDisableLostMode})
}

// deleteManagedRecord is `delete-managed-record` (4-1): デバイスを削除, typed "YES".
func (w *device) deleteManagedRecord(ctx workflow.Context) (ending, error) {
	return w.deleteRecord(ctx, procedure.DeleteManagedRecord)
}

// deleteGreyedOutRecord is `delete-greyed-out-record` (4-2): デバイスの情報を完全に削除, typed "YES".
func (w *device) deleteGreyedOutRecord(ctx workflow.Context) (ending, error) {
	return w.deleteRecord(ctx, procedure.DeleteGreyedOutRecord)
}

// removeCertificates is `remove-certificates`: 4-2's branch when certificates remain.
func (w *device) removeCertificates(ctx workflow.Context) (ending, error) {
	return w.consoleCommand(ctx, procedure.RemoveCertificates, console.CommandRequest{Type: console.CmdRemoveCertificates})
}

// refreshLicenseCounts is `refresh-license-counts` (アプリケーションライセンス数を更新する): the first
// half of 4-2's branch when a VPP license remains.
func (w *device) refreshLicenseCounts(ctx workflow.Context) (ending, error) {
	return w.consoleCommand(ctx, procedure.RefreshLicenseCounts, console.CommandRequest{Type: console.CmdRefreshLicenseCounts})
}

// revokeVPPLicenses is `revoke-vpp-licenses` (VPP アプリケーションライセンスを剥奪する(デバイス向け)):
// the second half.
func (w *device) revokeVPPLicenses(ctx workflow.Context) (ending, error) {
	return w.consoleCommand(ctx, procedure.RevokeVPPLicenses, console.CommandRequest{Type: console.CmdRevokeVPPLicenses})
}

// deleteRecord issues a delete and follows the procedure's branch for what the console answered,
// until the record is gone or the delete is CLOMO support's.
func (w *device) deleteRecord(ctx workflow.Context, id procedure.StepID) (ending, error) {
	var earlier []string
	for {
		outcome, err := w.issueDelete(ctx, id)
		if err != nil {
			return ending{}, err
		}
		b, err := procedure.Branch(id, outcome, earlier)
		if err != nil {
			return ending{}, fmt.Errorf("device %s: %w", w.status.Serial, err)
		}
		switch {
		case b.Party == procedure.PartyVendorSupport:
			return w.vendorSupport(ctx, id, b.Why)
		case !b.Retry:
			return done("")
		}
		for _, s := range b.Run {
			w.insertStep(s, id)
		}
		for _, s := range b.Run {
			if err := w.runStep(ctx, s); err != nil {
				return ending{}, err
			}
		}
		earlier = append(earlier, outcome)
		w.note(id, "retrying the delete after "+outcome)
		w.rounds[id]++
	}
}

// issueDelete sends the delete once (or asks an operator to) and returns "done" or the
// console's error branch. Lost mode found on at the delete (turned on after pre-flight) is
// turned off first.
func (w *device) issueDelete(ctx workflow.Context, id procedure.StepID) (string, error) {
	outcomes := procedure.Outcomes(id)
	if err := w.allowDestruction(ctx, id); err != nil { // the destruction budget (approval.go)
		return "", err
	}
	if w.operatorMode() {
		r, err := w.askOperatorDelete(ctx, id, outcomes)
		return r.Outcome, err
	}
	serial := w.status.Serial
	w.begin(ctx, id, procedure.PartyConsole, "deleting the record")
	in := activities.DeleteInput{Serial: serial, IdempotencyKey: w.key(id), GreyedOut: id == procedure.DeleteGreyedOutRecord,
		RemoveAutoInstalledApps: w.in.Request.RemoveAutoInstalledApps, WipedFirst: w.erased()}
	for {
		var cmd console.Command
		err := workflow.ExecuteActivity(callOptions(ctx, contract.ConsoleTaskQueue, fmt.Sprintf("%s: delete %s", id, serial)), consoleActs.DeleteRecord, in).Get(ctx, &cmd)
		var appErr *temporal.ApplicationError
		switch {
		case err == nil:
			w.note(id, fmt.Sprintf("delete %s accepted%s", cmd.ID, replayedNote(cmd)))
			w.waiting(ctx, id, procedure.PartyConsole, "waiting for the record to disappear from the Devices list", "", nil)
			return procedure.OutcomeDone, workflow.ExecuteActivity(longPollOptions(ctx, contract.ConsoleTaskQueue, "await record gone "+serial, w.timing.ConsolePoll, 0),
				consoleActs.AwaitRecordGone, serial).Get(ctx, nil)
		case activities.IsType(err, activities.ErrRecordGone):
			w.note(id, "the record was already gone")
			return procedure.OutcomeDone, nil
		case activities.IsType(err, activities.ErrLostModeOn):
			w.note(id, "lost mode is on: turning it off before the delete")
			w.insertStep(procedure.DisableLostMode, id)
			if w.stepState(procedure.DisableLostMode) == StateDone {
				w.rounds[procedure.DisableLostMode]++ // lost mode came back: a new command, a new key
			}
			if err := w.runStep(ctx, procedure.DisableLostMode); err != nil {
				return "", err
			}
			w.begin(ctx, id, procedure.PartyConsole, "deleting the record")
		case asApplicationError(err, &appErr) && slices.Contains(outcomes, appErr.Type()):
			w.note(id, "the console answered "+appErr.Type())
			return appErr.Type(), nil
		default:
			byHand, rerr := w.refused(ctx, id, err)
			if rerr != nil || byHand {
				w.note(id, "done by hand")
				return procedure.OutcomeDone, rerr
			}
		}
	}
}

// vendorSupport hands the delete to CLOMO support and waits, reminding, until a person reports
// that the vendor deleted the record; in automated mode the console must agree.
func (w *device) vendorSupport(ctx workflow.Context, id procedure.StepID, why string) (ending, error) {
	text := fmt.Sprintf("Ask CLOMO サポートセンター (CLOMO support) to delete the record of %s by data maintenance (データメンテナンス): %s. "+
		"Report **done** when they confirm.", w.status.Serial, why)
	for {
		r, err := w.askPerson(ctx, id, procedure.PartyVendorSupport, why, text, []string{procedure.OutcomeDone})
		if err != nil {
			return ending{}, err
		}
		if w.operatorMode() {
			break
		}
		err = workflow.ExecuteActivity(onceOptions(ctx, contract.ConsoleTaskQueue, "verify record gone "+w.status.Serial), consoleActs.AwaitRecordGone, w.status.Serial).Get(ctx, nil)
		if err == nil {
			break
		}
		w.note(id, fmt.Sprintf("the console still lists the record after %s reported it deleted", r.By))
	}
	return done("deleted by CLOMO support")
}
