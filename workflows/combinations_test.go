package workflows

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/oracletest"
	"github.com/offboard/offboard/internal/procedure"
)

// "Every combination is proven": the whole space of internal/oracletest (enrollment × wipe × wipe
// method × lost mode × Work Smart × VPP × certificates × the user × check-in × already greyed-out ×
// Apple assignment × console mode) runs through DeviceOffboarding in the SDK's test environment
// against the fake console, and each run is held against the oracle, which is written from
// procedure.md and shares no code with internal/procedure: the outcome (removed, rejected at
// pre-flight with the reason, or waiting on the named party at the named step), and the order of
// the commands (no destructive command out of order or twice, nothing deleted while lost mode is
// on, nobody told to tap through Settings while lost mode locks the device).
//
// Time: a device checks in every third read (fakeWorld), a poll every 10 minutes, so about every
// 30 minutes; the user is reminded after 1, 2 and 3 hours and the operator is asked after 4. A run
// that has not finished after 12 hours waits for good: its status must be the same two hours
// later, and then the test cancels it. In console mode "operator" the scripted person of
// oracletest.Person reads the fake console every 10 minutes and reports through complete-step.
//
// The failures are listed grouped by cause at the end (and printed by TestMain). COMBO_DEBUG=1
// logs every combination's outcome and events, passing or not (with -v).
var comboTiming = Timing{
	CheckInPoll: 10 * time.Minute, CheckInDeadline: 4 * time.Hour,
	UserReminders:    []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour},
	OperatorReminder: 2 * time.Hour, ConsolePoll: time.Minute, ApplePoll: time.Minute,
}

const (
	comboSettled   = 12 * time.Hour // by then every run that can finish has
	comboStable    = 14 * time.Hour // the status then must be the status at comboSettled
	comboPersonGap = 10 * time.Minute
	comboLateAfter = 3 // the late user acts on the third message: the first and two reminders
)

// combinationsRun is printed by TestMain, so `go test` without -v shows the count (go test in
// package list mode, `go test ./...`, shows a passing package's output only with -v).
var combinationsRun struct {
	sync.Mutex
	line     string
	failures map[string][]string // cause → combinations
}

func TestMain(m *testing.M) {
	code := m.Run()
	if combinationsRun.line != "" {
		fmt.Println(combinationsRun.line)
	}
	os.Exit(code)
}

func TestEveryCombination(t *testing.T) {
	space := oracletest.All()
	combinationsRun.failures = map[string][]string{}
	start := time.Now()
	t.Run("combination", func(t *testing.T) {
		for i, c := range space.Combos {
			t.Run(strings.ReplaceAll(c.String(), "/", "+"), func(t *testing.T) {
				t.Parallel()
				runCombination(t, i, c)
			})
		}
	})
	took := time.Since(start).Round(time.Second)
	line := fmt.Sprintf("combinations: %s; all %d ran through the workflow in %s", space.Summary(), len(space.Combos), took)
	t.Log(line)
	combinationsRun.Lock()
	defer combinationsRun.Unlock()
	combinationsRun.line = line
	if n := len(combinationsRun.failures); n > 0 {
		combinationsRun.line += "\n" + failureReport(combinationsRun.failures)
		t.Logf("failing combinations by cause:\n%s", failureReport(combinationsRun.failures))
	}
}

// failureReport groups the failing combinations by their set of violations, largest group first.
func failureReport(byCause map[string][]string) string {
	causes := make([]string, 0, len(byCause))
	total := 0
	for c, combos := range byCause {
		causes = append(causes, c)
		total += len(combos)
	}
	sort.Slice(causes, func(i, j int) bool {
		if len(byCause[causes[i]]) != len(byCause[causes[j]]) {
			return len(byCause[causes[i]]) > len(byCause[causes[j]])
		}
		return causes[i] < causes[j]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d failing combinations in %d groups:\n", total, len(causes))
	for _, c := range causes {
		combos := byCause[c]
		sort.Strings(combos)
		fmt.Fprintf(&b, "  [%d] %s\n", len(combos), strings.ReplaceAll(c, "\n", "\n      "))
		for i, name := range combos {
			if i == 6 {
				fmt.Fprintf(&b, "      … and %d more\n", len(combos)-i)
				break
			}
			fmt.Fprintf(&b, "      %s\n", name)
		}
	}
	return b.String()
}

// comboDevice sets up the fake console's device for c.
func comboDevice(w *fakeWorld, serial string, c oracletest.Combo) *fakeDevice {
	d := w.add(serial, c.Enrollment, func(d *fakeDevice) {
		d.strict, d.lostLocksUser = true, true
		d.LostMode, d.WorkSmart = c.LostMode, c.WorkSmart
		switch c.VPP {
		case oracletest.VPPLeft:
			d.vppLicenses = 2
		case oracletest.VPPStuck:
			d.vppLicenses, d.vppStuck = 2, true
		}
		if c.Certificates {
			d.certificates = 2
		}
		switch c.User {
		case oracletest.UserLate:
			d.userAfter = comboLateAfter
		case oracletest.UserNever:
			d.userComplies = false
		}
		if c.CheckIn == oracletest.CheckInNever {
			d.checkInEvery = 0
		}
		if c.GreyedOut {
			// The device has left MDM (erased, or its user removed the MDM profile): the record is
			// greyed-out and nothing on it answers the console any more.
			d.Status, d.Profiles, d.wiped = console.StatusGreyedOut, nil, c.Wipe
		}
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !c.ADEDevice():
	case c.Apple == oracletest.AppleOther:
		w.assigned[serial] = "MDM-SERVER-OF-ANOTHER-ORG"
	case c.Apple == oracletest.AppleUnassigned:
		delete(w.assigned, serial)
	}
	return d
}

func runCombination(t *testing.T, i int, c oracletest.Combo) {
	exp := oracletest.Expect(c)
	h := newHarness(t, c.Mode)
	serial := fmt.Sprintf("COMBO%05d", i)
	comboDevice(h.world, serial, c)
	var problems []string
	var mu sync.Mutex
	problem := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, a...))
	}

	if c.Mode == oracletest.Operator {
		person := oracletest.NewPerson(h.world, serial)
		for at := comboPersonGap; at < comboStable; at += comboPersonGap {
			h.env.RegisterDelayedCallback(func() {
				st := h.status()
				outcome, ok := person.Answer(context.Background(), string(st.Current), string(st.WaitingOn), st.Choices)
				if !ok {
					return
				}
				step := st.Current
				h.env.UpdateWorkflow(contract.UpdateCompleteStep, "", &testsuite.TestUpdateCallback{
					OnReject:   func(err error) { problem("the workflow refused the operator's report %s %s: %v", step, outcome, err) },
					OnAccept:   func() {},
					OnComplete: func(any, error) {},
				}, StepReport{Step: step, By: "scripted-operator", Outcome: outcome, Note: "as CLOMO PANEL showed"})
			}, at)
		}
	}
	var settled, stable DeviceStatus
	cancelled := false
	h.env.RegisterDelayedCallback(func() { settled = h.status() }, comboSettled)
	h.env.RegisterDelayedCallback(func() {
		stable, cancelled = h.status(), true
		h.env.CancelWorkflow()
	}, comboStable)

	req := procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(c.Enrollment), Wipe: c.Wipe, WipeMethod: procedure.WipeMethod(c.Method)}
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: contract.DeviceWorkflowID(serial)})
	h.env.ExecuteWorkflow(DeviceOffboarding, DeviceInput{Request: req, ConsoleMode: c.Mode, Confirmed: true, Contact: "user@example.com", Timing: comboTiming})
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	werr := h.env.GetWorkflowError()
	final := h.status()

	obs := oracletest.Observed{RecordGone: h.world.gone(serial)}
	switch {
	case cancelled:
		obs.Outcome, obs.Party, obs.Step = oracletest.Waiting, string(stable.WaitingOn), string(stable.Current)
		if settled.Current != stable.Current || settled.WaitingOn != stable.WaitingOn {
			obs.Outcome = fmt.Sprintf("still moving after %s (%s on %s, then %s on %s)", comboSettled,
				settled.Current, settled.WaitingOn, stable.Current, stable.WaitingOn)
		}
	case werr == nil && final.Outcome == OutcomeRemoved:
		obs.Outcome = oracletest.Removed
	case final.Outcome == OutcomeRejected:
		obs.Outcome = oracletest.Rejected
		for _, s := range final.Steps {
			if s.State == StateFailed {
				obs.Step = string(s.ID)
				break
			}
		}
	default:
		obs.Outcome = final.Outcome
	}
	if werr != nil {
		obs.Error = werr.Error()
	}

	var events []oracletest.Event
	for _, e := range h.world.events(serial) {
		events = append(events, oracletest.Event{Name: e.Name, LostMode: e.LostMode, Wiped: e.Wiped})
	}
	problems = append(problems, exp.Verify(obs, events)...)
	if os.Getenv("COMBO_DEBUG") != "" {
		t.Logf("%s: %s; events %s", c, obs.Describe(), oracletest.Names(events))
	}
	if len(problems) == 0 {
		return
	}
	// The group of a failure: its violations, with the steps that never came (which differ with
	// the certificates and licenses of the path) counted as one.
	var key []string
	missing := 0
	for _, p := range problems {
		if strings.HasPrefix(p, "missing: ") {
			missing++
			continue
		}
		key = append(key, p)
	}
	if missing > 0 {
		key = append(key, "missing: steps of the page after it never happened")
	}
	cause := strings.Join(key, "\n")
	combinationsRun.Lock()
	combinationsRun.failures[cause] = append(combinationsRun.failures[cause], c.String())
	combinationsRun.Unlock()
	var steps []string
	for _, s := range final.Steps {
		steps = append(steps, string(s.ID)+":"+s.State)
	}
	t.Errorf("%s\n  expected: %s\n  observed: %s\n  %s\n  events: %s\n  steps: %s\n  rules:\n    - %s", c, exp.Describe(), obs.Describe(),
		strings.Join(problems, "\n  "), oracletest.Names(events), strings.Join(steps, " "), strings.Join(exp.Rules, "\n    - "))
}
