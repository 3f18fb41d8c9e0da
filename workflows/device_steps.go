package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
)

type consoleDevice = console.Device

func removeProfileRequest(ids []string) console.CommandRequest {
	return console.CommandRequest{Type: console.CmdRemoveProfile, ProfileIDs: ids}
}

func eraseRequest(removeESIM bool) console.CommandRequest {
	// Return to Service stays off: it re-enrolls the device, which is not a removal.
	return console.CommandRequest{Type: console.CmdEraseDevice, RemoveESIM: removeESIM, Confirmation: "YES"}
}

// consoleCommand carries out one console step: through the console endpoint, or, in operator
// mode, as a task a person performs in CLOMO PANEL and reports. With awaitAck it waits until the
// device has carried the command out at a check-in.
func (w *device) consoleCommand(ctx workflow.Context, id procedure.StepID, req console.CommandRequest, awaitAck bool) error {
	if w.mode == contract.ModeOperator {
		if _, err := w.askPerson(ctx, id, procedure.PartyOperator, "carry out this step in CLOMO PANEL",
			w.instruction(id), []string{procedure.OutcomeDone}); err != nil {
			return err
		}
		w.finish(ctx, id, StateDone, "")
		return nil
	}
	serial := w.status.Serial
	w.begin(ctx, id, procedure.PartyConsole, "sending "+req.Type+" to the console")
	var cmd console.Command
	for {
		err := workflow.ExecuteActivity(callOptions(ctx, contract.ConsoleTaskQueue, fmt.Sprintf("%s: %s %s", id, req.Type, serial)),
			consoleActs.SendCommand, activities.CommandInput{Serial: serial, Step: id, IdempotencyKey: w.key(id), Command: req}).Get(ctx, &cmd)
		if err == nil {
			break
		}
		done, err := w.refused(ctx, id, err)
		if err != nil || done {
			return err
		}
	}
	w.note(id, fmt.Sprintf("command %s %s%s", cmd.ID, cmd.Status, replayedNote(cmd)))
	if awaitAck && cmd.Status != console.CommandCompleted {
		var done console.Command
		escalation := []string{ChoiceContinue}
		if id == procedure.DisableLostMode {
			escalation = nil // never delete while lost mode may still be on
		}
		outcome, err := w.waitOnDevice(ctx, longWait{
			step: id, why: "waiting for the device to check in and carry out " + req.Type, out: &done, escalation: escalation,
			poll: func(pctx workflow.Context, within time.Duration) workflow.Future {
				return workflow.ExecuteActivity(longPollOptions(pctx, contract.ConsoleTaskQueue, "await "+req.Type+" on "+serial, w.timing.CheckInPoll, within),
					consoleActs.AwaitCommand, activities.CommandRef{Serial: serial, CommandID: cmd.ID})
			},
		})
		if err != nil {
			if activities.IsType(err, activities.ErrCommandFailed) {
				return w.byHand(ctx, id, "the device reported the command as failed: "+errMessage(err))
			}
			return err
		}
		if outcome == ChoiceContinue {
			w.note(id, "an operator chose to go on without the device's acknowledgement")
		}
	}
	w.finish(ctx, id, StateDone, "")
	return nil
}

// refused hands a console refusal that no retry can fix to an operator: retry, or done by hand.
func (w *device) refused(ctx workflow.Context, id procedure.StepID, err error) (done bool, _ error) {
	if ctx.Err() != nil {
		return false, err
	}
	r, aerr := w.askPerson(ctx, id, procedure.PartyOperator, "the console refused: "+errMessage(err),
		w.instruction(id)+"\n\nFix the cause and choose **retry**, or carry the step out in CLOMO PANEL and report **done**.",
		[]string{ChoiceRetry, procedure.OutcomeDone})
	if aerr != nil {
		return false, aerr
	}
	if r.Outcome == procedure.OutcomeDone {
		w.finish(ctx, id, StateDone, "done by hand")
		return true, nil
	}
	w.begin(ctx, id, procedure.PartyConsole, "retrying at an operator's request")
	return false, nil
}

// byHand asks an operator to carry out a step by hand after the automated way failed.
func (w *device) byHand(ctx workflow.Context, id procedure.StepID, why string) error {
	if _, err := w.askPerson(ctx, id, procedure.PartyOperator, why, w.instruction(id), []string{procedure.OutcomeDone}); err != nil {
		return err
	}
	w.finish(ctx, id, StateDone, "done by hand")
	return nil
}

// tellUser sends the device's user the on-device instructions of their step; the wait that
// follows (await-greyed-out) reminds them on schedule.
func (w *device) tellUser(ctx workflow.Context, id procedure.StepID) error {
	w.begin(ctx, id, procedure.PartyDevice, "telling the device's user what to do on the device")
	w.sendUser(ctx, id, "")
	w.finish(ctx, id, StateDone, "instructions sent to the device's user "+orDash(w.in.Contact))
	return nil
}

// awaitGreyedOut waits, for days if need be, until the console shows the device greyed-out.
func (w *device) awaitGreyedOut(ctx workflow.Context) error {
	serial := w.status.Serial
	lw := longWait{step: procedure.AwaitGreyedOut, why: "waiting for the device to check in and show greyed-out (取消線)",
		escalation: []string{ChoiceConsoleWipe, ChoiceDeleteAnyway}}
	for _, s := range []procedure.StepID{procedure.UserWipe, procedure.UserRemoveMDMProfile} {
		if w.plan.Has(s) {
			lw.user = s
		}
	}
	if w.plan.Has(procedure.ConsoleWipe) {
		lw.escalation = []string{ChoiceDeleteAnyway}
	}
	if w.mode == contract.ModeAutomated {
		lw.out = &consoleDevice{}
		lw.poll = func(pctx workflow.Context, within time.Duration) workflow.Future {
			return workflow.ExecuteActivity(longPollOptions(pctx, contract.ConsoleTaskQueue, "await greyed-out "+serial, w.timing.CheckInPoll, within),
				consoleActs.AwaitGreyedOut, serial)
		}
	}
	party := procedure.PartyDevice
	if lw.poll == nil {
		party = procedure.PartyOperator // a person reports what CLOMO PANEL shows
	}
	w.begin(ctx, procedure.AwaitGreyedOut, party, lw.why)
	for {
		outcome, err := w.waitOnDevice(ctx, lw)
		if activities.IsType(err, activities.ErrRecordGone) {
			w.finish(ctx, procedure.AwaitGreyedOut, StateDone, "the record is already gone from the console")
			return nil
		}
		if err != nil {
			return err
		}
		switch outcome {
		case ChoiceConsoleWipe:
			w.insertStep(procedure.ConsoleWipe, procedure.AwaitGreyedOut)
			w.status.Warnings = append(w.status.Warnings, "An operator chose to erase the device from the console after it did not check in.")
			if err := w.consoleCommand(ctx, procedure.ConsoleWipe, eraseRequest(false), false); err != nil {
				return err
			}
			lw.escalation = []string{ChoiceDeleteAnyway}
			w.begin(ctx, procedure.AwaitGreyedOut, party, lw.why)
		case ChoiceDeleteAnyway:
			w.finish(ctx, procedure.AwaitGreyedOut, StateSkipped, "an operator chose to delete the managed record instead")
			w.insertStep(procedure.DeleteManagedRecord, procedure.DeleteGreyedOutRecord)
			w.finish(ctx, procedure.DeleteGreyedOutRecord, StateSkipped, "replaced by 4-1: the record never turned greyed-out")
			w.status.Warnings = append(w.status.Warnings, "The device never showed greyed-out: its managed record was deleted "+
				"at an operator's request, so the device keeps the MDM profile and its restrictions until it is wiped.")
			return nil
		default:
			w.wiped = w.in.Request.Wipe || w.stepIndex(procedure.ConsoleWipe) >= 0
			w.finish(ctx, procedure.AwaitGreyedOut, StateDone, "")
			return nil
		}
	}
}

// disableLostMode turns lost mode off and waits for the device to carry it out.
func (w *device) disableLostMode(ctx workflow.Context) error {
	return w.consoleCommand(ctx, procedure.DisableLostMode, console.CommandRequest{Type: console.CmdDisableLostMode}, true)
}

// deleteRecord deletes the record (4-1 or 4-2) with the error branches of 4-2: certificates
// remain → remove them and retry; a VPP license remains → refresh the counts, revoke the licenses
// and retry; still failing, or Work Smart → vendor support.
func (w *device) deleteRecord(ctx workflow.Context, id procedure.StepID) error {
	var certsDone, vppDone bool
	for {
		outcome, err := w.issueDelete(ctx, id)
		if err != nil {
			return err
		}
		switch outcome {
		case procedure.OutcomeDone:
			w.finish(ctx, id, StateDone, "")
			return nil
		case procedure.OutcomeCertificatesRemain:
			if certsDone {
				return w.vendorSupport(ctx, id, "the certificates still remain after they were removed")
			}
			certsDone = true
			w.insertStep(procedure.RemoveCertificates, id)
			if err := w.consoleCommand(ctx, procedure.RemoveCertificates, console.CommandRequest{Type: console.CmdRemoveCertificates}, false); err != nil {
				return err
			}
		case procedure.OutcomeVPPLicenseRemains:
			if vppDone {
				return w.vendorSupport(ctx, id, "a VPP license still remains after the licenses were revoked")
			}
			vppDone = true
			w.insertStep(procedure.RefreshLicenseCounts, id)
			w.insertStep(procedure.RevokeVPPLicenses, id)
			if err := w.consoleCommand(ctx, procedure.RefreshLicenseCounts, console.CommandRequest{Type: console.CmdRefreshLicenseCounts}, false); err != nil {
				return err
			}
			if err := w.consoleCommand(ctx, procedure.RevokeVPPLicenses, console.CommandRequest{Type: console.CmdRevokeVPPLicenses}, false); err != nil {
				return err
			}
		case procedure.OutcomeWorkSmart:
			return w.vendorSupport(ctx, id, "the device is under a Work Smart configuration (ワーク・スマート構成), which CLOMO PANEL cannot delete")
		}
		w.note(id, "retrying the delete after "+outcome)
		w.rounds[id]++
	}
}

// issueDelete sends the delete once (or asks an operator to) and returns "done" or the
// console's error branch.
func (w *device) issueDelete(ctx workflow.Context, id procedure.StepID) (string, error) {
	outcomes := []string{procedure.OutcomeDone, procedure.OutcomeWorkSmart}
	if id == procedure.DeleteGreyedOutRecord {
		outcomes = []string{procedure.OutcomeDone, procedure.OutcomeCertificatesRemain, procedure.OutcomeVPPLicenseRemains, procedure.OutcomeWorkSmart}
	}
	if w.mode == contract.ModeOperator {
		r, err := w.askPerson(ctx, id, procedure.PartyOperator, "delete the record in CLOMO PANEL and report what it showed", w.instruction(id), outcomes)
		return r.Outcome, err
	}
	serial := w.status.Serial
	w.begin(ctx, id, procedure.PartyConsole, "deleting the record")
	in := activities.DeleteInput{Serial: serial, IdempotencyKey: w.key(id), GreyedOut: id == procedure.DeleteGreyedOutRecord,
		RemoveAutoInstalledApps: w.in.Request.RemoveAutoInstalledApps, WipedFirst: w.wiped}
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
			if w.step(procedure.DisableLostMode).State == StateDone {
				w.rounds[procedure.DisableLostMode]++ // lost mode came back: a new command, a new key
			}
			if err := w.disableLostMode(ctx); err != nil {
				return "", err
			}
			w.begin(ctx, id, procedure.PartyConsole, "deleting the record")
		case asApplicationError(err, &appErr) && slices.Contains(outcomes, appErr.Type()):
			w.note(id, "the console answered "+appErr.Type())
			return appErr.Type(), nil
		default:
			done, rerr := w.refused(ctx, id, err)
			if rerr != nil || done {
				return procedure.OutcomeDone, rerr
			}
		}
	}
}

// vendorSupport hands the delete to CLOMO support and waits, reminding, until a person reports
// that the vendor deleted the record; in automated mode the console must agree.
func (w *device) vendorSupport(ctx workflow.Context, id procedure.StepID, why string) error {
	text := fmt.Sprintf("Ask CLOMO サポートセンター (CLOMO support) to delete the record of %s by data maintenance (データメンテナンス): %s. "+
		"Report **done** when they confirm.", w.status.Serial, why)
	for {
		r, err := w.askPerson(ctx, id, procedure.PartyVendorSupport, why, text, []string{procedure.OutcomeDone})
		if err != nil {
			return err
		}
		if w.mode == contract.ModeOperator {
			break
		}
		err = workflow.ExecuteActivity(onceOptions(ctx, contract.ConsoleTaskQueue, "verify record gone "+w.status.Serial), consoleActs.AwaitRecordGone, w.status.Serial).Get(ctx, nil)
		if err == nil {
			break
		}
		w.note(id, fmt.Sprintf("the console still lists the record after %s reported it deleted", r.By))
	}
	w.finish(ctx, id, StateDone, "deleted by CLOMO support")
	return nil
}

func replayedNote(c console.Command) string {
	if c.Replayed {
		return " (already sent earlier: the console answered with the original)"
	}
	return ""
}

func asApplicationError(err error, target **temporal.ApplicationError) bool {
	return err != nil && errors.As(err, target)
}

func errMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	return err.Error()
}
