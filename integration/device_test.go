package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// fastTiming fits the simulator's time scale (an hour a second): polls well under a check-in.
var fastTiming = workflows.Timing{
	CheckInPoll: 300 * time.Millisecond, ConsolePoll: 200 * time.Millisecond, ApplePoll: 200 * time.Millisecond,
	CheckInDeadline: time.Minute, UserReminders: []time.Duration{5 * time.Second}, OperatorReminder: 30 * time.Second,
	// The console watcher wakes waiting devices; the safety net is short here because the suite's
	// deadline is a real minute: under -race on a shared 2-core machine a feed read was seen to lag
	// past it. TestWaitingDevicesCostTheConsoleO1 sets its own, long, to prove the watcher alone.
	SafetyNetPoll: 3 * time.Second,
}

type device struct {
	name string
	spec simulator.DeviceSpec
	req  procedure.Request
	mode string
}

// quick makes check-ins and the user fast on the simulator's clock.
func quick(spec simulator.DeviceSpec) simulator.DeviceSpec {
	spec.CheckInEvery = simulator.Duration(30 * time.Minute)
	spec.UserActsAfter = simulator.Duration(20 * time.Minute)
	return spec
}

func startDevice(t *testing.T, d device) client.WorkflowRun {
	t.Helper()
	if err := world.Sim.AddDevices(d.spec); err != nil {
		t.Fatalf("%s: add device: %v", d.name, err)
	}
	plan, err := procedure.Plan(d.req)
	if err != nil {
		t.Fatal(err)
	}
	run, err := tc.ExecuteWorkflow(context.Background(), startOptions(d.req.Serial, plan.Path), contract.DeviceWorkflowType,
		workflows.DeviceInput{Request: d.req, Confirmed: true, ConsoleMode: d.mode, Contact: "user@example.com", Timing: fastTiming})
	if err != nil {
		t.Fatalf("%s: start: %v", d.name, err)
	}
	return run
}

func startOptions(serial, path string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: contract.DeviceWorkflowID(serial), TaskQueue: contract.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            "Offboard " + serial + " (" + path + ")",
	}
}

// destructive are the kinds that must never be taken on twice for one device.
var destructive = []string{console.CmdEraseDevice, console.CmdDeleteDevice, console.CmdPurgeDevice, console.CmdRemoveProfile,
	console.CmdRemoveCertificates, console.CmdRevokeVPPLicenses, "UNASSIGN_DEVICES"}

// assertLedger proves from the simulator's ledger that no destructive command ran twice and
// nothing hazardous happened, and returns the counts for further checks.
func assertLedger(t *testing.T, serial string) map[string]int {
	t.Helper()
	entries := world.Sim.Ledger(serial)
	counts := map[string]int{}
	for _, kind := range destructive {
		n := simulator.CountLedger(entries, kind, simulator.OutcomeAccepted)
		counts[kind] = n
		if n > 1 {
			t.Errorf("%s: %s accepted %d times", serial, kind, n)
		}
	}
	for _, e := range entries {
		if e.Hazard != "" {
			t.Errorf("%s: hazard %s in the ledger: %+v", serial, e.Hazard, e)
		}
	}
	return counts
}

// Every cell of the matrix and both wipe methods, through real workers and the real server.
func TestMatrixEndToEnd(t *testing.T) {
	type cell struct {
		enrollment string
		wipe       bool
		method     procedure.WipeMethod
		want       []string // destructive kinds accepted exactly once
	}
	cells := []cell{
		{"ade-restricted", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
		{"ade", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
		{"manual", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice}},
		{"ade-restricted", true, procedure.WipeDevice, []string{console.CmdRemoveProfile, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
		{"ade", true, procedure.WipeDevice, []string{console.CmdRemoveProfile, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
		{"manual", true, procedure.WipeDevice, []string{console.CmdRemoveProfile, console.CmdPurgeDevice}},
		{"ade-restricted", false, "", []string{console.CmdRemoveProfile, console.CmdDeleteDevice, "UNASSIGN_DEVICES"}},
		{"ade", false, "", []string{console.CmdRemoveProfile, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
		{"manual", false, "", []string{console.CmdRemoveProfile, console.CmdPurgeDevice}},
	}
	runs := map[string]client.WorkflowRun{}
	names := map[string]string{}
	for i, c := range cells {
		serial := fmt.Sprintf("MTX%02dE2E%d", i, time.Now().UnixNano()%100000)
		path := procedure.PathName(c.wipe, procedure.Enrollment(c.enrollment))
		name := path
		if c.wipe {
			name += "-" + string(c.method)
		}
		names[serial] = name
		runs[serial] = startDevice(t, device{name: name, spec: quick(simulator.DeviceSpecFor(serial, c.enrollment)),
			req: procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(c.enrollment), Wipe: c.wipe, WipeMethod: c.method}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	i := 0
	for serial, run := range runs {
		c := cells[indexOf(cells, func(c cell) bool {
			return strings.HasPrefix(names[serial], procedure.PathName(c.wipe, procedure.Enrollment(c.enrollment))) &&
				(!c.wipe || strings.HasSuffix(names[serial], string(c.method)))
		})]
		i++
		var res workflows.DeviceResult
		if err := run.Get(ctx, &res); err != nil {
			t.Errorf("%s (%s): %v", serial, names[serial], err)
			continue
		}
		if res.Outcome != workflows.OutcomeRemoved {
			t.Errorf("%s: outcome %s", names[serial], res.Outcome)
		}
		if _, present := world.Sim.Device(serial); present {
			if st, _ := world.Sim.Device(serial); st.Status != "deleted" {
				t.Errorf("%s: the simulator still has the record (%s)", names[serial], st.Status)
			}
		}
		counts := assertLedger(t, serial)
		for _, kind := range c.want {
			if counts[kind] != 1 {
				t.Errorf("%s: %s accepted %d times, want 1", names[serial], kind, counts[kind])
			}
		}
		name := "path-" + strings.ReplaceAll(names[serial], "/", "-")
		saveHistory(t, run.GetID(), name)
		if c.enrollment != "manual" {
			// ADE devices reach Apple through the coordinator since apple-coordinator v1.
			saveHistory(t, run.GetID(), name+"-coordinated")
		}
		// Every device records a single version marker since lean-lifecycle v1.
		saveHistory(t, run.GetID(), name+"-lean")
		// Waits on the device are woken by the console watcher since watched-wait v1.
		saveHistory(t, run.GetID(), name+"-watched-v1")
		// Every change of 2026-12-02 together: lean-lifecycle, watched-wait, activation-lock and
		// destruction-budget (the device of the code as merged).
		saveHistory(t, run.GetID(), name+"-lean-watched")
		// One version marker again since lean-lifecycle v2, which implies the changes of 2026-12-02.
		saveHistory(t, run.GetID(), name+"-lean2")
	}
}

func indexOf[T any](s []T, f func(T) bool) int {
	for i, v := range s {
		if f(v) {
			return i
		}
	}
	panic("not found")
}

// A device already being offboarded is never started twice.
func TestDuplicateStartIsRefused(t *testing.T) {
	serial := fmt.Sprintf("DUP%d", time.Now().UnixNano()%1000000)
	spec := simulator.DeviceSpecFor(serial, "manual")
	spec.CheckInEvery = simulator.Never
	run := startDevice(t, device{name: "first", spec: spec, req: procedure.Request{Serial: serial, Enrollment: procedure.Manual, Wipe: true}})
	defer func() { _ = tc.CancelWorkflow(context.Background(), run.GetID(), "") }()
	_, err := tc.ExecuteWorkflow(context.Background(), startOptions(serial, "wipe/manual"), contract.DeviceWorkflowType,
		workflows.DeviceInput{Request: procedure.Request{Serial: serial, Enrollment: procedure.Manual, Wipe: true}, Confirmed: true})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &already) {
		t.Fatalf("second start of %s: %v, want WorkflowExecutionAlreadyStarted", serial, err)
	}
}

// saveHistory writes a finished workflow's history for the replay test when -update-histories is
// set and no history of that name is committed yet.
func saveHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	if !*updateHistories {
		return
	}
	// A committed history is a promise to running workflows: it is written once and never
	// re-recorded. A change to a workflow's commands goes behind workflow.GetVersion and gets a
	// history of its own, under a new name.
	file := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if _, err := os.Stat(file); err == nil {
		t.Logf("history %s is committed already: kept as it is (never re-recorded)", file)
		return
	}
	iter := tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "workflows", "testdata", "histories")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
