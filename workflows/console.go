package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// The two executors of a console step: the console endpoint (automated), or a person in CLOMO
// PANEL who reports (operator mode). The steps of §2 to §4 call these; the lifecycle records the end.

type consoleDevice = console.Device

// consoleCommand carries out one console command step. Where the procedure says the step waits
// for the device (procedure.WaitsOnDevice), it waits until the device has carried the command
// out at a check-in.
func (w *device) consoleCommand(ctx workflow.Context, id procedure.StepID, req console.CommandRequest) (ending, error) {
	if w.operatorMode() {
		if _, err := w.askPerson(ctx, id, procedure.PartyOperator, "carry out this step in CLOMO PANEL",
			w.instruction(id), procedure.Outcomes(id)); err != nil {
			return ending{}, err
		}
		return done("")
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
		byHand, err := w.refused(ctx, id, err)
		if err != nil || byHand {
			return ending{StateDone, "done by hand"}, err
		}
	}
	w.note(id, fmt.Sprintf("command %s %s%s", cmd.ID, cmd.Status, replayedNote(cmd)))
	if !procedure.WaitsOnDevice(id, w.planNow()) || cmd.Status == console.CommandCompleted {
		return done("")
	}
	var acked console.Command
	outcome, err := w.waitOnDevice(ctx, longWait{
		step: id, why: "waiting for the device to check in and carry out " + req.Type, out: &acked,
		escalation: procedure.Escalations(id, w.planNow())[1:],
		poll: func(pctx workflow.Context, within time.Duration) workflow.Future {
			return workflow.ExecuteActivity(longPollOptions(pctx, contract.ConsoleTaskQueue, "await "+req.Type+" on "+serial, w.timing.CheckInPoll, within),
				consoleActs.AwaitCommand, activities.CommandRef{Serial: serial, CommandID: cmd.ID})
		},
		check: w.checkCommand(activities.CommandRef{Serial: serial, CommandID: cmd.ID}, req.Type, &acked),
	})
	switch {
	case activities.IsType(err, activities.ErrCommandFailed):
		return w.byHand(ctx, id, "the device reported the command as failed: "+errMessage(err))
	case err != nil:
		return ending{}, err
	case outcome == procedure.ChoiceContinue:
		w.note(id, "an operator chose to go on without the device's acknowledgement")
	}
	return done("")
}

// refused hands a console refusal that no retry can fix to an operator: retry, or done by hand.
func (w *device) refused(ctx workflow.Context, id procedure.StepID, err error) (byHand bool, _ error) {
	if ctx.Err() != nil {
		return false, err
	}
	r, aerr := w.askPerson(ctx, id, procedure.PartyOperator, "the console refused: "+errMessage(err),
		w.instruction(id)+"\n\nFix the cause and choose **retry**, or carry the step out in CLOMO PANEL and report **done**.",
		[]string{procedure.ChoiceRetry, procedure.OutcomeDone})
	if aerr != nil {
		return false, aerr
	}
	if r.Outcome == procedure.OutcomeDone {
		return true, nil
	}
	w.begin(ctx, id, procedure.PartyConsole, "retrying at an operator's request")
	return false, nil
}

// byHand asks an operator to carry out a step by hand after the automated way failed.
func (w *device) byHand(ctx workflow.Context, id procedure.StepID, why string) (ending, error) {
	if _, err := w.askPerson(ctx, id, procedure.PartyOperator, why, w.instruction(id), []string{procedure.OutcomeDone}); err != nil {
		return ending{}, err
	}
	return done("done by hand")
}

// tellUser sends the device's user the on-device instructions of their step; the wait that
// follows (await-greyed-out) reminds them on schedule.
func (w *device) tellUser(ctx workflow.Context, id procedure.StepID) (ending, error) {
	w.begin(ctx, id, procedure.PartyDevice, "telling the device's user what to do on the device")
	w.sendUser(ctx, id, "")
	return done("instructions sent to the device's user " + orDash(w.in.Contact))
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

// errMessage is an error's own message, without the SDK's decoration ("(type: …, retryable: …)"):
// the text a person reads in the status, the Web UI and the starter.
func errMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
