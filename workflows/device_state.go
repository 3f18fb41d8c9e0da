package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/procedure"
)

// The bookkeeping of a device: its steps, what it waits on, the search attributes and the Web UI's
// current details. Every change goes through these few methods, so the status query, the search
// attributes and the current details never disagree.

func (w *device) stepIndex(id procedure.StepID) int {
	return slices.IndexFunc(w.status.Steps, func(s StepStatus) bool { return s.ID == id })
}

func newStepStatus(id procedure.StepID) StepStatus {
	d, _ := procedure.Describe(id)
	return StepStatus{ID: id, Section: d.Section, Title: d.Title, State: StatePending}
}

// setPlan lays out the planned steps, keeping the ones already under way; a step new to the
// status goes at its end.
func (w *device) setPlan(plan procedure.Result) {
	w.status.Path = plan.Path
	w.status.Warnings = plan.Warnings
	for _, id := range plan.Steps {
		if w.stepIndex(id) < 0 {
			w.status.Steps = append(w.status.Steps, newStepStatus(id))
		}
	}
}

// setPlanInOrder lays out the planned steps in the plan's order, keeping the state of the ones
// already under way (pre-flight).
func (w *device) setPlanInOrder(plan procedure.Result) {
	steps := make([]StepStatus, 0, len(plan.Steps))
	for _, id := range plan.Steps {
		if i := w.stepIndex(id); i >= 0 {
			steps = append(steps, w.status.Steps[i])
		} else {
			steps = append(steps, newStepStatus(id))
		}
	}
	for _, s := range w.status.Steps {
		if !plan.Has(s.ID) {
			steps = append(steps, s)
		}
	}
	w.status.Steps = steps
	w.setPlan(plan)
}

// planNow is the plan as it stands: the status's steps, with those a branch or an operator's
// choice inserted where they run.
func (w *device) planNow() procedure.Result {
	ids := make([]procedure.StepID, len(w.status.Steps))
	for i, s := range w.status.Steps {
		ids[i] = s.ID
	}
	return procedure.Result{Path: w.status.Path, Steps: ids, Warnings: w.status.Warnings}
}

// insertStep adds a step the procedure's branches call for (remove-certificates, revoke-vpp-licenses,
// disable-lost-mode) right before another, so the status shows it where it runs.
func (w *device) insertStep(id, before procedure.StepID) {
	if w.stepIndex(id) >= 0 {
		return
	}
	at := w.stepIndex(before)
	if at < 0 {
		at = len(w.status.Steps)
	}
	w.status.Steps = slices.Insert(w.status.Steps, at, newStepStatus(id))
}

// stepState is a step's state, "" for a step not in the status.
func (w *device) stepState(id procedure.StepID) string {
	if i := w.stepIndex(id); i >= 0 {
		return w.status.Steps[i].State
	}
	return ""
}

// step is a step's status, added at the end when the status has none.
func (w *device) step(id procedure.StepID) *StepStatus {
	i := w.stepIndex(id)
	if i < 0 {
		w.status.Steps = append(w.status.Steps, newStepStatus(id))
		i = len(w.status.Steps) - 1
	}
	return &w.status.Steps[i]
}

// begin marks a step running on the given party.
func (w *device) begin(ctx workflow.Context, id procedure.StepID, party procedure.Party, why string) {
	s := w.step(id)
	now := workflow.Now(ctx)
	if s.StartedAt == nil {
		s.StartedAt = &now
	}
	s.State = StateRunning
	s.Attempts++
	w.setCurrent(ctx, id, party, why, "", nil)
}

// waiting marks the current step waiting on a party, with what the party should do.
func (w *device) waiting(ctx workflow.Context, id procedure.StepID, party procedure.Party, why, instruction string, choices []string) {
	s := w.step(id)
	if s.StartedAt == nil {
		now := workflow.Now(ctx)
		s.StartedAt = &now
	}
	s.State = StateWaiting
	w.setCurrent(ctx, id, party, why, instruction, choices)
}

// finish ends a step as done, skipped or failed, with a note for the status.
func (w *device) finish(ctx workflow.Context, id procedure.StepID, state, note string) {
	s := w.step(id)
	now := workflow.Now(ctx)
	s.State, s.EndedAt = state, &now
	if note != "" {
		w.note(id, note) // after what happened while it ran: the status keeps the whole story
	}
	w.logger.Info("step ended", "step", id, "state", state, "note", note)
	w.recordStepEnd(ctx, s)
	// Between two steps: the status says so at once; the search attributes wait for what comes
	// next (a step, or the end), which always follows in the same workflow task.
	w.status.Current, w.status.WaitingOn, w.status.WaitingFor = "", procedure.PartyNone, ""
	w.status.Instruction, w.status.Choices = "", nil
	workflow.SetCurrentDetails(ctx, w.details())
}

// note adds a line to a step's note (what happened while it waited).
func (w *device) note(id procedure.StepID, line string) {
	s := w.step(id)
	if s.Note == "" {
		s.Note = line
		return
	}
	s.Note += "; " + line
}

func (w *device) setCurrent(ctx workflow.Context, id procedure.StepID, party procedure.Party, why, instruction string, choices []string) {
	w.recordWait(ctx, id, party)
	if w.status.Current != id || w.status.WaitingOn != party {
		now := workflow.Now(ctx)
		w.status.Since = &now
	}
	w.status.Current, w.status.WaitingOn, w.status.WaitingFor = id, party, why
	w.status.Instruction, w.status.Choices = instruction, choices
	w.publish(ctx)
}

// publish pushes the state to the Web UI's current details (free: no history event) and, when it
// matters to someone filtering or counting devices, to the search attributes. Each upsert is a
// history event and a visibility write, the largest cost a device adds to the server besides its
// activities, so the visible state changes only when:
//   - the device starts or stops waiting on someone else: WaitingOn changes (console, apple,
//     device, operator, vendor-support, none at the end);
//   - the step changes while the device waits on a person or on the device itself (a new wait, a
//     new instruction);
//   - the path changes, or the device ends (OffboardStep becomes the outcome).
//
// A run of console steps of a second each (a wipe command, then a delete, then a retry of it)
// shows in visibility as the first of them; the status query and the current details always
// show the exact step.
func (w *device) publish(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, w.details())
	if w.unwritten() {
		return // lean.go: no one waits on this state, and it passes by itself
	}
	step := string(w.status.Current)
	if step == "" {
		step = w.status.Outcome
	}
	party := string(w.status.WaitingOn)
	if party == "" {
		party = string(procedure.PartyNone)
	}
	automated := w.status.WaitingOn == procedure.PartyConsole || w.status.WaitingOn == procedure.PartyApple
	changed := party != w.sa.waiting || w.status.Path != w.sa.path || (step != w.sa.step && !automated) ||
		(w.status.Outcome != OutcomeRunning && step != w.sa.step)
	if !changed {
		return
	}
	updates := []temporal.SearchAttributeUpdate{SAOffboardStep.ValueSet(step), SAWaitingOn.ValueSet(party)}
	if w.status.Path != "" {
		updates = append(updates, SAOffboardPath.ValueSet(w.status.Path))
	}
	if !w.sa.named {
		// The device names itself (and its fleet) when whoever started it did not.
		updates = append(updates, SADeviceSerial.ValueSet(w.status.Serial))
		if w.in.FleetID != "" {
			updates = append(updates, SAFleetID.ValueSet(w.in.FleetID))
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		w.logger.Warn("search attributes not updated", "error", err)
	}
	w.sa = visibleState{step: step, waiting: party, path: w.status.Path, named: true}
}

// visibleState is what the search attributes show of a device.
type visibleState struct {
	step, waiting, path string
	named               bool // DeviceSerial (and FleetID, for a fleet's device) are set
}

// startVisibleState reads the search attributes the device was started with (the starter and the
// fleet set all of them), so the first step does not write them again.
func startVisibleState(ctx workflow.Context, fleetID string) visibleState {
	sa := workflow.GetTypedSearchAttributes(ctx)
	var v visibleState
	v.step, _ = sa.GetKeyword(SAOffboardStep)
	v.waiting, _ = sa.GetKeyword(SAWaitingOn)
	v.path, _ = sa.GetKeyword(SAOffboardPath)
	_, hasSerial := sa.GetKeyword(SADeviceSerial)
	fleet, _ := sa.GetKeyword(SAFleetID)
	v.named = hasSerial && fleet == fleetID
	return v
}

// details renders the status as markdown for the Web UI's "current details".
func (w *device) details() string {
	var b strings.Builder
	// Sprintf and WriteString rather than Fprintf: workflowcheck flags any io.Writer.
	printf := func(format string, a ...any) { b.WriteString(fmt.Sprintf(format, a...)) }
	printf("**%s** · path `%s` · %s mode · %s\n\n", w.status.Serial, w.status.Path, w.status.ConsoleMode, w.status.Outcome)
	if w.status.Current != "" {
		printf("**Now:** `%s`, waiting on **%s**", w.status.Current, w.status.WaitingOn)
		if w.status.WaitingFor != "" {
			printf(": %s", w.status.WaitingFor)
		}
		b.WriteString("\n\n")
	}
	if w.status.Instruction != "" {
		b.WriteString(w.status.Instruction)
		b.WriteString("\n\n")
	}
	if len(w.status.Choices) > 0 {
		printf("Report with the `%s` update: `{\"step\": \"%s\", \"by\": \"<you>\", \"outcome\": \"%s\"}`\n\n",
			contract.UpdateCompleteStep, w.status.Current, strings.Join(w.status.Choices, "\" | \""))
	}
	b.WriteString("| step | state | note |\n|---|---|---|\n")
	for _, s := range w.status.Steps {
		printf("| %s | %s | %s |\n", s.ID, s.State, strings.ReplaceAll(s.Note, "|", "/"))
	}
	// A last line of its own: the Web UI cuts the bottom of the current details otherwise.
	b.WriteString("\n&nbsp;\n")
	return b.String()
}

// elapsed says how long a step has been under way, for reminders.
func (w *device) elapsed(ctx workflow.Context, id procedure.StepID) time.Duration {
	s := w.step(id)
	if s.StartedAt == nil {
		return 0
	}
	return workflow.Now(ctx).Sub(*s.StartedAt)
}
