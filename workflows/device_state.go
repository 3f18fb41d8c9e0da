package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

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

// setPlan lays out the planned steps, keeping the ones already under way.
func (w *device) setPlan(plan procedure.Result) {
	w.plan = plan
	w.status.Path = plan.Path
	w.status.Warnings = plan.Warnings
	for _, id := range plan.Steps {
		if w.stepIndex(id) < 0 {
			w.status.Steps = append(w.status.Steps, newStepStatus(id))
		}
	}
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
		s.Note = note
	}
	w.logger.Info("step ended", "step", id, "state", state, "note", note)
	w.setCurrent(ctx, "", procedure.PartyNone, "", "", nil)
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
	if w.status.Current != id || w.status.WaitingOn != party {
		now := workflow.Now(ctx)
		w.status.Since = &now
	}
	w.status.Current, w.status.WaitingOn, w.status.WaitingFor = id, party, why
	w.status.Instruction, w.status.Choices = instruction, choices
	w.publish(ctx)
}

// publish pushes the state to the search attributes (only when they change: each upsert is a
// history event) and to the Web UI's current details (free: no event).
func (w *device) publish(ctx workflow.Context) {
	step := string(w.status.Current)
	if step == "" {
		step = w.status.Outcome
	}
	party := string(w.status.WaitingOn)
	if party == "" {
		party = string(procedure.PartyNone)
	}
	if step != w.saStep || party != w.saWaiting || w.status.Path != w.saPath {
		updates := []temporal.SearchAttributeUpdate{SAOffboardStep.ValueSet(step), SAWaitingOn.ValueSet(party)}
		if w.status.Path != "" {
			updates = append(updates, SAOffboardPath.ValueSet(w.status.Path))
		}
		if w.saStep == "" {
			// The first upsert also names the device (and its fleet), whoever started it.
			updates = append(updates, SADeviceSerial.ValueSet(w.status.Serial))
			if w.in.FleetID != "" {
				updates = append(updates, SAFleetID.ValueSet(w.in.FleetID))
			}
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			w.logger.Warn("search attributes not updated", "error", err)
		}
		w.saStep, w.saWaiting, w.saPath = step, party, w.status.Path
	}
	workflow.SetCurrentDetails(ctx, w.details())
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
			UpdateCompleteStep, w.status.Current, strings.Join(w.status.Choices, "\" | \""))
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
