package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// From version 1 of changeWatchedWait, a device waiting on its check-in holds no activity: it
// reads the console once, then sleeps until the console watcher (console_watcher.go) wakes it
// with a device-event, or a timer at the next reminder, the deadline or the safety-net read,
// whichever comes first. Each wake is one short read. Devices that were waiting before keep the
// long-polling activity of waitOnDevice, command for command.
const changeWatchedWait = "watched-wait"

// DefaultSafetyNetPoll is how often a waiting device reads the console when nothing wakes it
// (CONSOLE_SAFETY_NET_POLL): the watcher wakes it when the device changes; this read only
// covers changes the feed lost.
const DefaultSafetyNetPoll = 24 * time.Hour

func (w *device) watchedWait(ctx workflow.Context) bool {
	return w.version(ctx, changeWatchedWait, 1) >= 1
}

// safetyNet is the interval of the device's safety-net read: its own timing, else the worker's.
func (w *device) safetyNet() time.Duration {
	switch {
	case w.timing.SafetyNetPoll > 0:
		return w.timing.SafetyNetPoll
	case w.info.ConsoleSafetyNetPoll > 0:
		return w.info.ConsoleSafetyNetPoll
	}
	return DefaultSafetyNetPoll
}

// waitWatched is waitOnDevice without a poll: the same party, reminders, deadline and escalation,
// with reads only when woken. It returns "done" or the operator's choice from lw.escalation.
func (w *device) waitWatched(ctx workflow.Context, lw longWait) (string, error) {
	choices := []string{procedure.OutcomeDone}
	w.waiting(ctx, lw.step, procedure.PartyDevice, lw.why, "", choices)
	started := workflow.Now(ctx)
	deadline := started.Add(w.timing.CheckInDeadline)
	reminded := 0
	w.startWatcher(ctx)
	read := true
	for {
		next := deadline
		if lw.user != "" && reminded < len(w.timing.UserReminders) {
			if at := started.Add(w.timing.UserReminders[reminded]); at.Before(next) {
				next = at
			}
		}
		if now := workflow.Now(ctx); now.Before(next) {
			if read {
				done, err := lw.check(ctx)
				if err != nil {
					return "", err
				}
				if done {
					return procedure.OutcomeDone, nil
				}
				read = false
				continue // the read took time: the checkpoint may have come
			}
			wait, summary := next.Sub(now), "next reminder or deadline"
			if net := w.safetyNet(); net < wait {
				wait, summary = net, "safety-net read of the console"
			}
			tctx, cancelTimer := workflow.WithCancel(ctx)
			timer := workflow.NewTimerWithOptions(tctx, wait, workflow.TimerOptions{Summary: summary})
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(timer, func(workflow.Future) {})
			sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
			sel.Select(ctx)
			cancelTimer()
			if err := ctx.Err(); err != nil {
				return "", err
			}
			// Woken (an event, a report), or the timer: read once. At a checkpoint the reminder
			// goes first, as in waitOnDevice.
			for w.wake.ReceiveAsync(nil) {
			}
			w.takeReport(lw.step) // a person's "done" is a reason to look, as in waitOnDevice
			read = true
			continue
		}
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
		w.waiting(ctx, lw.step, procedure.PartyDevice, lw.why, "", choices)
		read = true
	}
}

// startWatcher starts the console's watcher, once a run, when none runs: an abandoned child
// (it outlives the device), started without waiting for it. One that runs already refuses the
// start, which costs the device two history events and the watcher none. A worker that knows no
// console endpoint names no watcher: the device then reads at its safety-net interval.
func (w *device) startWatcher(ctx workflow.Context) {
	id := w.info.ConsoleWatcher
	if id == "" || w.watcherAsked {
		return
	}
	w.watcherAsked = true
	cctx := workflow.WithChildOptions(ctx, watcherChildOptions(id))
	started := workflow.ExecuteChildWorkflow(cctx, ConsoleWatcher, WatcherInput{}).GetChildWorkflowExecution()
	workflow.Go(ctx, func(ctx workflow.Context) {
		err := started.Get(ctx, nil)
		if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) && ctx.Err() == nil {
			w.logger.Warn("console watcher not started: the device reads the console at its safety-net interval", "watcher", id, "error", err)
		}
	})
}

// checkGreyedOut is the read of await-greyed-out.
func (w *device) checkGreyedOut(out *consoleDevice) func(ctx workflow.Context) (bool, error) {
	serial := w.status.Serial
	return func(ctx workflow.Context) (bool, error) {
		var c activities.WaitCheck
		err := workflow.ExecuteActivity(callOptions(ctx, contract.ConsoleTaskQueue, "check greyed-out "+serial), consoleActs.CheckGreyedOut, serial).Get(ctx, &c)
		if c.Device != nil {
			*out = *c.Device
		}
		return c.Done, err
	}
}

// checkCommand is the read of a wait for a queued command's acknowledgement.
func (w *device) checkCommand(ref activities.CommandRef, typ string, out *console.Command) func(ctx workflow.Context) (bool, error) {
	return func(ctx workflow.Context) (bool, error) {
		var c activities.WaitCheck
		err := workflow.ExecuteActivity(callOptions(ctx, contract.ConsoleTaskQueue, "check "+typ+" on "+ref.Serial), consoleActs.CheckCommand, ref).Get(ctx, &c)
		if c.Command != nil {
			*out = *c.Command
		}
		return c.Done, err
	}
}
