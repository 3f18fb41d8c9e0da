package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// People at fleet scale. In operator mode a person carries out every console step in CLOMO PANEL,
// and CLOMO PANEL selects many devices at once for both deletes (4-1 and 4-2). So the devices of a
// fleet waiting at one of those steps are one task of the fleet: the serials, one instruction with
// the vendor's multi-select path (procedure.GroupInstructionFor), and one report, the fleet's
// complete-step update. The fleet hands that report to each device as the device's own
// complete-step update (activities.Fleet.DeliverReports): each device's validator still decides,
// and each device records its own outcome and audit entry (who, when, note).
//
// Which devices wait where: each device tells its fleet when it starts waiting at such a step
// and when it stops by a report of its own (the step-wait signal, device_fleet_steps.go); a
// device that ends tells it by device-finished. The fleet keeps them in its state (Waits), so a
// continue-as-new keeps the tasks.
//
// A device must never take a report for a step it no longer waits on. Three guards: the fleet
// sends only to the devices it has as waiting there (or to the serials the person lists, which
// must all be among them); the report carries the device's round of the wait (StepWait.Round),
// which the device checks, so a device that was reported on its own and waits at the same step
// again refuses the old report; and the device's own validator refuses any step it does not wait
// on. A refused device is named in the answer, and keeps waiting for its own report.

// FleetStepReport is the argument of the fleet's complete-step update.
type FleetStepReport struct {
	Step procedure.StepID `json:"step"`
	By   string           `json:"by"`
	// Outcome is what the console showed for every device but the exceptions ("" is done).
	Outcome string `json:"outcome,omitempty"`
	Note    string `json:"note,omitempty"`
	// Serials, when set, are the devices the person selected (the task as they saw it): devices
	// that joined the task after are left waiting. Empty: every device waiting at the step now.
	Serials []string `json:"serials,omitempty"`
	// Except are the devices for which the console showed something else.
	Except []FleetStepException `json:"except,omitempty"`
}

// FleetStepException is one device's own outcome in a fleet's report.
type FleetStepException struct {
	Serial  string `json:"serial"`
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
}

// FleetStepResult is the answer of the fleet's complete-step update.
type FleetStepResult struct {
	Step procedure.StepID `json:"step"`
	// Reported counts the devices that took the report, by outcome.
	Reported map[string]int `json:"reported"`
	// Refused names the devices that did not take it, and why (they keep waiting).
	Refused []FleetNote `json:"refused,omitempty"`
}

// FleetReportEntry is one of the fleet's reports for many devices, as its state keeps it.
type FleetReportEntry struct {
	Time       time.Time        `json:"time"`
	Step       procedure.StepID `json:"step"`
	By         string           `json:"by"`
	Outcome    string           `json:"outcome"`
	Devices    int              `json:"devices"`
	Exceptions int              `json:"exceptions,omitempty"`
	Refused    int              `json:"refused,omitempty"`
}

// FleetTask is a step that many of the fleet's devices wait at, for one person to do at once.
type FleetTask struct {
	Step    procedure.StepID `json:"step"`
	Section string           `json:"section"`
	Title   string           `json:"title"`
	Serials []string         `json:"serials"`
	// Since is when the first of them began to wait.
	Since time.Time `json:"since"`
	// Outcomes are what the report accepts, for all or for an exception.
	Outcomes []string `json:"outcomes"`
	// Instruction is the vendor's multi-select path for these devices (both languages); Report
	// the command line that reports it.
	Instruction string `json:"instruction"`
	Report      string `json:"report"`
	// RemoveAutoInstalledApps: 4-1 with 自動インストールしたアプリを削除する ticked. Devices that
	// differ in it are two tasks of the same step, which one report covers.
	RemoveAutoInstalledApps bool `json:"removeAutoInstalledApps,omitempty"`
}

const maxFleetReports = 20 // the fleet's reports its state keeps

// registerPeople installs the updates people send the fleet: complete-step (this file) and
// approve (fleet_approval.go).
func (f *fleet) registerPeople(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateCompleteFleetStep, f.completeStep, workflow.UpdateHandlerOptions{
		Validator: f.validateStepReport,
		Description: `a person reports a step for every device of the fleet waiting at it (CLOMO PANEL's multi-select): ` +
			`{"step": "delete-greyed-out-record", "by": "<who>", "outcome": "done", "note": "...", "except": [{"serial": "...", "outcome": "certificates-remain"}]}`,
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateApprove, f.approve, workflow.UpdateHandlerOptions{
		Validator:   f.validateApproval,
		Description: `a second person approves a fleet whose wipes are past the threshold: {"by": "<who>", "note": "..."}`,
	})
}

// stepWait takes a device's step-wait signal.
func (f *fleet) stepWait(ctx workflow.Context, s StepWait) {
	if _, running := f.st.Running[s.Serial]; !running {
		return // finished meanwhile, or not this fleet's
	}
	f.now = workflow.Now(ctx)
	if s.Waiting {
		s.Since = f.now
		f.st.Waits[s.Serial] = s
	} else if w, ok := f.st.Waits[s.Serial]; ok && w.Step == s.Step && w.Round == s.Round {
		delete(f.st.Waits, s.Serial)
	}
}

// waitingAt lists the serials waiting at step, sorted.
func (f *fleet) waitingAt(step procedure.StepID) []string {
	var out []string
	for _, serial := range sortedKeys(f.st.Waits) {
		if f.st.Waits[serial].Step == step {
			out = append(out, serial)
		}
	}
	return out
}

// reportedSerials are the devices a report goes to: the person's list, or every device waiting.
func (f *fleet) reportedSerials(r FleetStepReport) []string {
	if len(r.Serials) == 0 {
		return f.waitingAt(r.Step)
	}
	out := make([]string, 0, len(r.Serials))
	for _, s := range r.Serials {
		out = append(out, serialKey(s))
	}
	return out
}

// validateStepReport refuses a report the fleet cannot hand out whole: nothing is delivered unless
// every device it names waits at the step in this fleet, and every outcome is one the step takes.
func (f *fleet) validateStepReport(r FleetStepReport) error {
	outcomes := procedure.Outcomes(r.Step)
	outcome := orDone(r.Outcome)
	waiting := f.waitingAt(r.Step)
	switch {
	case strings.TrimSpace(r.By) == "":
		return fmt.Errorf("say who reports (by): each device's report is part of its audit")
	case !procedure.Groupable(r.Step):
		return fmt.Errorf("step %q is not one CLOMO PANEL does for many devices at once (those are %s): report it device by device with `starter complete <serial> %s`",
			r.Step, joinSteps(procedure.GroupableSteps()), r.Step)
	case f.reporting[r.Step]:
		return fmt.Errorf("a report for step %s is being delivered to fleet %s's devices; try again in a moment", r.Step, f.id)
	case len(waiting) == 0:
		return fmt.Errorf("no device of fleet %s waits at step %s now: see `starter fleet watch %s`", f.id, r.Step, f.id)
	case !slices.Contains(outcomes, outcome):
		return fmt.Errorf("outcome %q is not one step %s accepts: use %s", outcome, r.Step, strings.Join(outcomes, ", "))
	}
	selected := map[string]bool{}
	for _, serial := range f.reportedSerials(r) {
		if err := f.checkWaiting(serial, r.Step); err != nil {
			return err
		}
		if selected[serial] {
			return fmt.Errorf("device %s is listed twice in the report for %s: list it once", serial, r.Step)
		}
		selected[serial] = true
	}
	excepted := map[string]bool{}
	for _, e := range r.Except {
		serial := serialKey(e.Serial)
		if err := f.checkWaiting(serial, r.Step); err != nil {
			return fmt.Errorf("exception: %w", err)
		}
		switch {
		case !selected[serial]:
			return fmt.Errorf("exception: device %s is not among the devices of this report: add it to the serials, or leave it out", serial)
		case excepted[serial]:
			return fmt.Errorf("exception: device %s is named twice: give it one outcome", serial)
		case !slices.Contains(outcomes, orDone(e.Outcome)):
			return fmt.Errorf("exception: outcome %q for device %s is not one step %s accepts: use %s", e.Outcome, serial, r.Step, strings.Join(outcomes, ", "))
		}
		excepted[serial] = true
	}
	return nil
}

// checkWaiting says why a device cannot take a report for step, naming it and what to do.
func (f *fleet) checkWaiting(serial string, step procedure.StepID) error {
	if w, ok := f.st.Waits[serial]; ok {
		if w.Step == step {
			return nil
		}
		return fmt.Errorf("device %s waits at %s, not at %s: report it with `starter fleet complete %s %s`, or on its own",
			serial, w.Step, step, f.id, w.Step)
	}
	if _, ok := f.st.Running[serial]; ok {
		return fmt.Errorf("device %s of fleet %s does not wait at %s now: see `starter status %s`, and leave it out of this report", serial, f.id, step, serial)
	}
	return fmt.Errorf("device %s is not running in fleet %s (not in its list, or finished): check the serial, and leave it out of this report", serial, f.id)
}

// completeStep hands the report to each device as its own complete-step update, in one activity.
func (f *fleet) completeStep(ctx workflow.Context, r FleetStepReport) (FleetStepResult, error) {
	f.reporting[r.Step] = true
	defer delete(f.reporting, r.Step)
	f.st.ReportSeq++
	seq := f.st.ReportSeq
	except := map[string]FleetStepException{}
	for _, e := range r.Except {
		except[serialKey(e.Serial)] = e
	}
	serials := f.reportedSerials(r)
	rounds := map[string]int{}
	in := activities.DeliverInput{UpdateName: contract.UpdateCompleteStep}
	for _, serial := range serials {
		rep := StepReport{Step: r.Step, By: r.By, Outcome: orDone(r.Outcome), Note: r.Note, Round: f.st.Waits[serial].Round}
		if e, ok := except[serial]; ok {
			rep.Outcome = orDone(e.Outcome)
			if e.Note != "" {
				rep.Note = e.Note
			}
		}
		rounds[serial] = rep.Round
		arg, err := json.Marshal(rep) //workflowcheck:ignore a struct of strings and an int encodes the same every time
		if err != nil {
			return FleetStepResult{}, err
		}
		in.Reports = append(in.Reports, activities.DeviceReport{Serial: serial, WorkflowID: contract.DeviceWorkflowID(serial),
			UpdateID: fmt.Sprintf("%s/report-%d/%s", contract.FleetWorkflowID(f.id), seq, serial), Arg: arg})
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: contract.TaskQueue, StartToCloseTimeout: 5 * time.Minute,
		Summary: fmt.Sprintf("report %s for %d devices of fleet %s", r.Step, len(serials), f.id),
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrNotConfigured}},
	})
	var answers []activities.Delivered
	if err := workflow.ExecuteActivity(actx, fleetActs.DeliverReports, in).Get(ctx, &answers); err != nil {
		return FleetStepResult{}, fmt.Errorf("fleet %s: the report for %s was not delivered (no device took it; send it again): %s", f.id, r.Step, errMessage(err))
	}
	f.now = workflow.Now(ctx)
	res := FleetStepResult{Step: r.Step, Reported: map[string]int{}}
	for _, a := range answers {
		if !a.Accepted {
			res.Refused = append(res.Refused, FleetNote{Serial: a.Serial, Step: string(r.Step), Detail: a.Refusal})
			continue
		}
		outcome := orDone(r.Outcome)
		if e, ok := except[a.Serial]; ok {
			outcome = orDone(e.Outcome)
		}
		res.Reported[outcome]++
		if w, ok := f.st.Waits[a.Serial]; ok && w.Step == r.Step && w.Round == rounds[a.Serial] {
			delete(f.st.Waits, a.Serial) // the device has left the wait: its report is in
		}
	}
	f.st.Reports = append(f.st.Reports, FleetReportEntry{Time: f.now, Step: r.Step, By: r.By, Outcome: orDone(r.Outcome),
		Devices: len(serials) - len(res.Refused), Exceptions: len(r.Except), Refused: len(res.Refused)})
	if n := len(f.st.Reports); n > maxFleetReports {
		f.st.Reports = f.st.Reports[n-maxFleetReports:]
	}
	f.logger.Info("step reported for many devices", "step", r.Step, "devices", len(serials), "refused", len(res.Refused))
	f.publish(ctx)
	return res, nil
}

// tasks are the fleet's steps waiting on one person for many devices, for the progress query.
func (f *fleet) tasks() []FleetTask {
	type key struct {
		step procedure.StepID
		apps bool
	}
	groups := map[key]*FleetTask{}
	var order []key
	for _, serial := range sortedKeys(f.st.Waits) {
		w := f.st.Waits[serial]
		k := key{w.Step, w.Step == procedure.DeleteManagedRecord && w.RemoveAutoInstalledApps}
		t, ok := groups[k]
		if !ok {
			d, _ := procedure.Describe(w.Step)
			t = &FleetTask{Step: w.Step, Section: d.Section, Title: d.Title, Outcomes: procedure.Outcomes(w.Step), RemoveAutoInstalledApps: k.apps}
			groups[k] = t
			order = append(order, k)
		}
		t.Serials = append(t.Serials, serial)
		if t.Since.IsZero() || w.Since.Before(t.Since) {
			t.Since = w.Since
		}
	}
	slices.SortFunc(order, func(a, b key) int {
		if c := strings.Compare(string(a.step), string(b.step)); c != 0 {
			return c
		}
		if a.apps == b.apps {
			return 0
		}
		if !a.apps {
			return -1
		}
		return 1
	})
	out := make([]FleetTask, 0, len(order))
	for _, k := range order {
		t := groups[k]
		if in, ok := procedure.GroupInstructionFor(t.Step, t.Serials, procedure.InstructionOptions{RemoveAutoInstalledApps: t.RemoveAutoInstalledApps}); ok {
			t.Instruction = in.Text("both")
		}
		t.Report = fmt.Sprintf("starter fleet complete %s %s --by <you> [--except <serial> --outcome <%s> --note ...]",
			f.id, t.Step, strings.Join(t.Outcomes[1:], "|"))
		out = append(out, *t)
	}
	return out
}

// serialKey is a serial as the fleet keys it (procedure.NormalizeSerial's case and spacing).
func serialKey(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func orDone(outcome string) string {
	if strings.TrimSpace(outcome) == "" {
		return procedure.OutcomeDone
	}
	return outcome
}

func joinSteps(ids []procedure.StepID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, " and ")
}
