package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
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
type device struct {
	in     DeviceInput
	id     string // workflow ID, the base of every idempotency key
	timing Timing
	logger log.Logger

	info   activities.WorkerInfo
	mode   string
	plan   procedure.Result
	fit    procedure.Fit
	status DeviceStatus

	restrictionsProfiles []string
	rounds               map[procedure.StepID]int
	deleteManaged        bool // an operator chose to delete the managed record of a device that never came back
	wiped                bool // the path erased the device: lost mode no longer matters at the delete

	pending *StepReport      // a person's report, taken by the step that waits on it
	wake    workflow.Channel // a signal or a report: a waiting step checks again now

	sa visibleState // what the search attributes show
}

// DeviceOffboarding takes one device through its path of the vendor procedure.
func DeviceOffboarding(ctx workflow.Context, in DeviceInput) (DeviceResult, error) {
	w, err := newDevice(ctx, in)
	if err != nil {
		return DeviceResult{Serial: in.Request.Serial, Outcome: OutcomeRejected, Error: err.Error()}, err
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
	w.status = DeviceStatus{Serial: serial, FleetID: in.FleetID, Outcome: OutcomeRunning, WaitingOn: procedure.PartyNone}
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
	w.mode = in.ConsoleMode
	if w.mode != "" && w.mode != contract.ModeAutomated && w.mode != contract.ModeOperator {
		return nil, rejected(fmt.Sprintf("device %s: console mode %q: use automated or operator", serial, w.mode))
	}
	w.setPlan(plan)
	if err := w.register(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, "Rejected", nil)
}

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
	case r.Outcome == ChoiceDeleteAnyway && r.Confirm != "YES":
		return fmt.Errorf("delete-anyway deletes the managed record of %s, which keeps its MDM profile: confirm with \"YES\" (--confirm YES)", w.status.Serial)
	}
	return nil
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

// run is the business sequence: pre-flight, then the plan, step by step.
func (w *device) run(ctx workflow.Context) (DeviceResult, error) {
	err := w.preflight(ctx)
	if err == nil {
		err = w.runPlan(ctx)
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
		w.status.Outcome, w.status.Error = OutcomeRejected, err.Error()
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	w.setCurrent(ctx, "", procedure.PartyNone, "", "", nil)
	result := w.result()
	w.logger.Info("device finished", "outcome", result.Outcome)
	w.reportToFleet(ctx, result)
	return result, err
}

func (w *device) result() DeviceResult {
	return DeviceResult{Serial: w.status.Serial, Path: w.status.Path, Outcome: w.status.Outcome,
		Warnings: w.status.Warnings, Steps: w.status.Steps, Error: w.status.Error}
}

// preflight reads the console and Apple Business Manager and checks they fit the request before
// anything destructive happens.
func (w *device) preflight(ctx workflow.Context) error {
	serial := w.status.Serial
	w.begin(ctx, procedure.Preflight, procedure.PartyConsole, "reading the console and Apple Business Manager")
	if err := workflow.ExecuteActivity(callOptions(ctx, contract.TaskQueue, "worker capabilities"), workerActs.Describe).Get(ctx, &w.info); err != nil {
		return err
	}
	if w.mode == "" {
		w.mode = w.info.ConsoleMode
	}
	w.status.ConsoleMode = w.mode
	facts := procedure.Facts{}
	if w.mode == contract.ModeAutomated {
		var d consoleDevice
		err := workflow.ExecuteActivity(callOptions(ctx, contract.ConsoleTaskQueue, "pre-flight: read "+serial), consoleActs.ReadDevice, serial).Get(ctx, &d)
		if err != nil {
			return w.fail(ctx, procedure.Preflight, preflightError(serial, err))
		}
		facts.ConsoleRead, facts.Status, facts.ADE, facts.MDMProfileRemovable = true, d.Status, d.ADE, d.MDMProfileRemovable
		facts.Supervised, facts.LostMode, facts.WorkSmart = d.Supervised, d.LostMode, d.WorkSmart
		for _, p := range d.Profiles {
			if p.Kind == "restrictions" {
				w.restrictionsProfiles = append(w.restrictionsProfiles, p.ID)
			}
		}
	}
	// A fleet's device (batched()) skips this read: see batch_device.go.
	if w.in.Request.Enrollment.IsADE() && w.info.AppleConfigured && !w.batched() {
		var a activities.Assignment
		if err := workflow.ExecuteActivity(callOptions(ctx, contract.AppleTaskQueue, "pre-flight: Apple assignment of "+serial), appleActs.AssignedServer, serial).Get(ctx, &a); err != nil {
			return w.fail(ctx, procedure.Preflight, preflightError(serial, err))
		}
		facts.AppleRead, facts.AppleAssigned, facts.AppleServerID, facts.OurAppleServer = true, a.Assigned, a.ServerID, w.info.AppleServerID
	}
	fit, err := procedure.CheckFacts(w.in.Request, facts)
	if err != nil {
		return w.fail(ctx, procedure.Preflight, err)
	}
	w.fit = fit
	w.setPlan(fit.Plan)
	w.finish(ctx, procedure.Preflight, StateDone, describeFacts(facts, fit))
	return nil
}

func preflightError(serial string, err error) error {
	if activities.IsType(err, activities.ErrRecordGone) {
		return fmt.Errorf("device %s: the console has no record with this serial: check the serial in CLOMO PANEL (Devices); nothing was changed", serial)
	}
	return fmt.Errorf("device %s: pre-flight could not read the facts: %w", serial, err)
}

func describeFacts(f procedure.Facts, fit procedure.Fit) string {
	var parts []string
	if f.ConsoleRead {
		parts = append(parts, fmt.Sprintf("console: %s, ADE %t, lost mode %t, Work Smart %t", f.Status, f.ADE, f.LostMode, f.WorkSmart))
	} else {
		parts = append(parts, "console not read (operator mode)")
	}
	if f.AppleRead {
		parts = append(parts, fmt.Sprintf("Apple: assigned %t", f.AppleAssigned))
	}
	if fit.AlreadyGreyedOut {
		parts = append(parts, "already greyed-out")
	}
	return strings.Join(parts, "; ")
}

// fail ends a step as failed and returns the error that ends the workflow.
func (w *device) fail(ctx workflow.Context, id procedure.StepID, err error) error {
	if temporal.IsCanceledError(err) {
		return err
	}
	w.finish(ctx, id, StateFailed, err.Error())
	return rejected(err.Error())
}

// runPlan carries out the steps after pre-flight, in the order the status shows them: the plan,
// with the steps a branch or an operator's choice inserted where they run.
func (w *device) runPlan(ctx workflow.Context) error {
	for i := 0; i < len(w.status.Steps); i++ {
		id := w.status.Steps[i].ID
		if w.step(id).State == StateDone || w.step(id).State == StateSkipped {
			continue
		}
		if w.fit.AlreadyGreyedOut && beforeGreyedOut(id) {
			w.finish(ctx, id, StateSkipped, "the console already showed the device greyed-out at pre-flight")
			continue
		}
		if err := w.runStep(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func beforeGreyedOut(id procedure.StepID) bool {
	switch id {
	case procedure.RemoveRestrictionsProfile, procedure.UserWipe, procedure.ConsoleWipe, procedure.RemoveProfiles,
		procedure.UserRemoveMDMProfile, procedure.AwaitGreyedOut:
		return true
	}
	return false
}

func (w *device) runStep(ctx workflow.Context, id procedure.StepID) error {
	switch id {
	case procedure.RemoveRestrictionsProfile:
		if w.mode == contract.ModeAutomated && len(w.restrictionsProfiles) == 0 {
			w.finish(ctx, id, StateSkipped, "no restrictions profile (制限設定プロファイル) is installed")
			return nil
		}
		return w.consoleCommand(ctx, id, removeProfileRequest(w.restrictionsProfiles), true)
	case procedure.RemoveProfiles:
		// Before a delete of the managed record (keep/ade-restricted) the profiles must be gone
		// first; on the other paths the user's removal of the MDM profile (3-2) removes them anyway,
		// so the user is told at once rather than after a check-in.
		return w.consoleCommand(ctx, id, removeProfileRequest(nil), w.plan.Has(procedure.DeleteManagedRecord))
	case procedure.DisableLostMode:
		return w.disableLostMode(ctx)
	case procedure.ConsoleWipe:
		w.wiped = true
		return w.consoleCommand(ctx, id, eraseRequest(w.in.Request.RemoveESIM), false)
	case procedure.UserWipe, procedure.UserRemoveMDMProfile:
		if id == procedure.UserWipe {
			w.wiped = true
		}
		return w.tellUser(ctx, id)
	case procedure.AwaitGreyedOut:
		return w.awaitGreyedOut(ctx)
	case procedure.DeleteManagedRecord, procedure.DeleteGreyedOutRecord:
		return w.deleteRecord(ctx, id)
	case procedure.ABMUnassign:
		return w.unassign(ctx)
	}
	return fmt.Errorf("device %s: step %s has no implementation", w.status.Serial, id)
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
