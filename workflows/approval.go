package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// The device's side of the destruction budget (destruction_budget.go). From version 1 of
// changeDestructionBudget a device asks its console's budget holder before each destructive
// console command: console-wipe's EraseDevice and each delete (delete-managed-record,
// delete-greyed-out-record; each round of a delete is a command of its own). In operator mode it
// asks before telling the person to carry the step out in CLOMO PANEL: the budget guards against a
// mistake or an attacker, whoever's hands do the wipe. abm-unassign does not count: it is not a
// console command, Apple's own budget (the Apple coordinator) already limits it to about 10
// activities an hour, it destroys nothing (the device can be assigned again in Apple Business
// Manager), and it runs only after the wipe or delete that the budget held.
//
// Past the budget, the step waits with WaitingOn=approval until a second person (not the one who
// started the device) approves with the approve update. Only an approval releases a held step: a
// window that frees later does not, since the hold says "more destruction than expected: a person
// looks". An approved command takes no slot of the window, which counts what the budget let through
// on its own; the devices that ask after the window frees are granted again.
const changeDestructionBudget = "destruction-budget"

// budgetPatience is how long a device waits for the holder's answer before it asks again (the
// holder was restarting, or was started a moment ago): the holder answers a repeated request as
// it answered the first.
const budgetPatience = 30 * time.Second

// Approval is the argument of the approve update.
type Approval struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// DestructiveGrant is one destructive command as the budget decided it, in the status and the
// retirement record: granted by the budget, or held and approved by a second person.
type DestructiveGrant struct {
	Step    procedure.StepID `json:"step"`
	Key     string           `json:"key"`     // the command's idempotency key
	Outcome string           `json:"outcome"` // granted or held (DestructGranted, DestructHeld)
	At      time.Time        `json:"at"`
	// Limit and Window are the budget the decision was taken under.
	Limit      int           `json:"limit"`
	Window     time.Duration `json:"window"`
	ApprovedBy string        `json:"approvedBy,omitempty"`
	ApprovedAt *time.Time    `json:"approvedAt,omitempty"`
	Note       string        `json:"note,omitempty"`
}

// allowDestruction is the budget's gate before the destructive command of step id (its key is
// w.key(id)): it returns once the budget granted the command or a second person approved it.
func (w *device) allowDestruction(ctx workflow.Context, id procedure.StepID) error {
	if w.version(ctx, changeDestructionBudget, 1) == workflow.DefaultVersion {
		return nil
	}
	key := w.key(id)
	if g := w.grantOf(key); g >= 0 && w.released(g) {
		return nil
	}
	a, err := w.askBudget(ctx, id, key)
	if err != nil {
		return err
	}
	w.status.Destruction = append(w.status.Destruction, DestructiveGrant{Step: id, Key: key, Outcome: a.Outcome, At: a.At,
		Limit: a.Limit, Window: a.Window})
	if a.Outcome == DestructGranted {
		w.note(id, fmt.Sprintf("granted by the destruction budget (%d of %d in %s)", a.Used, a.Limit, a.Window))
		return nil
	}
	why := fmt.Sprintf("the destruction budget is spent (%d wipes and deletes in %s, across all workers): a second person must approve", a.Limit, a.Window)
	instruction := fmt.Sprintf("More destructive commands than the budget allows were asked for. Check that retiring %s is intended, then approve "+
		"with the `%s` update: `{\"by\": \"<you>\", \"note\": \"...\"}` (`starter approve %s --by <you>`). "+
		"The person who started the device cannot approve it.", w.status.Serial, contract.UpdateApprove, w.status.Serial)
	w.note(id, "held: "+why)
	w.waiting(ctx, id, procedure.PartyApproval, why, instruction, nil)
	g := w.grantOf(key)
	for n := 0; ; n++ { // reminded every OperatorReminder, as a person who owes a step is
		w.tellOperator(ctx, id, procedure.PartyApproval, why, instruction, n)
		ok, err := workflow.AwaitWithTimeout(ctx, w.timing.OperatorReminder, func() bool { return w.status.Destruction[g].ApprovedBy != "" })
		if err != nil {
			return err
		}
		if ok {
			break
		}
	}
	w.note(id, "approved by "+w.status.Destruction[g].ApprovedBy)
	return nil
}

func (w *device) grantOf(key string) int {
	return slices.IndexFunc(w.status.Destruction, func(g DestructiveGrant) bool { return g.Key == key })
}

func (w *device) released(i int) bool {
	g := w.status.Destruction[i]
	return g.Outcome == DestructGranted || g.ApprovedBy != ""
}

// held is the index of the command waiting for approval, or -1.
func (w *device) held() int {
	i := slices.IndexFunc(w.status.Destruction, func(g DestructiveGrant) bool { return g.Outcome == DestructHeld && g.ApprovedBy == "" })
	if i < 0 || w.status.WaitingOn != procedure.PartyApproval || w.status.Current != w.status.Destruction[i].Step {
		return -1
	}
	return i
}

// askBudget asks the console's holder for a grant and waits for its answer, starting the holder
// when none runs, and asking again (the same key) when no answer comes.
func (w *device) askBudget(ctx workflow.Context, id procedure.StepID, key string) (DestructAnswer, error) {
	holder := DestructionBudgetWorkflowID(w.info.ConsoleID)
	req := DestructRequest{Key: key, WorkflowID: w.id, Step: string(id)}
	answers := workflow.GetSignalChannel(ctx, signalDestructAnswer)
	if err := w.requestHolder(ctx, holder, req); err != nil {
		return DestructAnswer{}, err
	}
	for {
		var a DestructAnswer
		ok, err := receiveWithTimeout(ctx, answers, budgetPatience, &a)
		switch {
		case err != nil:
			return DestructAnswer{}, err
		case !ok:
			w.note(id, "no answer from the destruction budget yet: asking again")
			if err := w.requestHolder(ctx, holder, req); err != nil {
				return DestructAnswer{}, err
			}
		case a.Key != key:
			w.logger.Info("stale destruction budget answer ignored", "key", a.Key)
		default:
			return a, nil
		}
	}
}

// requestHolder signals the holder; when none runs it starts one as an abandoned child (it
// outlives this device) and signals again.
func (w *device) requestHolder(ctx workflow.Context, id string, req DestructRequest) error {
	err := workflow.SignalExternalWorkflow(ctx, id, "", signalDestructRequest, req).Get(ctx, nil)
	if err == nil || ctx.Err() != nil {
		return err
	}
	w.logger.Info("no destruction budget runs: starting one", "error", err)
	cctx := workflow.WithChildOptions(ctx, destructionBudgetChildOptions(id))
	err = workflow.ExecuteChildWorkflow(cctx, DestructionBudget, DestructionBudgetInput{}).GetChildWorkflowExecution().Get(ctx, nil)
	switch {
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		// Another device started it a moment ago: give it its first workflow task.
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	return workflow.SignalExternalWorkflow(ctx, id, "", signalDestructRequest, req).Get(ctx, nil)
}

// registerApproval installs the approve update: a second person releases the command the budget
// holds.
func (w *device) registerApproval(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateApprove, w.approve, workflow.UpdateHandlerOptions{
		Validator:   w.validateApproval,
		Description: `a second person approves the destructive step the destruction budget holds: {"by": "<who>", "note": "..."}`,
	})
}

// validateApproval refuses an approval unless the device waits on one, from someone other than
// the person who started the device; the error says what the device waits on.
func (w *device) validateApproval(a Approval) error {
	serial := w.status.Serial
	switch {
	case strings.TrimSpace(a.By) == "":
		return fmt.Errorf("device %s: say who approves (by): the approval is part of the retirement record", serial)
	case w.held() < 0:
		return fmt.Errorf("device %s is not waiting on approval: it waits on %s at %s", serial, w.status.WaitingOn, orDash(string(w.status.Current)))
	case samePerson(a.By, w.in.RequestedBy):
		return fmt.Errorf("device %s was started by %s: a second person must approve its %s", serial, w.in.RequestedBy, w.status.Current)
	}
	return nil
}

// samePerson reports whether a second person's name a is the first person's b (ignoring case and
// spaces); an unknown first person is nobody. Devices and fleets both refuse such an approval.
func samePerson(a, b string) bool {
	return strings.TrimSpace(b) != "" && strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// approve records the approval; the waiting step goes on.
func (w *device) approve(ctx workflow.Context, a Approval) (string, error) {
	i := w.held()
	if i < 0 { // the validator let it through in the same moment as another approval
		return "", fmt.Errorf("device %s is no longer waiting on approval", w.status.Serial)
	}
	now := workflow.Now(ctx)
	g := &w.status.Destruction[i]
	g.ApprovedBy, g.ApprovedAt, g.Note = strings.TrimSpace(a.By), &now, a.Note
	w.logger.Info("destructive step approved", "step", g.Step, "by", g.ApprovedBy)
	return fmt.Sprintf("approved: %s of %s by %s", g.Step, w.status.Serial, g.ApprovedBy), nil
}
