package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
)

// relay plays the server between the fleet's DeliverReports activity and the devices: the
// activity (mocked: the test environment takes no update from an activity's goroutine) hands the
// reports to the relay, which sends each to its device as that device's own complete-step
// update, from the environment's loop, and keeps what each device answered.
type relay struct {
	h         *fleetHarness
	mu        sync.Mutex
	queue     []activities.DeviceReport
	delivered []activities.DeliverInput
	refuse    map[string]string // serial → refusal the activity reports instead of delivering
	answers   map[string]error  // update ID → the device's answer
}

func newRelay(h *fleetHarness) *relay {
	r := &relay{h: h, refuse: map[string]string{}, answers: map[string]error{}}
	h.env.OnActivity(fleetActs.DeliverReports, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) ([]activities.Delivered, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.delivered = append(r.delivered, in)
			out := make([]activities.Delivered, len(in.Reports))
			for i, rep := range in.Reports {
				if why, ok := r.refuse[rep.Serial]; ok {
					out[i] = activities.Delivered{Serial: rep.Serial, Refusal: why}
					continue
				}
				r.queue = append(r.queue, rep)
				out[i] = activities.Delivered{Serial: rep.Serial, Accepted: true}
			}
			return out, nil
		})
	return r
}

// flush sends the queued reports to their devices (from a delayed callback).
func (r *relay) flush() {
	r.mu.Lock()
	queue := r.queue
	r.queue = nil
	r.mu.Unlock()
	for _, rep := range queue {
		var sr StepReport
		if err := json.Unmarshal(rep.Arg, &sr); err != nil {
			r.h.t.Error(err)
			continue
		}
		r.send(rep.WorkflowID, rep.UpdateID, sr)
	}
}

func (r *relay) send(workflowID, updateID string, sr StepReport) {
	err := r.h.env.UpdateWorkflowByID(workflowID, contract.UpdateCompleteStep, updateID, &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { r.mu.Lock(); r.answers[updateID] = err; r.mu.Unlock() },
		OnAccept:   func() {},
		OnComplete: func(any, error) { r.mu.Lock(); r.answers[updateID] = nil; r.mu.Unlock() },
	}, sr)
	if err != nil {
		r.h.t.Errorf("update %s: %v", updateID, err)
	}
}

func (r *relay) answer(updateID string) (err error, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	err, ok = r.answers[updateID]
	return err, ok
}

// childStatus is a device's status query, from a delayed callback.
func (h *fleetHarness) childStatus(serial string) (DeviceStatus, bool) {
	v, err := h.env.QueryWorkflowByID(contract.DeviceWorkflowID(serial), contract.QueryStatus)
	if err != nil {
		return DeviceStatus{}, false
	}
	var st DeviceStatus
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st, true
}

// operator is the scripted person: every few minutes it reports done for each device waiting on
// an operator at a step that is not a multi-select one (those wait for the fleet's report).
func (h *fleetHarness) operator(serials []string, until time.Duration) {
	for at := 5 * time.Minute; at < until; at += 5 * time.Minute {
		h.env.RegisterDelayedCallback(func() {
			for _, s := range serials {
				st, ok := h.childStatus(s)
				if !ok || st.WaitingOn != procedure.PartyOperator || len(st.Choices) == 0 || procedure.Groupable(st.Current) {
					continue
				}
				h.updates++ // the test environment takes an update ID once: "" would be one update for all
				_ = h.env.UpdateWorkflowByID(contract.DeviceWorkflowID(s), contract.UpdateCompleteStep, fmt.Sprintf("op-%d", h.updates), &testsuite.TestUpdateCallback{
					OnReject: func(error) {}, OnAccept: func() {}, OnComplete: func(any, error) {},
				}, StepReport{Step: st.Current, By: "op-" + s, Outcome: procedure.OutcomeDone})
			}
		}, at)
	}
}

// fleetAnswer is the answer of a fleet update, filled in when the environment delivers it.
type fleetAnswer struct {
	done   bool
	result FleetStepResult
	err    error
}

// fleetUpdate sends the fleet's complete-step update; its answer (or refusal) comes later.
func (h *fleetHarness) fleetUpdate(r FleetStepReport) *fleetAnswer {
	a := &fleetAnswer{}
	h.updates++
	h.env.UpdateWorkflow(contract.UpdateCompleteFleetStep, fmt.Sprintf("fleet-%d", h.updates), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { a.done, a.err = true, err },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			a.done, a.err = true, err
			if err == nil {
				a.result = v.(FleetStepResult)
			}
		},
	}, r)
	return a
}

// An operator-mode fleet: its devices waiting at 4-1 and 4-2 are one task each in the progress
// query (the serials, the vendor's multi-select path, the command that reports them), and one
// fleet report per step reaches every device as its own report; an exception branches as
// procedure.md says (certificates remain → remove-certificates, then the delete again), and a
// stale report for a wait the device has left is refused by the device.
func TestFleetReportsAStepForManyDevices(t *testing.T) {
	h := newFleetHarness(t)
	r := newRelay(h)
	var devices []FleetDevice
	var serials, managed, greyed []string
	for i, e := range []string{"ade-restricted", "ade", "manual", "ade-restricted", "ade", "manual"} {
		d := h.add(fmt.Sprintf("GRP%05d", i), e, false)
		devices = append(devices, d)
		serials = append(serials, d.Request.Serial)
		if e == "ade-restricted" { // keep/ade-restricted deletes the managed record (4-1); the others, greyed-out (4-2)
			managed = append(managed, d.Request.Serial)
		} else {
			greyed = append(greyed, d.Request.Serial)
		}
	}
	exception := greyed[0]
	h.operator(serials, 20*time.Hour)

	var tasks []FleetTask
	var first, managedReport, second *fleetAnswer
	var refusals []*fleetAnswer
	h.env.RegisterDelayedCallback(func() {
		tasks = h.progress().Tasks
		for _, bad := range []FleetStepReport{
			{Step: procedure.DeleteGreyedOutRecord},                                  // nobody
			{Step: procedure.ConsoleWipe, By: "lead"},                                // not a multi-select step
			{Step: procedure.DeleteGreyedOutRecord, By: "lead", Outcome: "exploded"}, // not an outcome of 4-2
			{Step: procedure.DeleteGreyedOutRecord, By: "lead", Except: []FleetStepException{{Serial: "NOSUCH0001", Outcome: procedure.OutcomeCertificatesRemain}}},
			{Step: procedure.DeleteGreyedOutRecord, By: "lead", Except: []FleetStepException{{Serial: managed[0], Outcome: procedure.OutcomeCertificatesRemain}}},
			{Step: procedure.DeleteManagedRecord, By: "lead", Except: []FleetStepException{{Serial: managed[0], Outcome: procedure.OutcomeCertificatesRemain}}}, // 4-1 has no such outcome
		} {
			refusals = append(refusals, h.fleetUpdate(bad))
		}
		first = h.fleetUpdate(FleetStepReport{Step: procedure.DeleteGreyedOutRecord, By: "lead", Note: "bulk delete in CLOMO PANEL",
			Except: []FleetStepException{{Serial: strings.ToLower(exception), Outcome: procedure.OutcomeCertificatesRemain, Note: "証明書"}}})
		managedReport = h.fleetUpdate(FleetStepReport{Step: procedure.DeleteManagedRecord, By: "lead"})
	}, 6*time.Hour)
	h.env.RegisterDelayedCallback(r.flush, 6*time.Hour+time.Minute)

	// The exception's device goes to remove-certificates (the scripted operator reports it), then
	// waits at 4-2 again: a 1-device task. The old report (round 1) is refused; the new one is taken.
	var again []FleetTask
	h.env.RegisterDelayedCallback(func() {
		again = h.progress().Tasks
		r.mu.Lock()
		firstDelivery := r.delivered[slices.IndexFunc(r.delivered, func(in activities.DeliverInput) bool { return len(in.Reports) == len(greyed) })]
		r.mu.Unlock()
		for _, rep := range firstDelivery.Reports {
			if rep.Serial == exception {
				var sr StepReport
				_ = json.Unmarshal(rep.Arg, &sr)
				r.send(rep.WorkflowID, "stale-"+rep.UpdateID, sr)
			}
		}
		second = h.fleetUpdate(FleetStepReport{Step: procedure.DeleteGreyedOutRecord, By: "lead", Serials: []string{exception}})
	}, 9*time.Hour)
	h.env.RegisterDelayedCallback(r.flush, 9*time.Hour+time.Minute)

	p, err := h.run(FleetInput{Devices: devices, Window: 10, ConsoleMode: contract.ModeOperator, CensusEvery: -1})
	if err != nil {
		t.Fatalf("fleet failed: %v", err)
	}
	if p.ByState[OutcomeRemoved] != len(devices) || len(p.Tasks) != 0 {
		t.Fatalf("fleet %+v: want every device removed and no task left", p.ByState)
	}

	// The tasks as the person saw them.
	if len(tasks) != 2 || tasks[0].Step != procedure.DeleteGreyedOutRecord || tasks[1].Step != procedure.DeleteManagedRecord ||
		!slices.Equal(tasks[0].Serials, greyed) || !slices.Equal(tasks[1].Serials, managed) {
		t.Fatalf("tasks %+v: want 4-2 for %v and 4-1 for %v", tasks, greyed, managed)
	}
	for _, task := range tasks {
		if !strings.Contains(task.Instruction, "複数選択や一括選択も可能です") || !strings.Contains(task.Report, "starter fleet complete f1 "+string(task.Step)) {
			t.Errorf("task %s: instruction or report line missing:\n%s\n%s", task.Step, task.Instruction, task.Report)
		}
		for _, s := range task.Serials {
			if !strings.Contains(task.Instruction, s) {
				t.Errorf("task %s: the instruction does not list %s", task.Step, s)
			}
		}
	}
	if len(again) != 1 || !slices.Equal(again[0].Serials, []string{exception}) || again[0].Step != procedure.DeleteGreyedOutRecord {
		t.Errorf("after the exception's branch: tasks %+v, want 4-2 for %s alone", again, exception)
	}

	// Bad reports were refused whole, each saying what is wrong; the devices named are named.
	wants := []string{"say who reports", "not one CLOMO PANEL does for many devices", "not one step delete-greyed-out-record accepts",
		"device NOSUCH0001 is not running in fleet f1", "device " + managed[0] + " waits at delete-managed-record, not at delete-greyed-out-record",
		"not one step delete-managed-record accepts"}
	for i, want := range wants {
		if a := refusals[i]; !a.done || a.err == nil || !strings.Contains(a.err.Error(), want) {
			t.Errorf("bad report %d: refused with %v, want %q", i, a.err, want)
		}
	}
	for _, a := range []*fleetAnswer{first, managedReport, second} {
		if !a.done || a.err != nil {
			t.Errorf("a fleet report: answered %t, %v", a.done, a.err)
		}
	}
	firstResult := first.result
	if firstResult.Reported[procedure.OutcomeDone] != len(greyed)-1 || firstResult.Reported[procedure.OutcomeCertificatesRemain] != 1 {
		t.Errorf("first 4-2 report: %+v", firstResult)
	}

	// One delivery per fleet report, each device's report with its round and its own outcome.
	if len(r.delivered) != 3 {
		t.Fatalf("%d deliveries, want 3 (4-2, 4-1, 4-2 again)", len(r.delivered))
	}
	slices.SortStableFunc(r.delivered[:2], func(a, b activities.DeliverInput) int { return len(b.Reports) - len(a.Reports) }) // 4-2 (4 devices), then 4-1 (2)
	for _, rep := range r.delivered[0].Reports {
		var sr StepReport
		_ = json.Unmarshal(rep.Arg, &sr)
		want := procedure.OutcomeDone
		if rep.Serial == exception {
			want = procedure.OutcomeCertificatesRemain
		}
		if sr.Outcome != want || sr.Round != 1 || sr.By != "lead" || sr.Step != procedure.DeleteGreyedOutRecord {
			t.Errorf("%s was sent %+v, want outcome %s, round 1", rep.Serial, sr, want)
		}
	}
	if reps := r.delivered[2].Reports; len(reps) != 1 || !strings.Contains(string(reps[0].Arg), `"round":2`) {
		t.Errorf("second 4-2 delivery %+v: want the exception alone, round 2", reps)
	}
	var stale error
	for id, err := range r.answers {
		if strings.HasPrefix(id, "stale-") {
			stale = err
		} else if err != nil {
			t.Errorf("update %s refused: %v", id, err)
		}
	}
	if stale == nil || !strings.Contains(stale.Error(), "has left the wait") {
		t.Errorf("a report for a wait the device left was answered %v, want refused", stale)
	}

	// Each device records its own report, as a device-level complete-step would; the exception
	// went through remove-certificates and the delete again (procedure.md 4-2).
	for _, s := range serials {
		st, ok := h.childStatus(s) // the test environment answers a closed child's query
		if !ok {
			t.Fatalf("%s: no status", s)
		}
		step := procedure.DeleteGreyedOutRecord
		if slices.Contains(managed, s) {
			step = procedure.DeleteManagedRecord
		}
		var mine []AuditEntry
		for _, a := range st.Audit {
			if a.Step == step {
				mine = append(mine, a)
			}
		}
		want := []string{procedure.OutcomeDone}
		if s == exception {
			want = []string{procedure.OutcomeCertificatesRemain, procedure.OutcomeDone}
		}
		var got []string
		for _, a := range mine {
			got = append(got, a.Outcome)
			if a.By != "lead" || a.Time.IsZero() {
				t.Errorf("%s: audit entry %+v, want by lead with a time", s, a)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: audit of %s %v, want %v", s, step, got, want)
		}
		if s == exception {
			if i := slices.IndexFunc(st.Steps, func(x StepStatus) bool { return x.ID == procedure.RemoveCertificates }); i < 0 || st.Steps[i].State != StateDone {
				t.Errorf("%s: remove-certificates did not run: %+v", s, st.Steps)
			}
			if mine[0].Note != "証明書" {
				t.Errorf("%s: the exception's note %q", s, mine[0].Note)
			}
		} else if mine[0].Note != "bulk delete in CLOMO PANEL" && step == procedure.DeleteGreyedOutRecord {
			t.Errorf("%s: the report's note %q", s, mine[0].Note)
		}
		if st.Outcome != OutcomeRemoved {
			t.Errorf("%s: outcome %s", s, st.Outcome)
		}
	}
}

// A refusal the activity reports (the device has moved on) leaves the device in the task.
func TestFleetReportKeepsARefusedDeviceWaiting(t *testing.T) {
	h := newFleetHarness(t)
	r := newRelay(h)
	var devices []FleetDevice
	var serials []string
	for i := range 2 {
		d := h.add(fmt.Sprintf("RFS%05d", i), "manual", false)
		devices = append(devices, d)
		serials = append(serials, d.Request.Serial)
	}
	r.refuse[serials[1]] = "device " + serials[1] + " is not waiting on step \"delete-greyed-out-record\""
	h.operator(serials, 20*time.Hour)
	var answer, again *fleetAnswer
	var left []FleetTask
	h.env.RegisterDelayedCallback(func() { answer = h.fleetUpdate(FleetStepReport{Step: procedure.DeleteGreyedOutRecord, By: "lead"}) }, 6*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		left = h.progress().Tasks
		r.mu.Lock()
		delete(r.refuse, serials[1])
		r.mu.Unlock()
	}, 6*time.Hour+30*time.Second)
	h.env.RegisterDelayedCallback(r.flush, 6*time.Hour+time.Minute)
	h.env.RegisterDelayedCallback(func() { again = h.fleetUpdate(FleetStepReport{Step: procedure.DeleteGreyedOutRecord, By: "lead"}) }, 7*time.Hour)
	h.env.RegisterDelayedCallback(r.flush, 7*time.Hour+time.Minute)
	p, err := h.run(FleetInput{Devices: devices, Window: 10, ConsoleMode: contract.ModeOperator, CensusEvery: -1})
	if err != nil || p.ByState[OutcomeRemoved] != 2 {
		t.Fatalf("fleet: %v %+v", err, p.ByState)
	}
	if !answer.done || answer.err != nil || !again.done || again.err != nil {
		t.Fatalf("reports answered %+v, %+v", answer, again)
	}
	res := answer.result
	if res.Reported[procedure.OutcomeDone] != 1 || len(res.Refused) != 1 || res.Refused[0].Serial != serials[1] || !strings.Contains(res.Refused[0].Detail, "not waiting") {
		t.Errorf("result %+v: want one reported, %s refused with its reason", res, serials[1])
	}
	if len(left) != 1 || !slices.Equal(left[0].Serials, []string{serials[1]}) {
		t.Errorf("tasks after the refusal %+v: want %s still waiting", left, serials[1])
	}
}

// fleetEvidence is testEvidence for a fleet: a fleet's children outlive it (a continue-as-new, a
// cancellation), so their records may still be written while the test ends, when t.TempDir's
// cleanup would fail on a file it did not see. The directory is removed best effort.
func fleetEvidence(t *testing.T) *activities.Evidence {
	dir, err := os.MkdirTemp("", "offboard-fleet-evidence")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	archive, err := evidence.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &activities.Evidence{Archive: archive}
}
