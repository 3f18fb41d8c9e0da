package workflows

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
)

// approvalHarness is a fleet harness whose worker asks a second person past threshold wipes, and
// which records the WaitingOn values the fleet sets.
func approvalHarness(t *testing.T, threshold int) (*fleetHarness, func() []string) {
	h := newFleetHarnessWith(t, false, activities.WorkerInfo{FleetApprovalWipes: threshold})
	var mu sync.Mutex
	var waitingOn []string
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if _, step := sa.GetKeyword(SAOffboardStep); step {
			return // a device's: devices always write their step
		}
		v, ok := sa.GetKeyword(SAWaitingOn)
		if !ok {
			v = "(unset)"
		}
		mu.Lock()
		waitingOn = append(waitingOn, v)
		mu.Unlock()
	}).Return(nil)
	return h, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), waitingOn...) }
}

func (h *fleetHarness) approveFleet(by string) *fleetAnswer {
	a := &fleetAnswer{}
	h.updates++
	h.env.UpdateWorkflow(contract.UpdateApprove, "approve-"+by+"-"+string(rune('0'+h.updates)), &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { a.done, a.err = true, err },
		OnAccept:   func() {},
		OnComplete: func(_ any, err error) { a.done, a.err = true, err },
	}, FleetApprove{By: by, Note: "checked the list against HR"})
	return a
}

// A fleet past the threshold starts no device until a second person approves: the person who
// started it is refused, a second person is taken, and every device's audit shows the approval.
func TestFleetWaitsForASecondPerson(t *testing.T) {
	h, waitingOn := approvalHarness(t, 2)
	devices := h.mixed(6) // 3 wipes: more than 2
	var before FleetProgress
	startedBefore := -1
	var self, nobody, second, twice *fleetAnswer
	h.env.RegisterDelayedCallback(func() {
		before, startedBefore = h.progress(), h.devicesStarted
		self = h.approveFleet(" Alice ")
		nobody = h.approveFleet("")
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() { second = h.approveFleet("bob") }, 2*time.Hour)
	h.env.RegisterDelayedCallback(func() { twice = h.approveFleet("carol") }, 2*time.Hour+time.Minute)
	p, err := h.run(FleetInput{Devices: devices, Window: 6, StartedBy: "alice", Timing: Timing{ApplePoll: 20 * time.Minute}})
	if err != nil {
		t.Fatalf("fleet: %v", err)
	}
	if before.State != FleetStateAwaitingApproval || before.WaitingOn != string(contract.WaitingOnApproval) || startedBefore != 0 ||
		before.Approval == nil || before.Approval.Wipes != 3 || before.Approval.StartedBy != "alice" {
		t.Errorf("before the approval: state %s, waiting on %q, %d devices started, approval %+v", before.State, before.WaitingOn, startedBefore, before.Approval)
	}
	if !self.done || self.err == nil || !strings.Contains(self.err.Error(), "second person") {
		t.Errorf("the starter's own approval: %v, want refused", self.err)
	}
	if !nobody.done || nobody.err == nil || !strings.Contains(nobody.err.Error(), "say who approves") {
		t.Errorf("an approval by nobody: %v", nobody.err)
	}
	if !second.done || second.err != nil {
		t.Errorf("the second person's approval: %v", second.err)
	}
	if !twice.done || twice.err == nil || !strings.Contains(twice.err.Error(), "approved already, by bob") {
		t.Errorf("a second approval: %v", twice.err)
	}
	if got := waitingOn(); len(got) != 2 || got[0] != string(contract.WaitingOnApproval) || got[1] != "(unset)" {
		t.Errorf("the fleet's WaitingOn went %v, want approval then unset", got)
	}
	if p.ByState[OutcomeRemoved] != 6 || p.Approval == nil || p.Approval.ApprovedBy != "bob" || p.Approval.ApprovedAt == nil {
		t.Fatalf("fleet %+v, approval %+v", p.ByState, p.Approval)
	}
	for _, d := range devices {
		st, _ := h.childStatus(d.Request.Serial)
		if len(st.Audit) == 0 || st.Audit[0].Step != fleetApprovalStep || st.Audit[0].By != "bob" || !st.Audit[0].Time.Equal(*p.Approval.ApprovedAt) ||
			!strings.Contains(st.Audit[0].Note, "started by alice") {
			t.Errorf("%s: audit %+v, want the fleet's approval by bob first", d.Request.Serial, st.Audit)
		}
	}
}

// A fleet within the threshold starts at once; one past it without a starter's name is refused
// before anything starts.
func TestFleetApprovalThreshold(t *testing.T) {
	h, waitingOn := approvalHarness(t, 3)
	var started int
	h.env.RegisterDelayedCallback(func() { started = h.devicesStarted }, time.Minute)
	p, err := h.run(FleetInput{Devices: h.mixed(6), Window: 6, Timing: Timing{ApplePoll: 20 * time.Minute}}) // 3 wipes: not more than 3
	if err != nil || p.ByState[OutcomeRemoved] != 6 || p.Approval != nil || started == 0 || len(waitingOn()) != 0 {
		t.Fatalf("within the threshold: %v, %+v, approval %+v, %d started at once, WaitingOn %v", err, p.ByState, p.Approval, started, waitingOn())
	}

	h, _ = approvalHarness(t, 2)
	_, err = h.run(FleetInput{Devices: h.mixed(6), Window: 6})
	if err == nil || !strings.Contains(err.Error(), "fleet f1 wipes 3 devices, more than 2") || !strings.Contains(err.Error(), "--by") ||
		!strings.Contains(err.Error(), "nothing was started") || h.devicesStarted != 0 {
		t.Fatalf("past the threshold without --by: %v, %d started", err, h.devicesStarted)
	}
}
