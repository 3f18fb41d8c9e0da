package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// Device states of a fleet's progress, besides the device outcomes (removed, rejected, cancelled,
// conflict, lost, start-failed).
const (
	FleetDevicePending = "pending" // not started yet
	FleetDeviceRunning = "running"
)

// FleetProgress is the answer of the progress query, and the fleet's result.
type FleetProgress struct {
	FleetID string `json:"fleetId"`
	// State is running, paused, finished or cancelled.
	State  string `json:"state"`
	Total  int    `json:"total"`
	Window int    `json:"window"`
	// ByState counts every device: pending, running, and the outcomes of the finished ones.
	ByState map[string]int `json:"byState"`
	// ByStep and ByWaitingOn count the running devices as the last census saw them (CensusAt).
	ByStep      map[string]int `json:"byStep,omitempty"`
	ByWaitingOn map[string]int `json:"byWaitingOn,omitempty"`
	CensusAt    *time.Time     `json:"censusAt,omitempty"`
	// NeedPerson names the devices a person must look at: waiting on an operator or vendor
	// support, rejected, not started because of a conflict, or lost.
	NeedPerson []FleetNote `json:"needPerson,omitempty"`
	Finished   int         `json:"finished"`
	// PerMinute is the rate of the last devices to finish; ETA when the rest would be done at it.
	PerMinute float64       `json:"perMinute"`
	AvgDevice time.Duration `json:"avgDevice"`
	ETA       *time.Time    `json:"eta,omitempty"`
	StartedAt time.Time     `json:"startedAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
	Runs      int           `json:"runs"`
	// OnCancel says what cancelling the fleet does to its running devices.
	OnCancel string `json:"onCancel"`
	Error    string `json:"error,omitempty"`
	// WaitingOn is "approval" while the fleet waits for a second person (Approval says who
	// started it and how many wipes; then who approved, and when).
	WaitingOn string         `json:"waitingOn,omitempty"`
	Approval  *FleetApproval `json:"approval,omitempty"`
	// Tasks are the steps many devices wait at for one person (CLOMO PANEL's multi-select):
	// the serials, the instruction and the command that reports them all; Reports the fleet's
	// last reports of such steps (fleet_steps.go).
	Tasks   []FleetTask        `json:"tasks,omitempty"`
	Reports []FleetReportEntry `json:"reports,omitempty"`
}

func (f *fleet) progress() FleetProgress {
	st := f.st
	p := FleetProgress{FleetID: f.id, State: FleetRunning, Total: st.Total, Window: f.window, StartedAt: st.StartedAt,
		UpdatedAt: f.now, Runs: st.Runs, OnCancel: OnCancel, ByState: map[string]int{}}
	switch {
	case f.cancelled:
		p.State = FleetCancelled
	case f.done():
		p.State = FleetFinished
	case st.Approval.waiting():
		p.State, p.WaitingOn = FleetStateAwaitingApproval, string(contract.WaitingOnApproval)
	case st.Paused:
		p.State = FleetPaused
	}
	p.Approval, p.Reports = st.Approval, st.Reports
	if len(st.Waits) > 0 {
		p.Tasks = f.tasks()
	}
	for _, k := range sortedKeys(st.Outcomes) {
		p.ByState[k] = st.Outcomes[k]
		p.Finished += st.Outcomes[k]
	}
	p.ByState[FleetDevicePending] = st.Total - st.Cursor
	p.ByState[FleetDeviceRunning] = len(st.Running)
	if c := st.Census; c != nil {
		p.ByStep, p.ByWaitingOn, p.CensusAt = c.ByStep, c.ByWaitingOn, st.CensusAt
		for _, d := range c.NeedPerson {
			if _, running := st.Running[d.Serial]; running {
				p.NeedPerson = append(p.NeedPerson, FleetNote{Serial: d.Serial, Path: d.Path, Step: d.Step, WaitingOn: d.WaitingOn,
					Detail: "waiting on " + d.WaitingOn + " at " + d.Step})
			}
		}
	}
	p.NeedPerson = append(p.NeedPerson, st.Attention...)
	if n := p.Finished - st.Outcomes[OutcomeConflict] - st.Outcomes[OutcomeStartFailed]; n > 0 {
		p.AvgDevice = st.TimeSum / time.Duration(n)
	}
	p.PerMinute = f.rate()
	if left := st.Total - p.Finished; p.PerMinute > 0 && left > 0 && !f.cancelled {
		eta := f.now.Add(time.Duration(float64(left) / p.PerMinute * float64(time.Minute)))
		p.ETA = &eta
	}
	return p
}

// rate is devices per minute over the last finishes, or since the start when few have finished.
func (f *fleet) rate() float64 {
	r := f.st.Recent
	if len(r) >= 10 {
		if span := r[len(r)-1].Sub(r[0]); span > 0 {
			return float64(len(r)-1) / span.Minutes()
		}
	}
	if span := f.now.Sub(f.st.StartedAt); span > 0 && len(r) > 0 {
		return float64(len(r)) / span.Minutes()
	}
	return 0
}

// applyCensus keeps the census for the progress query and returns the suspects: devices that no
// two censuses in a row listed although they started before the earlier one. Visibility may lag
// under load, so a suspect is only a question, which verify answers.
func (f *fleet) applyCensus(ctx workflow.Context, c activities.Census) []string {
	for f.takeFinished(ctx) {
	}
	f.now = workflow.Now(ctx)
	listed := map[string]bool{}
	for _, s := range c.Serials {
		listed[s] = true
	}
	prev := f.st.CensusAt
	var suspects []string
	for _, serial := range sortedKeys(f.st.Running) {
		d := f.st.Running[serial]
		if listed[serial] || prev == nil || d.Started.After(*prev) {
			d.Missing = 0
		} else {
			d.Missing++
		}
		f.st.Running[serial] = d
		if d.Missing >= 2 {
			suspects = append(suspects, serial)
		}
	}
	c.Serials = nil // the fleet's state keeps counts, not the list
	f.st.Census = &c
	f.st.CensusAt = &f.now
	f.publish(ctx)
	return suspects
}

// verify asks Temporal itself (not visibility) about the suspects: one still running for this
// fleet is only late in visibility; one that closed without telling the fleet (terminated, or
// restarted by someone else) gets the outcome its status says, and is named for a person.
func (f *fleet) verify(ctx, actx workflow.Context, suspects []string) {
	ids := make([]string, len(suspects))
	for i, s := range suspects {
		ids[i] = contract.DeviceWorkflowID(s)
	}
	var states []activities.DeviceState
	if err := workflow.ExecuteActivity(actx, fleetActs.DescribeDevices, ids).Get(ctx, &states); err != nil {
		f.logger.Warn("suspects not verified", "devices", len(ids), "error", err)
		return
	}
	f.now = workflow.Now(ctx)
	for i, st := range states {
		if i >= len(suspects) {
			break
		}
		serial := suspects[i]
		d, ok := f.st.Running[serial]
		if !ok {
			continue // it reported meanwhile
		}
		if st.Running && st.FleetID == f.id {
			d.Missing = 0
			f.st.Running[serial] = d
			continue
		}
		outcome := OutcomeLost
		switch st.Status {
		case "Completed":
			outcome = OutcomeRemoved
		case "Failed":
			outcome = OutcomeRejected
		case "Canceled":
			outcome = OutcomeCancelled
		}
		detail := fmt.Sprintf("%s is %s and did not tell the fleet: see its history", ids[i], st.Status)
		if st.Running {
			detail = fmt.Sprintf("%s runs again for %s, not for this fleet", ids[i], orDash(st.FleetID))
		}
		f.deviceFinished(ctx, DeviceResult{Serial: serial, Path: d.Path, Outcome: outcome, Error: detail})
	}
}

// publish shows the progress in the Web UI's current details (free: no history event).
func (f *fleet) publish(ctx workflow.Context) {
	p := f.progress()
	var b strings.Builder
	printf := func(format string, a ...any) { b.WriteString(fmt.Sprintf(format, a...)) }
	printf("**Fleet %s** · %s · %d of %d finished · window %d · %.1f devices/min\n\n", p.FleetID, p.State, p.Finished, p.Total, p.Window, p.PerMinute)
	b.WriteString("| state | devices |\n|---|---|\n")
	for _, k := range sortedKeys(p.ByState) {
		printf("| %s | %d |\n", k, p.ByState[k])
	}
	if a := p.Approval; a.waiting() {
		printf("\n**Waiting for approval:** %d wipes, more than %d; started by %s. A second person approves with `starter fleet approve %s --by <name>`\n",
			a.Wipes, a.Threshold, a.StartedBy, p.FleetID)
	}
	for _, t := range p.Tasks {
		printf("\n**%d devices wait at `%s`** (%s): `%s`\n", len(t.Serials), t.Step, t.Section, t.Report)
	}
	if len(p.NeedPerson) > 0 {
		printf("\n%d devices need a person: `starter fleet watch %s`\n", len(p.NeedPerson), p.FleetID)
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

// sortedKeys returns a map's keys in order: ranging over a map is random, and nothing a workflow
// does may depend on that order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	//workflowcheck:ignore the keys are sorted before use
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
