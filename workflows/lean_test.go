package workflows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
)

// written records every search-attribute upsert of a device's run as "step/waitingOn".
func written(h *harness) *[]string {
	var out []string
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		step, _ := sa.GetKeyword(SAOffboardStep)
		party, _ := sa.GetKeyword(SAWaitingOn)
		out = append(out, step+"/"+party)
	}).Return(nil)
	return &out
}

// From lean-lifecycle 1 the search attributes are written where a person waits (the device, its
// user, Apple from the Activation Lock read before §5, which abm-unassign then continues on Apple
// without a write of its own) and at the end, and not for pre-flight's Apple read or for the step
// that only tells the user: the sequence of wipe/ade by the user, against the same run before the change.
func TestLeanLifecycleWritesWhatAPersonWaitsOn(t *testing.T) {
	req := procedure.Request{Serial: "LEAN00001", Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeDevice}
	cases := []struct {
		name string
		lean bool
		want []string
	}{
		{"lean-lifecycle 1", true, []string{
			"preflight/console", "remove-restrictions-profile/device", "await-greyed-out/device",
			"delete-greyed-out-record/console", "turn-off-activation-lock/apple", "removed/none"}},
		{"before it", false, []string{
			"preflight/console", "preflight/apple", "remove-restrictions-profile/console", "remove-restrictions-profile/device",
			"user-wipe/device", "await-greyed-out/device", "delete-greyed-out-record/console", "turn-off-activation-lock/apple", "removed/none"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, contract.ModeAutomated)
			h.world.add(req.Serial, "ade")
			if !c.lean {
				h.env.OnGetVersion(changeLeanLifecycle, workflow.DefaultVersion, 2).Return(workflow.DefaultVersion)
			}
			got := written(h)
			res, err := h.run(req)
			if err != nil || res.Outcome != OutcomeRemoved {
				t.Fatalf("outcome %s, error %v", res.Outcome, err)
			}
			if !slices.Equal(*got, c.want) {
				t.Errorf("search attributes written:\n  %v\nwant\n  %v", *got, c.want)
			}
			// The status still shows every step, the unwritten ones included.
			for _, id := range []procedure.StepID{procedure.Preflight, procedure.UserWipe, procedure.AwaitGreyedOut, procedure.ABMUnassign} {
				if s := stepState(res.Steps, id); s != StateDone {
					t.Errorf("step %s is %s, want done", id, s)
				}
			}
		})
	}
}

// A device records one version marker: from lean-lifecycle 1 the changes before it are at their
// newest without a marker of their own (the coordinator, the retirement record), from 2 those made
// after it too (Activation Lock, the destruction budget, the watched wait); a run that recorded
// lean-lifecycle 1 still reads those later changes from its markers.
func TestLeanLifecycleImpliesTheEarlierChanges(t *testing.T) {
	type change struct {
		id     string
		newest workflow.Version
	}
	before1 := []change{{changeAppleCoordinator, 2}, {versionRetirementRecord, 1}, {changePlanOrder, 1}, {changeOperatorLostMode, 1}}
	after1 := []change{{changeActivationLock, 1}, {changeDestructionBudget, 1}, {changeWatchedWait, 1}}
	for _, c := range []struct {
		name     string
		lean     workflow.Version
		implied  []change
		recorded []change
	}{
		{"lean-lifecycle 2", 2, append(slices.Clone(before1), after1...), nil},
		{"lean-lifecycle 1", 1, before1, after1},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, contract.ModeAutomated)
			req := procedure.Request{Serial: "LEAN00002", Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole}
			h.world.add(req.Serial, "ade")
			h.env.OnGetVersion(changeLeanLifecycle, workflow.DefaultVersion, 2).Return(c.lean).Once()
			for _, v := range c.implied {
				h.env.OnGetVersion(v.id, workflow.DefaultVersion, v.newest).Return(workflow.DefaultVersion).Never()
			}
			for _, v := range c.recorded {
				h.env.OnGetVersion(v.id, workflow.DefaultVersion, v.newest).Return(v.newest)
			}
			res, err := h.run(req)
			if err != nil || res.Outcome != OutcomeRemoved {
				t.Fatalf("outcome %s, error %v", res.Outcome, err)
			}
			h.env.AssertExpectations(t)
			// Through the coordinator (apple-coordinator 1 and 2): the unassign names its activity;
			// Activation Lock was read before it (activation-lock 1); the device's retirement record
			// (retirement-record 1) was written without a warning.
			if s := stepOf(res.Steps, procedure.ABMUnassign); s.State != StateDone || !strings.Contains(s.Note, "unassigned by Apple activity") {
				t.Errorf("abm-unassign %s: %q", s.State, s.Note)
			}
			if res.ActivationLock == nil || res.ActivationLock.ReadAt == nil {
				t.Errorf("Activation Lock not read: %+v", res.ActivationLock)
			}
			for _, w := range res.Warnings {
				if strings.Contains(w, "retirement record was not written") {
					t.Errorf("warning: %s", w)
				}
			}
		})
	}
}

// From coordinator-quiet-short-budget-waits 1 a device is not told of a budget wait shorter than
// a quarter of its patience (here: a wait of a minute against 25 minutes of patience), and it is
// still unassigned, in the next activity; before, it was told.
func TestCoordinatorKeepsShortBudgetWaitsQuiet(t *testing.T) {
	for _, c := range []struct {
		name    string
		quiet   bool
		notices int
	}{{"version 1", true, 0}, {"before it", false, 1}} {
		t.Run(c.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			ts.SetLogger(newQuietLogger(t))
			env := ts.NewTestWorkflowEnvironment()
			if !c.quiet {
				env.OnGetVersion(changeQuietShortBudgetWaits, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			apple := newBatchApple()
			for _, s := range []string{"SHORT0001", "SHORT0002"} {
				apple.assign(s, fakeServer)
			}
			env.RegisterWorkflow(AppleCoordinator)
			env.RegisterActivity(&activities.Apple{API: apple, ServerID: fakeServer})
			env.RegisterActivity(&activities.Signals{})
			// One POST in a window of two minutes (an hour at 30x).
			env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{AppleConfigured: true, AppleServerID: fakeServer,
				ApplePostPerHour: 1, AppleBudgetTimeScale: 30}})
			notices, unassigned := 0, 0
			env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", signalAppleAnswer, mock.Anything).Return(
				func(_, _, _, _ string, arg any) error {
					var a AppleAnswer
					if b, ok := arg.(json.RawMessage); ok {
						_ = json.Unmarshal(b, &a)
					}
					switch a.Outcome {
					case AppleBudgetWaiting:
						notices++
					case AppleUnassigned:
						unassigned++
					}
					return nil
				})
			for i, s := range []string{"SHORT0001", "SHORT0002"} {
				serial := s
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(signalAppleRequest, AppleRequest{Kind: AppleUnassign, Serial: serial, WorkflowID: "offboard-" + serial,
						RequestID: serial + "/1", Gather: 10 * time.Second, Poll: 30 * time.Second})
				}, time.Duration(i)*time.Minute)
			}
			env.RegisterDelayedCallback(env.CancelWorkflow, 3*time.Hour)
			env.ExecuteWorkflow(AppleCoordinator, CoordinatorInput{})
			if err := env.GetWorkflowError(); err != nil && !temporal.IsCanceledError(err) {
				t.Fatalf("coordinator: %v", err)
			}
			if notices != c.notices {
				t.Errorf("%d budget notices, want %d", notices, c.notices)
			}
			if len(apple.posts) != 2 || unassigned != 2 {
				t.Errorf("activities %v, %d unassigned: want one activity a device, both unassigned", apple.posts, unassigned)
			}
		})
	}
}
