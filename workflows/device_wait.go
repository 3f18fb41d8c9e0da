package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/notify"
	"github.com/offboard/offboard/internal/procedure"
)

// longWait is a wait on the device (or its user): hours or days, sometimes forever.
type longWait struct {
	step procedure.StepID
	why  string
	// poll starts the one activity that polls the console, to give up (ranOutOfTime) after
	// `within`; nil when there is no console to read (operator mode), and a person reports instead.
	poll func(ctx workflow.Context, within time.Duration) workflow.Future
	// out receives the poll's result.
	out any
	// check reads the console once (a short activity, filling out) and reports whether the wait
	// is over: the wait of changeWatchedWait, woken by the console watcher (device_watched.go).
	check func(ctx workflow.Context) (bool, error)
	// user is the step whose instructions the device's user is reminded of; "" for none.
	user procedure.StepID
	// escalation lists what a person may choose at the deadline besides keep-waiting.
	escalation []string
}

// waitOnDevice waits until the poll succeeds (or, without a poll, a person reports done). A
// device-event signal or a person's report makes it check again at once; the device's user is
// reminded on schedule; at the deadline an operator chooses what happens, so the wait never
// fails silently. It returns "done" or the operator's choice from lw.escalation.
//
// The next reminder or deadline is the poll's own schedule-to-close timeout, not a timer beside
// it: a device that checks in before its first reminder (most of them) costs one activity and no
// timer. A timer is set only without a poll (operator mode), or when the server ended the poll
// early because its next attempt would fall after the checkpoint.
func (w *device) waitOnDevice(ctx workflow.Context, lw longWait) (string, error) {
	if lw.check != nil && w.watchedWait(ctx) {
		return w.waitWatched(ctx, lw)
	}
	choices := []string{procedure.OutcomeDone}
	instruction := ""
	party := procedure.PartyDevice
	if lw.poll == nil {
		// No console to read: a person watches CLOMO PANEL and reports what the device did.
		instruction, party = w.instruction(lw.step), procedure.PartyOperator
	}
	w.waiting(ctx, lw.step, party, lw.why, instruction, choices)
	started := workflow.Now(ctx)
	deadline := started.Add(w.timing.CheckInDeadline)
	reminded := 0

	var poll workflow.Future
	var cancelPoll workflow.CancelFunc
	spent := false // the poll ran out of time before the checkpoint: wait for it with a timer
	stopPoll := func() {
		if poll != nil {
			cancelPoll()
			_ = poll.Get(ctx, nil)
			poll = nil
		}
		spent = false
	}
	defer stopPoll()

	for {
		next := deadline
		if lw.user != "" && reminded < len(w.timing.UserReminders) {
			if at := started.Add(w.timing.UserReminders[reminded]); at.Before(next) {
				next = at
			}
		}
		if now := workflow.Now(ctx); now.Before(next) {
			var timer workflow.Future
			cancelTimer := func() {}
			if lw.poll != nil && poll == nil && !spent {
				var pctx workflow.Context
				pctx, cancelPoll = workflow.WithCancel(ctx)
				poll = lw.poll(pctx, next.Sub(now))
			}
			if poll == nil {
				var tctx workflow.Context
				tctx, cancelTimer = workflow.WithCancel(ctx)
				timer = workflow.NewTimerWithOptions(tctx, next.Sub(now), workflow.TimerOptions{Summary: "next reminder or deadline"})
			}
			var polled, woke bool
			var pollErr error
			sel := workflow.NewSelector(ctx)
			if poll != nil {
				sel.AddFuture(poll, func(f workflow.Future) { polled, pollErr = true, f.Get(ctx, lw.out) })
			}
			if timer != nil {
				sel.AddFuture(timer, func(workflow.Future) {})
			}
			sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); woke = true })
			sel.Select(ctx)
			cancelTimer()
			if err := ctx.Err(); err != nil {
				return "", err
			}
			switch {
			case polled:
				poll = nil
				switch {
				case pollErr == nil:
					return procedure.OutcomeDone, nil
				case !ranOutOfTime(pollErr):
					return "", pollErr
				}
				spent = true
			case woke:
				if r := w.takeReport(lw.step); r != nil && lw.poll == nil {
					return r.Outcome, nil
				}
				// A signal or a person says it happened: verify now rather than at the next poll.
				stopPoll()
			}
			continue
		}
		// The checkpoint: a reminder, or the deadline.
		stopPoll()
		if workflow.Now(ctx).Before(deadline) {
			w.remindUser(ctx, lw.user, reminded+1)
			w.note(lw.step, fmt.Sprintf("user reminded (%d)", reminded+1))
			reminded++
			continue
		}
		choice, err := w.askPerson(ctx, lw.step, procedure.PartyOperator,
			fmt.Sprintf("no sign from the device after %s: %s", w.timing.CheckInDeadline, lw.why),
			escalationText(lw.step, w.timing.CheckInDeadline, lw.escalation), append([]string{procedure.ChoiceKeepWaiting}, lw.escalation...))
		if err != nil {
			return "", err
		}
		if choice.Outcome != procedure.ChoiceKeepWaiting {
			return choice.Outcome, nil
		}
		w.note(lw.step, "operator chose to keep waiting")
		deadline = workflow.Now(ctx).Add(w.timing.CheckInDeadline)
		w.waiting(ctx, lw.step, party, lw.why, instruction, choices)
	}
}

// ranOutOfTime tells a poll that reached its schedule-to-close timeout from one that failed. A
// poll retries every failure without limit but the non-retryable ones, so any other failure that
// reaches the workflow means its time ran out: the server says so with a schedule-to-close
// timeout, or, when it ends a poll whose next attempt would come too late, with the last attempt's
// failure (retry state TIMEOUT; the test environment leaves the state unspecified).
func ranOutOfTime(err error) bool {
	var app *temporal.ApplicationError
	switch {
	case temporal.IsCanceledError(err):
		return false
	case errors.As(err, &app):
		return !app.NonRetryable() && !slices.Contains(nonRetryable, app.Type())
	}
	var timeout *temporal.TimeoutError
	return errors.As(err, &timeout)
}

// askPerson waits for a person (an operator, vendor support) to report a step, reminding them
// every OperatorReminder. It never times out: the device stays visibly waiting on a named party.
func (w *device) askPerson(ctx workflow.Context, id procedure.StepID, party procedure.Party, why, instruction string, choices []string) (StepReport, error) {
	w.waiting(ctx, id, party, why, instruction, choices)
	w.tellOperator(ctx, id, party, why, instruction, 0)
	for n := 1; ; n++ {
		ok, err := workflow.AwaitWithTimeout(ctx, w.timing.OperatorReminder, func() bool {
			return w.pending != nil && w.pending.Step == id
		})
		if err != nil {
			return StepReport{}, err
		}
		if ok {
			r := w.takeReport(id)
			w.note(id, fmt.Sprintf("%s reported %s", r.By, r.Outcome))
			return *r, nil
		}
		w.tellOperator(ctx, id, party, why, instruction, n)
	}
}

func (w *device) instruction(id procedure.StepID) string {
	in, ok := procedure.InstructionFor(id, procedure.InstructionOptions{
		Serial: w.status.Serial, RemoveESIM: w.in.Request.RemoveESIM, RemoveAutoInstalledApps: w.in.Request.RemoveAutoInstalledApps,
	})
	if !ok {
		return ""
	}
	return in.Markdown()
}

func escalationText(id procedure.StepID, after time.Duration, choices []string) string {
	text := fmt.Sprintf("The device has shown nothing for %s at step `%s`. Choose: **%s** (wait another %s)", after, id, procedure.ChoiceKeepWaiting, after)
	for _, c := range choices {
		text += fmt.Sprintf(", **%s** (%s)", c, procedure.ChoiceMeaning(c))
	}
	return text + ", or cancel the workflow."
}

// remindUser sends the device's user the instructions of their step again.
func (w *device) remindUser(ctx workflow.Context, id procedure.StepID, n int) {
	if id == "" {
		return
	}
	w.sendUser(ctx, id, fmt.Sprintf("Reminder %d: ", n))
}

func (w *device) sendUser(ctx workflow.Context, id procedure.StepID, prefix string) {
	in, ok := procedure.InstructionFor(id, procedure.InstructionOptions{Serial: w.status.Serial})
	if !ok {
		return
	}
	d, _ := procedure.Describe(id)
	w.send(ctx, notify.Message{
		Serial: w.status.Serial, Step: string(id), Audience: "user", Contact: w.in.Contact,
		Subject: prefix + d.Title + " (" + w.status.Serial + ")",
		TextJA:  in.Text("ja"), TextEN: in.Text("en"),
	})
}

func (w *device) tellOperator(ctx workflow.Context, id procedure.StepID, party procedure.Party, why, instruction string, n int) {
	subject := fmt.Sprintf("Offboard %s: step %s waits on %s", w.status.Serial, id, party)
	if n > 0 {
		subject = fmt.Sprintf("Reminder %d: %s", n, subject)
	}
	w.send(ctx, notify.Message{
		Serial: w.status.Serial, Step: string(id), Audience: "operator", Subject: subject,
		TextEN: why + "\n\n" + instruction,
		Fields: map[string]string{"waitingOn": string(party), "workflowId": w.id},
	})
}

// send delivers a notification; a notification that cannot be delivered is logged, and never
// stops the procedure.
func (w *device) send(ctx workflow.Context, m notify.Message) {
	err := workflow.ExecuteActivity(notifyOptions(ctx, "notify "+m.Audience+": "+m.Step), notifyActs.Send, m).Get(ctx, nil)
	if err != nil && ctx.Err() == nil {
		w.logger.Warn("notification not delivered", "step", m.Step, "audience", m.Audience, "error", err)
	}
}
