package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// awaitGreyedOut is `await-greyed-out`, where §2 and §3 end: it waits, for days if need be,
// until the console shows the device greyed-out (取消線), reminding the device's user of their
// step. At the deadline an operator chooses from procedure.Escalations: keep waiting, erase the
// device from the console, or delete the managed record anyway.
func (w *device) awaitGreyedOut(ctx workflow.Context) (ending, error) {
	id, serial := procedure.AwaitGreyedOut, w.status.Serial
	lw := longWait{step: id, why: "waiting for the device to check in and show greyed-out (取消線)",
		escalation: procedure.Escalations(id, w.planNow())[1:]}
	for _, s := range []procedure.StepID{procedure.UserWipe, procedure.UserRemoveMDMProfile} {
		if w.planNow().Has(s) {
			lw.user = s
		}
	}
	party := procedure.PartyOperator // a person reports what CLOMO PANEL shows
	if !w.operatorMode() {
		party = procedure.PartyDevice
		out := &consoleDevice{}
		lw.out, lw.check = out, w.checkGreyedOut(out)
		lw.poll = func(pctx workflow.Context, within time.Duration) workflow.Future {
			return workflow.ExecuteActivity(longPollOptions(pctx, contract.ConsoleTaskQueue, "await greyed-out "+serial, w.timing.CheckInPoll, within),
				consoleActs.AwaitGreyedOut, serial)
		}
	}
	w.begin(ctx, id, party, lw.why)
	for {
		outcome, err := w.waitOnDevice(ctx, lw)
		if activities.IsType(err, activities.ErrRecordGone) {
			return done("the record is already gone from the console")
		}
		if err != nil {
			return ending{}, err
		}
		switch outcome {
		case procedure.ChoiceConsoleWipe:
			w.insertStep(procedure.ConsoleWipe, id)
			w.status.Warnings = append(w.status.Warnings, "An operator chose to erase the device from the console after it did not check in.")
			if err := w.runStep(ctx, procedure.ConsoleWipe); err != nil {
				return ending{}, err
			}
			lw.escalation = procedure.Escalations(id, w.planNow())[1:]
			w.begin(ctx, id, party, lw.why)
		case procedure.ChoiceDeleteAnyway:
			w.insertStep(procedure.DeleteManagedRecord, procedure.DeleteGreyedOutRecord)
			w.finish(ctx, procedure.DeleteGreyedOutRecord, StateSkipped, "replaced by 4-1: the record never turned greyed-out")
			w.status.Warnings = append(w.status.Warnings, "The device never showed greyed-out: its managed record was deleted "+
				"at an operator's request, so the device keeps the MDM profile and its restrictions until it is wiped.")
			return skipped("an operator chose to delete the managed record instead")
		default:
			return done("")
		}
	}
}
