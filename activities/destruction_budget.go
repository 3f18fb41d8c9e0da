package activities

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/contract"
)

// The device's side of the destruction budget from lean-lifecycle 3 (workflows/approval.go): one
// activity asks the console's budget holder for a grant by update, and the update's result is the
// holder's answer. Before it the device signalled the holder and waited for a signal back: a
// round trip of eleven history events, two workflow tasks and a timer for each wipe and delete;
// the activity is three events and one workflow task.

// UpdateDestructGrant is the holder's update: a DestructRequest in, its DestructAnswer out.
const UpdateDestructGrant = "destruct-grant"

// destructionBudgetWorkflowType is workflows.DestructionBudget's registered name; the activity
// starts the holder when none runs (the workflows package imports this one, not the reverse).
const destructionBudgetWorkflowType = "DestructionBudget"

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
	Outcome string    `json:"outcome"` // granted or held
	At      time.Time `json:"at"`      // when the holder decided
	// Limit and Window are the budget the decision was taken under; Used the commands granted in
	// the window at that moment, this one included.
	Limit  int           `json:"limit"`
	Window time.Duration `json:"window"`
	Used   int           `json:"used"`
}

// BudgetAsk is one device's request and the holder it goes to (its workflow ID).
type BudgetAsk struct {
	Holder  string          `json:"holder"`
	Request DestructRequest `json:"request"`
}

// Updater sends an update, starting the workflow when it does not run; client.Client is one.
type Updater interface {
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// DestructionBudget asks the holder of a console's destruction budget.
type DestructionBudget struct {
	Client Updater // nil: the worker has no Temporal client, and the activity refuses
}

// AskDestructionBudget sends the request to its holder, starting the holder when none runs, and
// returns the holder's answer. The update's ID is the request's key: asked again (a retry, a
// replaced worker) it is one update while the holder's run lasts, and the holder answers a key it
// remembers as it answered it before, so a command never takes two slots.
func (b *DestructionBudget) AskDestructionBudget(ctx context.Context, in BudgetAsk) (DestructAnswer, error) {
	if b == nil || b.Client == nil {
		return DestructAnswer{}, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to ask the destruction budget", ErrNotConfigured, nil)
	}
	start := b.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: in.Holder, TaskQueue: contract.BatcherTaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary: "destruction budget: wipes and deletes let through across all workers; past it, a second person approves",
	}, destructionBudgetWorkflowType, struct{}{})
	h, err := b.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: in.Holder, UpdateName: UpdateDestructGrant, UpdateID: in.Request.Key,
			Args: []any{in.Request}, WaitForStage: client.WorkflowUpdateStageCompleted}})
	if err != nil {
		return DestructAnswer{}, err
	}
	var a DestructAnswer
	if err := h.Get(ctx, &a); err != nil {
		return DestructAnswer{}, err
	}
	return a, nil
}
