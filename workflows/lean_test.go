package workflows

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

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
// user, Apple at §5) and at the end, and not for pre-flight's Apple read or for the step that only
// tells the user: the sequence of wipe/ade by the user, against the same run before the change.
func TestLeanLifecycleWritesWhatAPersonWaitsOn(t *testing.T) {
	req := procedure.Request{Serial: "LEAN00001", Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeDevice}
	cases := []struct {
		name string
		lean bool
		want []string
	}{
		{"lean-lifecycle 1", true, []string{
			"preflight/console", "remove-restrictions-profile/device", "await-greyed-out/device",
			"delete-greyed-out-record/console", "abm-unassign/apple", "removed/none"}},
		{"before it", false, []string{
			"preflight/console", "preflight/apple", "remove-restrictions-profile/console", "remove-restrictions-profile/device",
			"user-wipe/device", "await-greyed-out/device", "delete-greyed-out-record/console", "abm-unassign/apple", "removed/none"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, contract.ModeAutomated)
			h.world.add(req.Serial, "ade")
			if !c.lean {
				h.env.OnGetVersion(changeLeanLifecycle, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
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

// From lean-lifecycle 1 a device records no version marker of the earlier changes: they are at
// their newest (the coordinator, the retirement record), and the record is still written.
func TestLeanLifecycleImpliesTheEarlierChanges(t *testing.T) {
	h := newHarness(t, contract.ModeAutomated)
	req := procedure.Request{Serial: "LEAN00002", Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole}
	h.world.add(req.Serial, "ade")
	for _, v := range []struct {
		id     string
		newest workflow.Version
	}{{changeAppleCoordinator, 2}, {versionRetirementRecord, 1}, {changePlanOrder, 1}, {changeOperatorLostMode, 1}} {
		h.env.OnGetVersion(v.id, workflow.DefaultVersion, v.newest).Return(workflow.DefaultVersion).Never()
	}
	res, err := h.run(req)
	if err != nil || res.Outcome != OutcomeRemoved {
		t.Fatalf("outcome %s, error %v", res.Outcome, err)
	}
	h.env.AssertExpectations(t)
	// Through the coordinator (apple-coordinator 1 and 2): the unassign names its activity, and the
	// device's retirement record (retirement-record 1) was written without a warning.
	if s := stepOf(res.Steps, procedure.ABMUnassign); s.State != StateDone || !strings.Contains(s.Note, "unassigned by Apple activity") {
		t.Errorf("abm-unassign %s: %q", s.State, s.Note)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w, "retirement record was not written") {
			t.Errorf("warning: %s", w)
		}
	}
}
