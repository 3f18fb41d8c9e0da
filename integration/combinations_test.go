package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/oracletest"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// A deterministic sample of the combinations of workflows/combinations_test.go, on the real dev
// server against the simulator: every path (with its wipe method) × every caution at least once
// (oracletest.Space.Sample: for each path and each non-default value of a dimension, the first
// combination in generation order that has it), then a stride through the rest, at least 60 in
// all. Each must reach the oracle's outcome, and the simulator's ledger (not the workflow's own
// account) must show the commands in the page's order, none twice and no hazard.
//
// On the simulator's clock (an hour a second) a device checks in every 30 minutes; the user acts
// 20 minutes after a message, or, when late, after 6 hours (after the first reminder, at 4 hours);
// an operator is asked after 15 hours. A run that waits on a person the scripted operator does not
// stand in for (vendor support, an escalation, a refusal) for 3 seconds, or on a step the operator
// will not report for 25 seconds, has stopped: the test notes where, and cancels it.
var combinationTiming = workflows.Timing{
	CheckInPoll: 300 * time.Millisecond, ConsolePoll: 200 * time.Millisecond, ApplePoll: 200 * time.Millisecond,
	CheckInDeadline: 15 * time.Second, UserReminders: []time.Duration{4 * time.Second, 8 * time.Second}, OperatorReminder: 30 * time.Second,
	// Beside the console watcher, as fastTiming: under -race a feed read lagged past the deadline.
	SafetyNetPoll: 3 * time.Second,
}

const (
	combinationSample   = 60
	combinationPoll     = time.Second
	combinationStopped  = 3 * time.Second  // waiting on someone the test does not play
	combinationDeclined = 25 * time.Second // waiting on the scripted operator, who has nothing to report
	combinationTimeout  = 4 * time.Minute
)

// combinationSpec is the simulator's device for c.
func combinationSpec(serial string, c oracletest.Combo) simulator.DeviceSpec {
	spec := simulator.DeviceSpecFor(serial, c.Enrollment)
	spec.CheckInEvery = simulator.Duration(30 * time.Minute)
	spec.UserActsAfter = simulator.Duration(20 * time.Minute)
	switch c.User {
	case oracletest.UserLate:
		spec.UserActsAfter = simulator.Duration(6 * time.Hour)
	case oracletest.UserNever:
		spec.UserActsAfter = simulator.Never
	}
	if c.CheckIn == oracletest.CheckInNever {
		spec.CheckInEvery = simulator.Never
	}
	spec.LostMode, spec.WorkSmart = c.LostMode, c.WorkSmart
	spec.VPPLicenses, spec.VPPStuck = 0, c.VPP == oracletest.VPPStuck
	if c.VPP != oracletest.VPPNone {
		spec.VPPLicenses = 2
	}
	if c.Certificates {
		spec.Certificates = 2
	}
	if c.GreyedOut {
		spec.Status = console.StatusGreyedOut
	}
	if c.ADEDevice() {
		switch c.Apple {
		case oracletest.AppleOther:
			spec.AssignedServer = "MDM-SERVER-OF-ANOTHER-ORG"
		case oracletest.AppleUnassigned:
			spec.Assigned = false
		}
	}
	return spec
}

// combinationRun is one sampled combination on the real stack.
type combinationRun struct {
	combo  oracletest.Combo
	serial string
	run    client.WorkflowRun
	obs    oracletest.Observed
	last   workflows.DeviceStatus
	notes  []string // what the scripted operator's reports met
}

func TestCombinationSampleEndToEnd(t *testing.T) {
	space := oracletest.All()
	sample := space.Sample(combinationSample)
	t.Logf("%s; %d sampled for the dev server", space.Summary(), len(sample))
	person, err := console.New(console.Config{BaseURL: world.URL, Token: world.WorkerConfig().Console.Token, UserAgent: "scripted-operator"})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().UnixNano() % 10000000
	runs := make([]*combinationRun, len(sample))
	for i, c := range sample {
		r := &combinationRun{combo: c, serial: fmt.Sprintf("CB%03d%07d", i, base)}
		if err := world.Sim.AddDevices(combinationSpec(r.serial, c)); err != nil {
			t.Fatalf("%s: add device: %v", c, err)
		}
		req := procedure.Request{Serial: r.serial, Enrollment: procedure.Enrollment(c.Enrollment), Wipe: c.Wipe, WipeMethod: procedure.WipeMethod(c.Method)}
		r.run, err = tc.ExecuteWorkflow(context.Background(), startOptions(r.serial, c.Path()), contract.DeviceWorkflowType,
			workflows.DeviceInput{Request: req, ConsoleMode: c.Mode, Confirmed: true, Contact: "user@example.com", Timing: combinationTiming})
		if err != nil {
			t.Fatalf("%s: start: %v", c, err)
		}
		runs[i] = r
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.follow(person)
		}()
	}
	wg.Wait()
	t.Logf("%d combinations on the dev server in %s", len(runs), time.Since(start).Round(time.Second))

	failures := map[string][]string{}
	for _, r := range runs {
		t.Run(strings.ReplaceAll(r.combo.String(), "/", "+"), func(t *testing.T) {
			exp := oracletest.Expect(r.combo)
			entries := world.Sim.Ledger(r.serial)
			events := ledgerEvents(r.combo, entries)
			problems := append([]string(nil), r.notes...)
			problems = append(problems, exp.Verify(r.obs, events)...)
			assertLedger(t, r.serial) // no destructive command accepted twice, no hazard
			if len(problems) == 0 {
				return
			}
			var key []string
			for _, p := range problems {
				if !strings.HasPrefix(p, "missing: ") {
					key = append(key, p)
				} else if !slices.Contains(key, "missing: steps of the page after it never happened") {
					key = append(key, "missing: steps of the page after it never happened")
				}
			}
			cause := strings.Join(key, "\n")
			failures[cause] = append(failures[cause], r.combo.String())
			var steps []string
			for _, s := range r.last.Steps {
				steps = append(steps, string(s.ID)+":"+s.State)
			}
			t.Errorf("%s (%s)\n  expected: %s\n  observed: %s\n  %s\n  ledger: %s\n  steps: %s", r.combo, r.serial, exp.Describe(), r.obs.Describe(),
				strings.Join(problems, "\n  "), oracletest.Names(events), strings.Join(steps, " "))
		})
	}
	if len(failures) > 0 {
		t.Logf("failing combinations by cause:\n%s", groupFailures(failures))
	}
}

func groupFailures(byCause map[string][]string) string {
	causes := make([]string, 0, len(byCause))
	for c := range byCause {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool { return len(byCause[causes[i]]) > len(byCause[causes[j]]) })
	var b strings.Builder
	for _, c := range causes {
		fmt.Fprintf(&b, "  [%d] %s\n", len(byCause[c]), strings.ReplaceAll(c, "\n", "\n      "))
		for _, name := range byCause[c] {
			fmt.Fprintf(&b, "      %s\n", name)
		}
	}
	return b.String()
}

// follow watches one run until it ends, or stops on a person nobody plays; in operator mode the
// scripted operator works in the simulator's console and reports through complete-step.
func (r *combinationRun) follow(api console.API) {
	ctx := context.Background()
	var op *oracletest.Person
	if r.combo.Mode == oracletest.Operator {
		op = oracletest.NewPerson(api, r.serial)
	}
	deadline := time.Now().Add(combinationTimeout)
	var since time.Time
	var seen, answered string
	for {
		if done, res, err := r.closed(); done {
			r.finished(res, err)
			return
		}
		st, err := queryStatus(r.serial)
		if err != nil {
			time.Sleep(combinationPoll)
			continue
		}
		r.last = st
		now := fmt.Sprint(st.Current, st.WaitingOn, st.Choices)
		if now != answered {
			answered = "" // the status moved on since the last report: a person reads it afresh
		}
		if op != nil && len(st.Choices) > 0 && answered == "" {
			if outcome, ok := op.Answer(ctx, string(st.Current), string(st.WaitingOn), st.Choices); ok {
				rerr := report(r.serial, workflows.StepReport{Step: st.Current, By: "scripted-operator", Outcome: outcome, Note: "as the console showed"})
				if rerr != nil {
					r.notes = append(r.notes, fmt.Sprintf("the workflow refused the operator's report %s %s: %v", st.Current, outcome, rerr))
				}
				// The query may show the step a moment longer: answer it again only once it changed,
				// and give the workflow the whole wait from now to take the report (on a loaded
				// machine it may first send a reminder that fell due in the same moment).
				answered, seen, since = now, now, time.Now()
				time.Sleep(combinationPoll)
				continue
			}
		}
		if now != seen {
			seen, since = now, time.Now()
		}
		if wait := stoppedAfter(r.combo, st); wait > 0 && time.Since(since) >= wait {
			r.obs = oracletest.Observed{Outcome: oracletest.Waiting, Party: string(st.WaitingOn), Step: string(st.Current)}
			_ = tc.CancelWorkflow(ctx, r.run.GetID(), "")
			_ = r.run.Get(ctx, nil)
			r.obs.RecordGone = recordGone(r.serial)
			return
		}
		if time.Now().After(deadline) {
			r.obs = oracletest.Observed{Outcome: fmt.Sprintf("still running after %s (%s on %s)", combinationTimeout, st.Current, st.WaitingOn)}
			_ = tc.CancelWorkflow(ctx, r.run.GetID(), "")
			return
		}
		time.Sleep(combinationPoll)
	}
}

// stoppedAfter is how long a status must last before the run counts as stopped there; 0: it is
// not a stop (the device, the console or Apple is still at work).
func stoppedAfter(c oracletest.Combo, st workflows.DeviceStatus) time.Duration {
	switch {
	case st.WaitingOn == contract.WaitingOnVendorSupport:
		return combinationStopped
	case st.WaitingOn != contract.WaitingOnOperator:
		return 0
	case c.Mode == oracletest.Automated || oracletest.NotTheOperators(st.Choices):
		return combinationStopped
	}
	return combinationDeclined
}

func (r *combinationRun) closed() (bool, workflows.DeviceResult, error) {
	var res workflows.DeviceResult
	d, err := tc.DescribeWorkflowExecution(context.Background(), r.run.GetID(), "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return false, res, nil
	}
	err = r.run.Get(context.Background(), &res)
	return true, res, err
}

func (r *combinationRun) finished(res workflows.DeviceResult, err error) {
	r.obs = oracletest.Observed{RecordGone: recordGone(r.serial)}
	for i := 0; i < 20; i++ { // a closed workflow's query is answered by a replay: retry a busy worker
		st, qerr := queryStatus(r.serial)
		if qerr == nil {
			r.last = st
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	switch {
	case err == nil && res.Outcome == workflows.OutcomeRemoved:
		r.obs.Outcome = oracletest.Removed
	case r.last.Outcome == workflows.OutcomeRejected:
		r.obs.Outcome = oracletest.Rejected
		for _, s := range r.last.Steps {
			if s.State == workflows.StateFailed {
				r.obs.Step = string(s.ID)
				break
			}
		}
	default:
		r.obs.Outcome = r.last.Outcome
	}
	if err != nil {
		r.obs.Error = err.Error()
	}
}

func queryStatus(serial string) (workflows.DeviceStatus, error) {
	var st workflows.DeviceStatus
	v, err := tc.QueryWorkflow(context.Background(), contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func recordGone(serial string) bool {
	d, ok := world.Sim.Device(serial)
	return !ok || d.Status == simulator.StatusDeleted
}

// ledgerEvents reads the simulator's ledger of a device as oracletest's events, keeping track of
// lost mode and of the erase on the device as the ledger shows them.
func ledgerEvents(c oracletest.Combo, entries []simulator.LedgerEntry) []oracletest.Event {
	lost, wiped := c.LostMode && !c.GreyedOut, false
	var out []oracletest.Event
	add := func(name string) { out = append(out, oracletest.Event{Name: name, LostMode: lost, Wiped: wiped}) }
	commands := map[string]bool{console.CmdRemoveProfile: true, console.CmdEraseDevice: true, console.CmdDisableLostMode: true,
		console.CmdDeleteDevice: true, console.CmdPurgeDevice: true, console.CmdRemoveCertificates: true,
		console.CmdRefreshLicenseCounts: true, console.CmdRevokeVPPLicenses: true}
	for _, e := range entries {
		switch {
		case e.Source == simulator.SourceConsole && e.Outcome == simulator.OutcomeAccepted:
			add("cmd:" + e.Kind)
		case e.Source == simulator.SourceConsole && e.Outcome == simulator.OutcomeRefused:
			add("refused:" + e.Kind + ":" + e.Code)
		case e.Source == simulator.SourceDevice && e.Outcome == simulator.OutcomeApplied && commands[e.Kind]:
			add("applied:" + e.Kind)
			switch e.Kind {
			case console.CmdDisableLostMode:
				lost = false
			case console.CmdEraseDevice:
				if strings.Contains(e.Detail, "Return to Service") {
					add(oracletest.ReturnToService)
				} else {
					lost, wiped = false, true
					add(oracletest.GreyedOutEvent)
				}
			}
		case e.Source == simulator.SourceDevice && e.Kind == simulator.KindCheckIn && e.Outcome == simulator.OutcomeApplied:
			add(oracletest.GreyedOutEvent)
		case e.Source == simulator.SourceDevice && e.Kind == simulator.KindRecordGone:
			add(oracletest.RecordGone)
		case e.Source == simulator.SourceUser && e.Outcome == simulator.OutcomeNoted && strings.HasPrefix(e.Detail, "message received"):
			add(oracletest.Told(e.Kind))
		case e.Source == simulator.SourceUser && e.Outcome == simulator.OutcomeApplied:
			if e.Kind == simulator.StepUserWipe {
				lost, wiped = false, true
			}
			add("user:" + e.Kind)
		case e.Source == simulator.SourceUser && e.Outcome == simulator.OutcomeRefused:
			add("user-refused:" + e.Kind + ":" + e.Code)
		case e.Source == simulator.SourceApple && e.Kind == "UNASSIGN_DEVICES" && e.Outcome == simulator.OutcomeAccepted:
			add(oracletest.Unassign)
		}
	}
	return out
}
