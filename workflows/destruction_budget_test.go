package workflows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/oracletest"
	"github.com/offboard/offboard/internal/procedure"
)

// withDestructionBudget lets a test environment run the console's destruction budget beside its
// devices, as a server does: a signal to a holder that does not run yet fails, and the device
// starts it.
func withDestructionBudget(env *testsuite.TestWorkflowEnvironment) {
	env.SetDetachedChildWait(false)
	env.RegisterWorkflow(DestructionBudget)
	env.OnSignalExternalWorkflow(mock.Anything, DestructionBudgetWorkflowID(""), "", signalDestructRequest, mock.Anything).
		Return(errors.New("unknown external workflow execution"))
}

// newBudgetHarness is the device harness with the worker's settings info (the destruction
// budget) and its evidence archive at hand.
func newBudgetHarness(t *testing.T, mode string, info activities.WorkerInfo) (*harness, *activities.Evidence) {
	h := &harness{t: t, world: newFakeWorld()}
	h.ts.SetLogger(newQuietLogger(t))
	h.env = h.ts.NewTestWorkflowEnvironment()
	h.env.RegisterWorkflow(DeviceOffboarding)
	h.env.RegisterWorkflow(budgetScenario)
	withCoordinator(h.env)
	h.env.RegisterActivity(&activities.Console{API: h.world})
	h.env.RegisterActivity(&activities.Apple{API: h.world, ServerID: fakeServer})
	h.env.RegisterActivity(&activities.Notify{Notifier: h.world})
	ev := testEvidence(t)
	h.env.RegisterActivity(ev)
	info.ConsoleMode, info.AppleConfigured, info.AppleServerID, info.ConsoleSafetyNetPoll = mode, true, fakeServer, fakeSafetyNet
	h.env.RegisterActivity(&activities.Worker{Info: info})
	return h, ev
}

// budgetAsk is one request of budgetScenario's own: its key, after a pause.
type budgetAsk struct {
	Key   string        `json:"key"`
	After time.Duration `json:"after"`
}

// budgetScenario starts the console's destruction budget, sends it requests of its own (as other
// devices would: each answered before the next), then runs the devices as children and returns
// the answers and the devices' results.
func budgetScenario(ctx workflow.Context, asks []budgetAsk, devices []DeviceInput) (scenarioResult, error) {
	var out scenarioResult
	err := out.run(ctx, asks, devices)
	return out, err
}

type scenarioResult struct {
	Outcomes []string       `json:"outcomes"`
	Results  []DeviceResult `json:"results"`
}

func (out *scenarioResult) run(ctx workflow.Context, asks []budgetAsk, devices []DeviceInput) error {
	holder := DestructionBudgetWorkflowID("")
	cctx := workflow.WithChildOptions(ctx, destructionBudgetChildOptions(holder))
	if err := workflow.ExecuteChildWorkflow(cctx, DestructionBudget, DestructionBudgetInput{}).GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return err
	}
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return err
	}
	me := workflow.GetInfo(ctx).WorkflowExecution.ID
	answers := workflow.GetSignalChannel(ctx, signalDestructAnswer)
	for _, a := range asks {
		if a.After > 0 {
			if err := workflow.Sleep(ctx, a.After); err != nil {
				return err
			}
		}
		req := DestructRequest{Key: a.Key, WorkflowID: me, Step: "scenario"}
		if err := workflow.SignalExternalWorkflow(ctx, holder, "", signalDestructRequest, req).Get(ctx, nil); err != nil {
			return err
		}
		var ans DestructAnswer
		answers.Receive(ctx, &ans)
		if ans.Key != a.Key {
			return fmt.Errorf("asked %s, answered %s", a.Key, ans.Key)
		}
		out.Outcomes = append(out.Outcomes, ans.Outcome)
	}
	var futures []workflow.ChildWorkflowFuture
	for _, in := range devices {
		dctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: contract.DeviceWorkflowID(in.Request.Serial)})
		futures = append(futures, workflow.ExecuteChildWorkflow(dctx, DeviceOffboarding, in))
	}
	out.Results = make([]DeviceResult, len(futures))
	for i, f := range futures {
		if err := f.Get(ctx, &out.Results[i]); err != nil {
			return err
		}
	}
	return nil
}

func fillBudget(n int) []budgetAsk {
	asks := make([]budgetAsk, n)
	for i := range asks {
		asks[i] = budgetAsk{Key: fmt.Sprintf("other-device/%d", i)}
	}
	return asks
}

// destructiveSent counts the destructive commands the console accepted for serial (replays of a
// key excluded), by type.
func (f *fakeWorld) destructiveSent(serial string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, c := range f.sent {
		if c.Serial == serial && !c.Replayed && slices.Contains([]string{console.CmdEraseDevice, console.CmdDeleteDevice, console.CmdPurgeDevice}, c.Type) {
			out[c.Type]++
		}
	}
	return out
}

func (h *harness) budgetDeviceStatus(workflowID string) DeviceStatus {
	h.t.Helper()
	v, err := h.env.QueryWorkflowByID(workflowID, contract.QueryStatus)
	if err != nil {
		h.t.Fatalf("status of %s: %v", workflowID, err)
	}
	var st DeviceStatus
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) budgetStatus() DestructionBudgetStatus {
	h.t.Helper()
	v, err := h.env.QueryWorkflowByID(DestructionBudgetWorkflowID(""), QueryDestructionBudget)
	if err != nil {
		h.t.Fatalf("destruction budget query: %v", err)
	}
	var st DestructionBudgetStatus
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// approveDevice sends approve updates to a device and keeps what became of each, by its approver:
// "accepted", or the refusal's message. The test environment answers them as the workflow runs.
type budgetApprovals struct {
	mu  sync.Mutex
	got map[string]string
}

func (h *harness) approveDevice(workflowID string, a Approval, into *budgetApprovals) {
	h.t.Helper()
	set := func(v string) {
		into.mu.Lock()
		defer into.mu.Unlock()
		if into.got == nil {
			into.got = map[string]string{}
		}
		into.got[a.By] = v
	}
	err := h.env.UpdateWorkflowByID(workflowID, contract.UpdateApprove, "approve-"+a.By, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { set(err.Error()) }, OnAccept: func() { set("accepted") }, OnComplete: func(any, error) {},
	}, a)
	if err != nil {
		h.t.Fatalf("approve update: %v", err)
	}
}

// With the default budget (50 in 10 minutes) spent by 50 other commands, the next destructive
// step (the 51st) waits with WaitingOn=approval and sends nothing; the person who started the
// device cannot approve it, nor can nobody; a second person can, and the delete then goes, once;
// the status and the retirement record name who approved which step, and when. A window that
// frees meanwhile does not release the held step.
func TestFiftyFirstDestructiveCommandWaitsForApproval(t *testing.T) {
	h, ev := newBudgetHarness(t, contract.ModeAutomated, activities.WorkerInfo{})
	const serial = "BUDGET0051"
	h.world.add(serial, "manual")
	id := contract.DeviceWorkflowID(serial)
	in := DeviceInput{Request: procedure.Request{Serial: serial, Enrollment: procedure.Manual}, Confirmed: true,
		RequestedBy: "alice", Contact: "user@example.com",
		// The device reads the console every minute while it waits (the watcher wakes nobody here), so
		// it reaches its delete while the 50 grants are still in the window.
		Timing: Timing{CheckInPoll: 30 * time.Second, ConsolePoll: 10 * time.Second, SafetyNetPoll: time.Minute}}

	var held DeviceStatus
	var budget DestructionBudgetStatus
	var answers budgetApprovals
	var sentWhileHeld map[string]int
	h.env.RegisterDelayedCallback(func() {
		held, budget, sentWhileHeld = h.budgetDeviceStatus(id), h.budgetStatus(), h.world.destructiveSent(serial)
		h.approveDevice(id, Approval{By: "Alice "}, &answers)
		h.approveDevice(id, Approval{By: "  "}, &answers)
		h.approveDevice(id, Approval{By: "bob", Note: "HR ticket 4711 checked"}, &answers)
	}, time.Hour)
	h.env.ExecuteWorkflow(budgetScenario, fillBudget(50), []DeviceInput{in})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("scenario: %v", err)
	}
	var res scenarioResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != 50 || slices.Contains(res.Outcomes, DestructHeld) {
		t.Fatalf("the 50 commands before the device: %v, want all granted", res.Outcomes)
	}

	if held.WaitingOn != procedure.PartyApproval || held.Current != procedure.DeleteGreyedOutRecord {
		t.Fatalf("after the budget was spent the device waits on %s at %s, want %s at %s", held.WaitingOn, held.Current,
			procedure.PartyApproval, procedure.DeleteGreyedOutRecord)
	}
	if len(sentWhileHeld) != 0 {
		t.Errorf("destructive commands sent while held: %v", sentWhileHeld)
	}
	// An hour on, the window has room again (Left 50): the held step still waits for a person.
	if budget.Left != 50 || budget.Totals.Granted != 50 || budget.Totals.Held != 1 || budget.Limit != 50 || budget.Window != 10*time.Minute ||
		!slices.Equal(budget.Held, []string{id + "/" + string(procedure.DeleteGreyedOutRecord) + "/1"}) {
		t.Errorf("budget an hour on: %+v, want 50 granted, the device's delete held, the window free again", budget)
	}
	if a := answers.got; !strings.Contains(a["Alice "], "second person") || !strings.Contains(a["  "], "say who approves") || a["bob"] != "accepted" {
		t.Errorf("budgetApprovals answered %q: want the starter's own and an anonymous one refused, bob's accepted", a)
	}
	if got := h.world.destructiveSent(serial); got[console.CmdPurgeDevice] != 1 || len(got) != 1 {
		t.Errorf("destructive commands sent %v, want one purge-device (the greyed-out record's delete)", got)
	}
	final := h.budgetDeviceStatus(id)
	if len(res.Results) != 1 || res.Results[0].Outcome != OutcomeRemoved {
		t.Fatalf("device results %+v, want removed", res.Results)
	}
	if len(final.Destruction) != 1 || final.Destruction[0].Outcome != DestructHeld || final.Destruction[0].ApprovedBy != "bob" ||
		final.Destruction[0].ApprovedAt == nil || final.Destruction[0].Step != procedure.DeleteGreyedOutRecord {
		t.Errorf("status's destruction %+v, want the delete held and approved by bob", final.Destruction)
	}
	rec, _, err := ev.Archive.Latest(serial)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Approvals) != 1 || rec.Approvals[0].By != "bob" || rec.Approvals[0].Step != string(procedure.DeleteGreyedOutRecord) ||
		rec.Approvals[0].Note != "HR ticket 4711 checked" || rec.Approvals[0].Time.Before(rec.Approvals[0].HeldAt) {
		t.Errorf("record's budgetApprovals %+v, want bob's approval of delete-greyed-out-record", rec.Approvals)
	}
}

// The holder's rule, at a budget of 2 in 10 minutes: a command asked again (its device's answer
// was late) gets its first answer and takes no second slot; past the budget a command is held;
// once the oldest grant is 10 minutes old the window has room again, and a held command stays
// held (only a person releases it).
func TestDestructionBudgetWindowAndRepeats(t *testing.T) {
	h, _ := newBudgetHarness(t, contract.ModeAutomated, activities.WorkerInfo{DestructiveBudget: 2, DestructiveBudgetWindow: 10 * time.Minute})
	asks := []budgetAsk{
		{Key: "a"}, {Key: "a"}, {Key: "b", After: time.Minute}, {Key: "c"}, {Key: "c", After: time.Minute},
		{Key: "d", After: 7 * time.Minute},  // 9m after a: the window still holds a and b
		{Key: "e", After: 90 * time.Second}, // 10m30s after a: a has left the window
		{Key: "c"},                          // held, and asked again: still held
		{Key: "f"},                          // b is still in the window, with e
	}
	h.env.ExecuteWorkflow(budgetScenario, asks, []DeviceInput(nil))
	var res scenarioResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := []string{DestructGranted, DestructGranted, DestructGranted, DestructHeld, DestructHeld, DestructHeld, DestructGranted, DestructHeld, DestructHeld}
	if !slices.Equal(res.Outcomes, want) {
		t.Errorf("answers %v\nwant    %v", res.Outcomes, want)
	}
}

// Operator mode: the budget applies before the person is told to delete the record in CLOMO
// PANEL. The device waits on approval, with no instruction to delete; once approved, the person is
// asked.
func TestOperatorModeDeleteIsHeldBeforeThePersonIsTold(t *testing.T) {
	h, _ := newBudgetHarness(t, contract.ModeOperator, activities.WorkerInfo{DestructiveBudget: 1, DestructiveBudgetWindow: 24 * time.Hour})
	const serial = "BUDGETOP01"
	h.world.add(serial, "manual")
	id := contract.DeviceWorkflowID(serial)
	in := DeviceInput{Request: procedure.Request{Serial: serial, Enrollment: procedure.Manual}, ConsoleMode: contract.ModeOperator,
		Confirmed: true, RequestedBy: "alice", Contact: "user@example.com", Timing: Timing{CheckInPoll: 30 * time.Second, ConsolePoll: 10 * time.Second}}
	person := oracletest.NewPerson(h.world, serial)
	var answers budgetApprovals
	var heldAt DeviceStatus
	for at := time.Minute; at < 6*time.Hour; at += 5 * time.Minute {
		h.env.RegisterDelayedCallback(func() {
			st := h.budgetDeviceStatus(id)
			if st.Outcome != OutcomeRunning {
				return
			}
			if st.WaitingOn == procedure.PartyApproval {
				if heldAt.Current == "" {
					heldAt = st
				}
				h.approveDevice(id, Approval{By: "carol"}, &answers)
				return
			}
			outcome, ok := person.Answer(context.Background(), string(st.Current), string(st.WaitingOn), st.Choices)
			if !ok {
				return
			}
			_ = h.env.UpdateWorkflowByID(id, contract.UpdateCompleteStep, fmt.Sprintf("report-%s-%d", st.Current, at), &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("report %s refused: %v", st.Current, err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
			}, StepReport{Step: st.Current, By: "operator", Outcome: outcome})
		}, at)
	}
	h.env.ExecuteWorkflow(budgetScenario, fillBudget(1), []DeviceInput{in})
	var res scenarioResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if heldAt.Current != procedure.DeleteGreyedOutRecord || len(heldAt.Choices) != 0 || strings.Contains(heldAt.Instruction, "CLOMO PANEL") {
		t.Errorf("held at %s (choices %v, instruction %q): want the delete held before the person is told", heldAt.Current, heldAt.Choices, heldAt.Instruction)
	}
	if len(res.Results) != 1 || res.Results[0].Outcome != OutcomeRemoved || answers.got["carol"] != "accepted" {
		t.Errorf("results %+v, budgetApprovals %v: want removed after carol's approval", res.Results, answers.got)
	}
}

// A run continued as new keeps the budget: the window carried in (one grant a minute ago, of 2
// in 10 minutes) leaves room for one more, and a decision carried in is answered as it was
// without a slot. The holder answers each device by signal.
func TestDestructionBudgetCarriesItsWindowIntoTheNextRun(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(newQuietLogger(t))
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(DestructionBudget)
	env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{DestructiveBudget: 2, DestructiveBudgetWindow: 10 * time.Minute}})
	var mu sync.Mutex
	answers := map[string]string{}
	env.OnSignalExternalWorkflow(mock.Anything, "offboard-CARRIED", "", signalDestructAnswer, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			a := arg.(DestructAnswer)
			mu.Lock()
			defer mu.Unlock()
			answers[a.Key] = a.Outcome
			return nil
		})
	start := env.Now()
	in := DestructionBudgetInput{
		Window:    &Bucket{Limit: 2, Per: 10 * time.Minute, Sent: []time.Time{start.Add(-time.Minute)}},
		Decisions: map[string]DestructAnswer{"old": {Key: "old", Outcome: DestructGranted, At: start.Add(-time.Minute)}},
		Totals:    DestructTotals{Runs: 1, Granted: 1},
	}
	for i, key := range []string{"old", "new", "third"} {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(signalDestructRequest, DestructRequest{Key: key, WorkflowID: "offboard-CARRIED", Step: "console-wipe"})
		}, time.Duration(i+1)*time.Second)
	}
	var st DestructionBudgetStatus
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryDestructionBudget)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Get(&st); err != nil {
			t.Fatal(err)
		}
		env.CancelWorkflow()
	}, time.Minute)
	env.ExecuteWorkflow(DestructionBudget, in)
	want := map[string]string{"old": DestructGranted, "new": DestructGranted, "third": DestructHeld}
	mu.Lock()
	defer mu.Unlock()
	if !maps.Equal(answers, want) {
		t.Errorf("answers %v, want %v", answers, want)
	}
	if st.Totals.Runs != 2 || st.Totals.Granted != 2 || st.Totals.Held != 1 || st.Totals.Repeats != 1 || st.Left != 0 ||
		!slices.Equal(st.Held, []string{"third"}) {
		t.Errorf("status %+v: want run 2, 2 granted over both runs, 1 held, 1 repeat, none left", st)
	}
}
