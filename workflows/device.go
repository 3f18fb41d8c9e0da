package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// Activities are referred to through nil pointers, so a rename is a compile error.
var (
	consoleActs *activities.Console
	appleActs   *activities.Apple
	notifyActs  *activities.Notify
	workerActs  *activities.Worker
	signalActs  *activities.Signals
)

// device is one DeviceOffboarding run: its input, its plan and everything the status query shows.
// The status is the state: what a step did is read from it, not mirrored in flags beside it.
type device struct {
	in     DeviceInput
	id     string // workflow ID, the base of every idempotency key
	timing Timing
	logger log.Logger

	info activities.WorkerInfo
	// alreadyGreyedOut: pre-flight found the record greyed-out, so the steps before it happened.
	alreadyGreyedOut bool
	// alreadyUnassigned: pre-flight found the device assigned to no MDM server in Apple.
	alreadyUnassigned    bool
	restrictionsProfiles []string // read at pre-flight: what remove-restrictions-profile removes
	rounds               map[procedure.StepID]int
	appleRequests        int // requests this run sent the Apple coordinator

	status DeviceStatus

	pending *StepReport      // a person's report, taken by the step that waits on it
	wake    workflow.Channel // a signal or a report: a waiting step checks again now

	sa visibleState // what the search attributes show
	// lean: changeLeanLifecycle's version 1 (lean.go); appleHeld: Apple's budget holds the
	// device's request to the coordinator now.
	lean, appleHeld bool
	leanV           workflow.Version // changeLeanLifecycle's version (leanImplies)

	watcherAsked bool // this run has started the console watcher (device_watched.go)
}

// DeviceOffboarding takes one device through its path of the vendor procedure.
func DeviceOffboarding(ctx workflow.Context, in DeviceInput) (DeviceResult, error) {
	w, err := newDevice(ctx, in)
	if err != nil {
		return DeviceResult{Serial: in.Request.Serial, Outcome: OutcomeRejected, Error: errMessage(err)}, err
	}
	return w.run(ctx)
}

// newDevice validates the input, builds the logger with the business key and registers the query,
// update and signal before anything blocks.
func newDevice(ctx workflow.Context, in DeviceInput) (*device, error) {
	info := workflow.GetInfo(ctx)
	w := &device{
		in:     in,
		id:     info.WorkflowExecution.ID,
		timing: in.Timing.withDefaults(),
		rounds: map[procedure.StepID]int{},
		wake:   workflow.NewBufferedChannel(ctx, 16),
		sa:     startVisibleState(ctx, in.FleetID),
	}
	serial, err := procedure.NormalizeSerial(in.Request.Serial)
	if err != nil {
		return nil, rejected(err.Error())
	}
	w.in.Request.Serial = serial
	w.logger = log.With(workflow.GetLogger(ctx), "serial", serial)
	w.status = DeviceStatus{Serial: serial, FleetID: in.FleetID, Outcome: OutcomeRunning, WaitingOn: procedure.PartyNone,
		ConsoleMode: in.ConsoleMode}
	w.recordFleetApproval()
	if want := contract.DeviceWorkflowID(serial); w.id != want {
		return nil, rejected(fmt.Sprintf("device %s: start it with workflow ID %s, the lock that keeps a device from being offboarded twice", serial, want))
	}
	plan, err := procedure.Plan(w.in.Request)
	if err != nil {
		return nil, rejected(err.Error())
	}
	if !in.Confirmed {
		return nil, rejected(fmt.Sprintf("device %s: path %s deletes the device record (and wipes it on a wipe path): "+
			"confirm by typing the serial, or pass --yes", serial, plan.Path))
	}
	if m := in.ConsoleMode; m != "" && m != contract.ModeAutomated && m != contract.ModeOperator {
		return nil, rejected(fmt.Sprintf("device %s: console mode %q: use automated or operator", serial, m))
	}
	w.setPlan(plan)
	if w.in.Request.Enrollment == procedure.Manual {
		w.status.ActivationLock = manualActivationLock()
	}
	if err := w.register(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// rejected is the error that ends a device's workflow for good: its message is the whole story
// (what happened to which device, what to do), so callers print it as it is.
func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, "Rejected", nil)
}

// operatorMode reports whether a person carries out the console steps (CLOMO PANEL by hand).
func (w *device) operatorMode() bool { return w.status.ConsoleMode == contract.ModeOperator }

// register installs the status query, the complete-step update and the device-event signal.
func (w *device) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, contract.QueryStatus, func() (DeviceStatus, error) { return w.status, nil },
		workflow.QueryHandlerOptions{Description: "the device's path, every step with its state, what it waits on and the warnings"}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateCompleteStep, w.completeStep, workflow.UpdateHandlerOptions{
		Validator:   w.validateReport,
		Description: `a person reports a step: {"step": "<step id>", "by": "<who>", "outcome": "done" | ..., "note": "..."}`,
	}); err != nil {
		return err
	}
	if err := w.registerApproval(ctx); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, contract.SignalDeviceEvent)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev DeviceEvent
			events.Receive(ctx, &ev)
			w.logger.Info("device event", "event", ev.Event, "source", ev.Source)
			if w.status.Current != "" {
				w.note(w.status.Current, fmt.Sprintf("event %q from %s: checking now", ev.Event, orDash(ev.Source)))
			}
			w.wake.SendAsync(ev.Event)
		}
	})
	return nil
}

// validateReport refuses a report unless the workflow waits on exactly that step and the outcome
// is one it accepts now; the error says what it waits on.
func (w *device) validateReport(r StepReport) error {
	waitingOn := "nothing a person can report"
	if w.status.Current != "" && len(w.status.Choices) > 0 {
		waitingOn = fmt.Sprintf("step %s (%s), outcomes %s", w.status.Current, w.status.WaitingOn, strings.Join(w.status.Choices, ", "))
	}
	switch {
	case strings.TrimSpace(r.By) == "":
		return fmt.Errorf("say who reports (by): the report is part of the audit")
	case w.pending != nil:
		return fmt.Errorf("a report for step %s is being handled; try again in a moment", w.pending.Step)
	case r.Step != w.status.Current || len(w.status.Choices) == 0:
		return fmt.Errorf("device %s is not waiting on step %q: it waits on %s", w.status.Serial, r.Step, waitingOn)
	case !slices.Contains(w.status.Choices, r.Outcome):
		return fmt.Errorf("outcome %q is not one step %s accepts: use %s", r.Outcome, r.Step, strings.Join(w.status.Choices, ", "))
	case r.Outcome == procedure.ChoiceDeleteAnyway && r.Confirm != "YES":
		return fmt.Errorf("delete-anyway deletes the managed record of %s, which keeps its MDM profile: confirm with \"YES\" (--confirm YES)", w.status.Serial)
	}
	return w.validateFleetRound(r)
}

// completeStep records the report in the audit and hands it to the waiting step.
func (w *device) completeStep(ctx workflow.Context, r StepReport) (string, error) {
	w.status.Audit = append(w.status.Audit, AuditEntry{Time: workflow.Now(ctx), Step: r.Step, By: r.By, Outcome: r.Outcome, Note: r.Note})
	w.logger.Info("step reported", "step", r.Step, "by", r.By, "outcome", r.Outcome)
	w.pending = &r
	w.wake.SendAsync("report")
	return fmt.Sprintf("recorded: %s %s by %s", r.Step, r.Outcome, r.By), nil
}

// takeReport returns the pending report for a step, if any.
func (w *device) takeReport(id procedure.StepID) *StepReport {
	if w.pending == nil || w.pending.Step != id {
		return nil
	}
	r := w.pending
	w.pending = nil
	return r
}

// run is the business story: pre-flight, then every step of the plan from the step table
// (steps.go), the steps a branch inserts included; then the outcome.
func (w *device) run(ctx workflow.Context) (DeviceResult, error) {
	recordDeviceStarted(ctx, w.status.Path)
	w.leanVersion(ctx)
	err := w.runStep(ctx, procedure.Preflight)
	for i := 0; err == nil && i < len(w.status.Steps); i++ {
		if s := w.status.Steps[i]; s.State != StateDone && s.State != StateSkipped {
			err = w.runStep(ctx, s.ID)
		}
	}
	switch {
	case err == nil:
		w.status.Outcome = OutcomeRemoved
	case temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled):
		w.status.Outcome = OutcomeCancelled
		if w.status.Current != "" {
			w.note(w.status.Current, "cancelled by an operator")
		}
		err = temporal.NewCanceledError("offboarding of " + w.status.Serial + " cancelled")
	default:
		w.status.Outcome, w.status.Error = OutcomeRejected, errMessage(err)
		err = rejected(w.status.Error)
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	w.setCurrent(ctx, "", procedure.PartyNone, "", "", nil)
	result := w.result()
	w.logger.Info("device finished", "outcome", result.Outcome)
	recordDeviceFinished(ctx, result.Path, result.Outcome)
	w.recordEvidence(ctx, result)
	w.reportToFleet(ctx, result)
	return result, err
}

func (w *device) result() DeviceResult {
	return DeviceResult{Serial: w.status.Serial, Path: w.status.Path, Outcome: w.status.Outcome,
		Warnings: w.status.Warnings, Steps: w.status.Steps, Error: w.status.Error, ActivationLock: w.status.ActivationLock}
}

// key is the idempotency key of a destructive call: the workflow ID, the step and its round (a
// delete retried after the procedure's error branch is a new round).
func (w *device) key(id procedure.StepID) string {
	return fmt.Sprintf("%s/%s/%d", w.id, id, w.rounds[id]+1)
}

// reportToFleet tells the fleet this device has finished, so the fleet never waits on a child
// that started before one of its continue-as-new runs.
func (w *device) reportToFleet(ctx workflow.Context, r DeviceResult) {
	if w.in.FleetID == "" {
		return
	}
	err := workflow.SignalExternalWorkflow(ctx, contract.FleetWorkflowID(w.in.FleetID), "", signalDeviceFinished, r).Get(ctx, nil)
	if err != nil {
		w.logger.Warn("fleet not told", "fleet", w.in.FleetID, "error", err)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
