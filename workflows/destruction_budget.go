package workflows

import (
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
)

// The destruction budget: one workflow per console holds the organisation's budget of destructive
// console commands (the wipe, console-wipe's EraseDevice; the deletes, delete-managed-record and
// delete-greyed-out-record), so the budget holds for every device on every worker. A device asks
// it for a grant, by signal, before it sends such a command (or, in operator mode, before it asks
// a person to carry it out in CLOMO PANEL); the holder grants while the window has room (at most
// DESTRUCTIVE_BUDGET in any DESTRUCTIVE_BUDGET_WINDOW, the Apple coordinator's sliding-window
// Bucket) and otherwise answers "held": the device then waits for a second person's approval
// (approval.go). docs/approval.md says why and what it does not count.
const (
	DestructionBudgetWorkflowType = "DestructionBudget"
	// QueryDestructionBudget shows the window, what is left of it and the totals.
	QueryDestructionBudget = "destruction-budget"
	signalDestructRequest  = "destruct-request" // device → holder
	signalDestructAnswer   = "destruct-answer"  // holder → device
)

// Answers of the holder.
const (
	DestructGranted = "granted" // the budget let the command through
	DestructHeld    = "held"    // past the budget: the device waits for a second person
)

// decisionMemory is how long the holder remembers a decision, so a device that asks again (its
// answer was late) gets the same answer and takes no second slot. A device asks again after
// minutes; it never asks again once it has its answer, which its own history keeps.
const decisionMemory = time.Hour

// DestructionBudgetWorkflowID is the holder of one console (activities.WorkerInfo.ConsoleID).
func DestructionBudgetWorkflowID(console string) string {
	if console == "" {
		console = "console"
	}
	return "destruction-budget-" + strings.NewReplacer("/", "-", " ", "-", ":", "-").Replace(console)
}

// DestructRequest asks for one destructive command: Key is its idempotency key (workflow ID, step,
// round), so one command is one request however often it is asked.
type DestructRequest struct {
	Key        string `json:"key"`
	WorkflowID string `json:"workflowId"`
	Step       string `json:"step"`
}

// DestructAnswer is the holder's answer to a request.
type DestructAnswer struct {
	Key     string    `json:"key"`
	Outcome string    `json:"outcome"` // DestructGranted or DestructHeld
	At      time.Time `json:"at"`      // when the holder decided
	// Limit and Window are the budget the decision was taken under; Used the commands granted in
	// the window at that moment, this one included.
	Limit  int           `json:"limit"`
	Window time.Duration `json:"window"`
	Used   int           `json:"used"`
}

// DestructTotals count the holder's decisions over all its runs.
type DestructTotals struct {
	Runs    int `json:"runs"`
	Granted int `json:"granted"`
	Held    int `json:"held"`
	Repeats int `json:"repeats"` // requests asked again, answered from memory
}

// DestructionBudgetInput starts a run; a continue-as-new carries the window, the decisions still
// remembered and the totals.
type DestructionBudgetInput struct {
	Window    *Bucket                   `json:"window,omitempty"`
	Decisions map[string]DestructAnswer `json:"decisions,omitempty"`
	Totals    DestructTotals            `json:"totals"`
}

// DestructionBudgetStatus answers the destruction-budget query.
type DestructionBudgetStatus struct {
	Limit  int            `json:"limit"`
	Window time.Duration  `json:"window"`
	At     time.Time      `json:"at"`
	Left   int            `json:"left"`            // grants the window has room for now
	FreeAt time.Time      `json:"freeAt,omitzero"` // when the next slot frees, when none is left
	Totals DestructTotals `json:"totals"`
	Held   []string       `json:"held,omitempty"` // keys held in the remembered decisions
}

type budgetHolder struct {
	logger    log.Logger
	window    Bucket
	decisions map[string]DestructAnswer
	totals    DestructTotals
	sending   int // answers not yet sent: a continue-as-new waits for them
}

// DestructionBudget holds one console's budget until cancelled, continuing as new when the
// server suggests it.
func DestructionBudget(ctx workflow.Context, in DestructionBudgetInput) error {
	h := &budgetHolder{logger: workflow.GetLogger(ctx), decisions: in.Decisions, totals: in.Totals}
	if h.decisions == nil {
		h.decisions = map[string]DestructAnswer{}
	}
	h.totals.Runs++
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryDestructionBudget,
		func() (DestructionBudgetStatus, error) { return h.status(workflow.Now(ctx)), nil },
		workflow.QueryHandlerOptions{Description: "the destruction budget: its window, what is left and the decisions"}); err != nil {
		return err
	}
	var info activities.WorkerInfo
	if err := workflow.ExecuteActivity(callOptions(ctx, contract.TaskQueue, "worker capabilities"), workerActs.Describe).Get(ctx, &info); err != nil {
		return err
	}
	n, per := info.DestructionBudget()
	if in.Window == nil {
		h.window = newBucket(n, per)
	} else {
		h.window = in.Window.resize(n, per)
	}
	requests := workflow.GetSignalChannel(ctx, signalDestructRequest)
	pump(ctx, requests, func() bool { return takeOne(requests, func(r DestructRequest) { h.decide(ctx, r) }) })
	if err := workflow.Await(ctx, func() bool { return workflow.GetInfo(ctx).GetContinueAsNewSuggested() }); err != nil {
		return err
	}
	// Every request already signalled is decided and answered in this run.
	for takeOne(requests, func(r DestructRequest) { h.decide(ctx, r) }) {
	}
	if err := workflow.Await(ctx, func() bool { return h.sending == 0 }); err != nil {
		return err
	}
	window := h.window
	next := DestructionBudgetInput{Window: &window, Decisions: h.remembered(workflow.Now(ctx)), Totals: h.totals}
	h.logger.Info("destruction budget continues as new", "decisions", len(next.Decisions))
	return workflow.NewContinueAsNewError(ctx, DestructionBudget, next)
}

// decide answers one request: the same answer as before for a command already decided,
// otherwise a grant while the window has room, and "held" past it. A held command takes no slot:
// the window counts what the budget let through on its own.
func (h *budgetHolder) decide(ctx workflow.Context, r DestructRequest) {
	now := workflow.Now(ctx)
	a, seen := h.decisions[r.Key]
	switch {
	case seen:
		h.totals.Repeats++
	case !h.window.ReadyAt(now).After(now):
		h.window = h.window.take(now)
		h.totals.Granted++
		a = DestructAnswer{Key: r.Key, Outcome: DestructGranted, At: now}
	default:
		h.totals.Held++
		a = DestructAnswer{Key: r.Key, Outcome: DestructHeld, At: now}
		h.logger.Warn("destruction budget spent: the command waits for a second person's approval", "step", r.Step, "workflow", r.WorkflowID)
	}
	if !seen {
		a.Limit, a.Window, a.Used = h.window.Limit, h.window.Per, h.window.Limit-h.window.Left(now)
		h.decisions[r.Key] = a
	}
	h.sending++
	f := workflow.SignalExternalWorkflow(ctx, r.WorkflowID, "", signalDestructAnswer, a)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { h.sending-- }()
		if err := f.Get(ctx, nil); err != nil {
			// Gone (cancelled, or ended): nothing waits. A device that still waits asks again.
			h.logger.Warn("device not told its destruction budget answer", "workflow", r.WorkflowID, "error", err)
		}
	})
}

// remembered are the decisions of the last decisionMemory (or of the window, when longer).
func (h *budgetHolder) remembered(now time.Time) map[string]DestructAnswer {
	keep := max(decisionMemory, h.window.Per)
	out := map[string]DestructAnswer{}
	for _, k := range sortedKeys(h.decisions) {
		if a := h.decisions[k]; now.Sub(a.At) < keep {
			out[k] = a
		}
	}
	return out
}

func (h *budgetHolder) status(now time.Time) DestructionBudgetStatus {
	st := DestructionBudgetStatus{Limit: h.window.Limit, Window: h.window.Per, At: now, Left: h.window.Left(now), Totals: h.totals}
	if st.Left == 0 {
		st.FreeAt = h.window.ReadyAt(now)
	}
	for _, k := range sortedKeys(h.decisions) {
		if h.decisions[k].Outcome == DestructHeld {
			st.Held = append(st.Held, k)
		}
	}
	return st
}

// destructionBudgetChildOptions start the holder as an abandoned child: it outlives the device
// that started it. It runs on the batcher's queue, beside the Apple coordinator.
func destructionBudgetChildOptions(id string) workflow.ChildWorkflowOptions {
	return workflow.ChildWorkflowOptions{
		WorkflowID: id, TaskQueue: contract.BatcherTaskQueue, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary: "destruction budget: wipes and deletes let through across all workers; past it, a second person approves",
	}
}
