package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// watchedHarness is a device on a worker with the production safety net (a day) and a console
// watcher named, as workerapp makes it; the watcher itself is mocked: these tests play its
// device-event signals.
type watchedHarness struct {
	*harness
	mu       sync.Mutex
	started  map[string]int // activity type → attempts started
	watchers int            // ConsoleWatcher children started
}

func newWatchedHarness(t *testing.T) *watchedHarness {
	h := &watchedHarness{harness: &harness{t: t, world: newFakeWorld()}, started: map[string]int{}}
	h.ts.SetLogger(newQuietLogger(t))
	h.env = h.ts.NewTestWorkflowEnvironment()
	h.env.RegisterWorkflow(DeviceOffboarding)
	withCoordinator(h.env)
	h.env.RegisterActivity(&activities.Console{API: h.world})
	h.env.RegisterActivity(&activities.Apple{API: h.world, ServerID: fakeServer})
	h.env.RegisterActivity(&activities.Notify{Notifier: h.world})
	h.env.RegisterActivity(testEvidence(t))
	h.env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{ConsoleMode: contract.ModeAutomated, AppleConfigured: true,
		AppleServerID: fakeServer, ConsoleWatcher: ConsoleWatcherWorkflowID("http://console.test:8088")}})
	h.env.RegisterWorkflow(ConsoleWatcher)
	h.env.OnWorkflow(ConsoleWatcher, mock.Anything, mock.Anything).Return(nil)
	h.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		if info.WorkflowType.Name == ConsoleWatcherWorkflowType && info.WorkflowExecution.ID == ConsoleWatcherWorkflowID("http://console.test:8088") {
			h.mu.Lock()
			h.watchers++
			h.mu.Unlock()
		}
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		h.mu.Lock()
		h.started[info.ActivityType.Name]++
		h.mu.Unlock()
	})
	return h
}

// stepTimes returns when a step started and ended.
func stepTimes(t *testing.T, st DeviceStatus, id procedure.StepID) (time.Time, time.Time) {
	t.Helper()
	for _, s := range st.Steps {
		if s.ID == id && s.StartedAt != nil && s.EndedAt != nil {
			return *s.StartedAt, *s.EndedAt
		}
	}
	t.Fatalf("step %s has not run: %+v", id, st.Steps)
	return time.Time{}, time.Time{}
}

// A console wipe, then await-greyed-out: the device checks in (the wipe lands) 5 hours in, and
// the watcher's device-event wakes the wait, which reads once and goes on at once, not at the
// next day's safety-net read. The wait held no long poll.
func TestWatchedWaitWakesOnADeviceEvent(t *testing.T) {
	h := newWatchedHarness(t)
	d := h.world.add("WATCH1", "manual", func(d *fakeDevice) { d.checkInEvery = 0 })
	h.env.RegisterDelayedCallback(func() {
		h.world.mu.Lock()
		h.world.checkIn(d)
		h.world.mu.Unlock()
		h.env.SignalWorkflow(contract.SignalDeviceEvent, DeviceEvent{Event: contract.EventConsoleChanged, Source: "console watcher"})
	}, 5*time.Hour)
	res, err := h.run(procedure.Request{Serial: "WATCH1", Enrollment: procedure.Manual, Wipe: true, WipeMethod: procedure.WipeConsole})
	if err != nil || res.Outcome != OutcomeRemoved {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	start, end := stepTimes(t, h.status(), procedure.AwaitGreyedOut)
	if took := end.Sub(start); took < 5*time.Hour || took > 5*time.Hour+time.Minute {
		t.Errorf("await-greyed-out took %s: it should end when the event came, 5h in", took)
	}
	if n := h.started["CheckGreyedOut"]; n != 2 {
		t.Errorf("%d reads of the record while waiting, want 2 (at the start, and when woken)", n)
	}
	if n := h.started["AwaitGreyedOut"]; n != 0 {
		t.Errorf("%d long-polling attempts: the watched wait holds none", n)
	}
	if h.watchers != 1 {
		t.Errorf("the console watcher was started %d times, want once", h.watchers)
	}
}

// Nothing wakes the device: the change is seen at the safety-net read.
func TestWatchedWaitReadsAtTheSafetyNet(t *testing.T) {
	h := newWatchedHarness(t)
	d := h.world.add("WATCH2", "manual", func(d *fakeDevice) { d.checkInEvery = 0 })
	h.env.RegisterDelayedCallback(func() {
		h.world.mu.Lock()
		h.world.checkIn(d)
		h.world.mu.Unlock()
	}, 2*time.Hour)
	res, err := h.run(procedure.Request{Serial: "WATCH2", Enrollment: procedure.Manual, Wipe: true, WipeMethod: procedure.WipeConsole},
		func(in *DeviceInput) { in.Timing.SafetyNetPoll = 6 * time.Hour })
	if err != nil || res.Outcome != OutcomeRemoved {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	start, end := stepTimes(t, h.status(), procedure.AwaitGreyedOut)
	if took := end.Sub(start); took < 6*time.Hour || took > 6*time.Hour+time.Minute {
		t.Errorf("await-greyed-out took %s: without an event the change is seen at the 6h safety-net read", took)
	}
	if n := h.started["CheckGreyedOut"]; n != 2 {
		t.Errorf("%d reads of the record, want 2 (at the start, and at the safety net)", n)
	}
}

// A user who never acts: the reminders go out at 1, 3, 7 and 10 days and the operator is asked
// at 14, as before; in 14 days the device read the console about once a day.
func TestWatchedWaitKeepsRemindersAndDeadline(t *testing.T) {
	h := newWatchedHarness(t)
	h.world.add("WATCH3", "manual", func(d *fakeDevice) { d.checkInEvery, d.userComplies = 0, false })
	var at13, at14 DeviceStatus
	reads13 := 0
	h.env.RegisterDelayedCallback(func() {
		at13 = h.status()
		h.mu.Lock()
		reads13 = h.started["CheckGreyedOut"]
		h.mu.Unlock()
	}, 13*24*time.Hour)
	h.env.RegisterDelayedCallback(func() { at14 = h.status(); h.env.CancelWorkflow() }, 14*24*time.Hour+time.Hour)
	_, _ = h.run(procedure.Request{Serial: "WATCH3", Enrollment: procedure.Manual, Wipe: false})

	if at13.Current != procedure.AwaitGreyedOut || at13.WaitingOn != procedure.PartyDevice {
		t.Errorf("day 13: %s on %s, want await-greyed-out on device", at13.Current, at13.WaitingOn)
	}
	if at14.Current != procedure.AwaitGreyedOut || at14.WaitingOn != procedure.PartyOperator ||
		!strings.Contains(at14.Instruction, procedure.ChoiceKeepWaiting) {
		t.Errorf("after the deadline: %s on %s (%q), want the operator asked at await-greyed-out", at14.Current, at14.WaitingOn, at14.Instruction)
	}
	reminders := 0
	for _, m := range h.world.notes {
		if m.Audience == "user" && strings.HasPrefix(m.Subject, "Reminder ") {
			reminders++
		}
	}
	if reminders != 4 {
		t.Errorf("%d reminders to the user, want 4 (1, 3, 7, 10 days)", reminders)
	}
	if reads13 < 12 || reads13 > 15 {
		t.Errorf("%d reads of the record in 13 days, want about one a day (the safety net)", reads13)
	}
	if n := h.started["AwaitGreyedOut"]; n != 0 {
		t.Errorf("%d long-polling attempts: the watched wait holds none", n)
	}
}
