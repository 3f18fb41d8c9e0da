package workflows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// The holder answers by update (lean-lifecycle 3) by the rule it answers signals with
// (docs/approval.md): at a budget of 2 in 10 minutes, a, b granted; a asked again gets its first
// answer and takes no slot; c is held; a request without its key is refused before anything is
// written; the totals count each.
func TestDestructionBudgetAnswersByUpdate(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(newQuietLogger(t))
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(DestructionBudget)
	env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{DestructiveBudget: 2, DestructiveBudgetWindow: 10 * time.Minute}})
	type reply struct {
		answer   DestructAnswer
		rejected error
	}
	replies := map[string]*reply{}
	send := func(name string, r DestructRequest) {
		got := &reply{}
		replies[name] = got
		env.UpdateWorkflow(activities.UpdateDestructGrant, name, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { got.rejected = err }, OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if a, ok := v.(DestructAnswer); ok {
					got.answer = a
				}
			},
		}, r)
	}
	ask := func(key string) DestructRequest {
		return DestructRequest{Key: key, WorkflowID: "offboard-" + key, Step: "delete-managed-record"}
	}
	var status DestructionBudgetStatus
	env.RegisterDelayedCallback(func() { send("a", ask("a")) }, time.Second)
	env.RegisterDelayedCallback(func() { send("b", ask("b")) }, time.Minute)
	env.RegisterDelayedCallback(func() { send("a again", ask("a")) }, 2*time.Minute)
	env.RegisterDelayedCallback(func() { send("c", ask("c")) }, 3*time.Minute)
	env.RegisterDelayedCallback(func() { send("no key", DestructRequest{WorkflowID: "offboard-x"}) }, 4*time.Minute)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryDestructionBudget)
		if err == nil {
			err = v.Get(&status)
		}
		if err != nil {
			t.Errorf("query: %v", err)
		}
		env.CancelWorkflow()
	}, 5*time.Minute)
	env.ExecuteWorkflow(DestructionBudget, DestructionBudgetInput{})
	if err := env.GetWorkflowError(); err != nil && !temporal.IsCanceledError(err) {
		t.Fatalf("holder: %v", err)
	}
	for name, want := range map[string]string{"a": DestructGranted, "b": DestructGranted, "a again": DestructGranted, "c": DestructHeld} {
		if r := replies[name]; r == nil || r.rejected != nil || r.answer.Outcome != want {
			t.Errorf("%s: %+v, want %s", name, r, want)
		}
	}
	if a, again := replies["a"].answer, replies["a again"].answer; !a.At.Equal(again.At) || a.Used != 1 || again.Used != 1 {
		t.Errorf("a asked again: %+v, first %+v: want the first answer", again, a)
	}
	if r := replies["no key"]; r == nil || r.rejected == nil || !strings.Contains(r.rejected.Error(), "idempotency key") {
		t.Errorf("a request without its key: %+v, want it refused", r)
	}
	if status.Totals.Granted != 2 || status.Totals.Held != 1 || status.Totals.Repeats != 1 || status.Left != 0 {
		t.Errorf("totals %+v, left %d: want 2 granted, 1 held, 1 repeat, none left", status.Totals, status.Left)
	}
}

// From lean-lifecycle 3 a device asks the budget with one activity per destructive command, the
// wipe and each delete, keyed by the command's idempotency key, and signals no holder. Past the
// budget (here 1 command) the delete waits on approval, sends nothing, and goes once a second
// person approves.
func TestDeviceAsksTheBudgetByUpdate(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	h.budget.setLimit(1, 24*time.Hour)
	req := procedure.Request{Serial: "BYUPDATE1", Enrollment: procedure.Manual, Wipe: true, WipeMethod: procedure.WipeConsole}
	h.world.add(req.Serial, "manual")
	id := contract.DeviceWorkflowID(req.Serial)
	h.env.OnSignalExternalWorkflow(mock.Anything, DestructionBudgetWorkflowID(""), "", signalDestructRequest, mock.Anything).Return(nil).Never()
	var held DeviceStatus
	var sentWhileHeld map[string]int
	var answers budgetApprovals
	h.env.RegisterDelayedCallback(func() {
		held, sentWhileHeld = h.status(), h.world.destructiveSent(req.Serial)
		h.approveDevice(id, Approval{By: "bob"}, &answers)
	}, 6*time.Hour)
	res, err := h.run(req, func(in *DeviceInput) { in.RequestedBy = "alice" })
	if err != nil || res.Outcome != OutcomeRemoved {
		t.Fatalf("outcome %s, error %v", res.Outcome, err)
	}
	if held.WaitingOn != procedure.PartyApproval || !slices.Contains([]procedure.StepID{procedure.DeleteManagedRecord, procedure.DeleteGreyedOutRecord}, held.Current) {
		t.Fatalf("past the budget the device waits on %s at %s, want approval at a delete", held.WaitingOn, held.Current)
	}
	if sentWhileHeld[console.CmdEraseDevice] != 1 || sentWhileHeld[console.CmdDeleteDevice]+sentWhileHeld[console.CmdPurgeDevice] != 0 {
		t.Errorf("destructive commands sent while held: %v, want the erase only", sentWhileHeld)
	}
	if answers.got["bob"] != "accepted" {
		t.Errorf("bob's approval: %q", answers.got["bob"])
	}
	var keys []string
	for _, a := range h.budget.asked {
		if a.Holder != DestructionBudgetWorkflowID("") || a.Request.WorkflowID != id {
			t.Errorf("asked %+v: want the console's holder, for %s", a, id)
		}
		keys = append(keys, a.Request.Key)
	}
	wantKeys := []string{id + "/" + string(procedure.ConsoleWipe) + "/1", id + "/" + string(held.Current) + "/1"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("asked for %v, want %v", keys, wantKeys)
	}
	st := h.status()
	if len(st.Destruction) != 2 || st.Destruction[0].Outcome != DestructGranted || st.Destruction[1].Outcome != DestructHeld || st.Destruction[1].ApprovedBy != "bob" {
		t.Errorf("destruction %+v, want the wipe granted and the delete held, approved by bob", st.Destruction)
	}
	if got := h.world.destructiveSent(req.Serial); got[console.CmdEraseDevice] != 1 || got[console.CmdDeleteDevice]+got[console.CmdPurgeDevice] != 1 {
		t.Errorf("destructive commands sent %v, want one erase and one delete", got)
	}
}

// A worker without a Temporal client refuses the activity plainly rather than retrying forever.
func TestAskDestructionBudgetWithoutAClient(t *testing.T) {
	_, err := (&activities.DestructionBudget{}).AskDestructionBudget(t.Context(), activities.BudgetAsk{Holder: "h", Request: DestructRequest{Key: "k", WorkflowID: "w"}})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrNotConfigured || !appErr.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable %s", err, activities.ErrNotConfigured)
	}
}
