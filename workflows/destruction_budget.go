package workflows

import (
	"encoding/json"
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

// changeBudgetBatchedAnswers: from version 1 the holder answers the devices of a workflow task
// together, in one activity (sendSignals), and continues as new once its history reaches
// holderHistoryLimit events. Before, each answer was a signal from the workflow: its confirmation
// came back as an event and a workflow task of the holder's, and with 10,000 devices waiting
// (bench --waiting 10000) the holder's history grew to 9,000 events within minutes, with a
// thousand answers pending at once. The workflow cache (WORKER_WORKFLOW_CACHE_SIZE) full of
// devices evicted it, so every workflow task replayed all of it, answers came later than the
// devices' patience, and each device's renewed ask added more.
const changeBudgetBatchedAnswers = "budget-batched-answers"

// holderHistoryLimit is the history length at which the holder continues as new (from
// changeBudgetBatchedAnswers 1), well before the server suggests it: a holder evicted from the
// cache replays its whole run on its next workflow task.
const holderHistoryLimit = 2000

type budgetHolder struct {
	logger    log.Logger
	window    Bucket
	decisions map[string]DestructAnswer
	totals    DestructTotals
	sending   int // answers not yet sent: a continue-as-new waits for them
	// From changeBudgetBatchedAnswers 1: the answers decided and not yet handed to the sender.
	batched bool
	outbox  []activities.Signal
}

// DestructionBudget holds one console's budget until cancelled, continuing as new when the
// server suggests it.
func DestructionBudget(ctx workflow.Context, in DestructionBudgetInput) error {
	h := &budgetHolder{logger: workflow.GetLogger(ctx), decisions: in.Decisions, totals: in.Totals}
	if h.decisions == nil {
		h.decisions = map[string]DestructAnswer{}
	}
	h.totals.Runs++
	h.batched = workflow.GetVersion(ctx, changeBudgetBatchedAnswers, workflow.DefaultVersion, 1) >= 1
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
	if h.batched {
		workflow.Go(ctx, h.sendAnswers)
	}
	pump(ctx, requests, func() bool { return takeOne(requests, func(r DestructRequest) { h.decide(ctx, r) }) })
	if err := workflow.Await(ctx, func() bool { return h.long(ctx) }); err != nil {
		return err
	}
	// Every request already signalled is decided and answered in this run.
	for takeOne(requests, func(r DestructRequest) { h.decide(ctx, r) }) {
	}
	if err := workflow.Await(ctx, func() bool { return h.sending == 0 && len(h.outbox) == 0 }); err != nil {
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
	if h.batched {
		// The same struct always encodes to the same bytes; workflowcheck flags the encoder's
		// type cache (a sync.Map), which holds no state that changes the output.
		arg, err := json.Marshal(a) //workflowcheck:ignore
		if err != nil {
			h.logger.Error("answer not encoded", "key", r.Key, "error", err) // cannot happen: strings, numbers, a time
			return
		}
		h.outbox = append(h.outbox, activities.Signal{WorkflowID: r.WorkflowID, Arg: arg})
		return
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

// long reports whether the run has grown enough to continue as new: the server's suggestion, or
// from changeBudgetBatchedAnswers 1 holderHistoryLimit events.
func (h *budgetHolder) long(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || h.batched && info.GetCurrentHistoryLength() >= holderHistoryLimit
}

// sendAnswers hands the answers decided since the last batch to one activity, batch after batch,
// for the run's life (changeBudgetBatchedAnswers 1). An answer that does not arrive is asked for
// again by its device, and answered from the remembered decisions.
func (h *budgetHolder) sendAnswers(ctx workflow.Context) {
	for workflow.Await(ctx, func() bool { return len(h.outbox) > 0 }) == nil {
		in := activities.SendInput{Name: signalDestructAnswer, Signals: h.outbox}
		h.outbox = nil
		h.sending++
		sendSignals(ctx, h.logger, in)
		h.sending--
	}
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
