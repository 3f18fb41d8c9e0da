package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/offboard/offboard/workflows"
)

const fleetCSV = `serial,enrollment,wipe,wipe_method,options,contact,confirm
F2LXK0A1HG7J,ade-restricted,yes,console,,taro@example.com,mar-2026
C39J8W1H3VG5,ade,no,,,hanako@example.com,
,manual,no,,,jiro@example.com,
DMPXK0A1HG7K,manual,yes,console,,jiro@example.com,
`

func writeFleet(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mar-2026.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fleetCLI(stdin string, dial func(context.Context) (client.Client, error)) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errs bytes.Buffer
	if dial == nil {
		dial = func(context.Context) (client.Client, error) { panic("no Temporal call expected") }
	}
	return &cli{stdout: &out, stderr: &errs, stdin: strings.NewReader(stdin), dial: dial}, &out, &errs
}

// A bad row stops the whole fleet, and every bad row is listed with its line.
func TestFleetStartRefusesAFileWithBadRows(t *testing.T) {
	c, _, errs := fleetCLI("", nil)
	err := c.run(context.Background(), []string{"fleet", "start", "--file", writeFleet(t, fleetCSV)})
	if err == nil || !strings.Contains(err.Error(), "2 bad row(s)") || !strings.Contains(err.Error(), "nothing started") {
		t.Fatalf("error %v: want 2 bad rows, nothing started", err)
	}
	for _, want := range []string{"line 4: missing serial", "line 5 (DMPXK0A1HG7K): a wipe without the fleet's typed confirmation"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs.String())
		}
	}
}

// --skip-invalid starts the valid rows after the typed fleet ID, and lists the rest.
func TestFleetStartSkipsInvalidRowsAfterTheTypedConfirmation(t *testing.T) {
	tc := mocks.NewClient(t)
	var in workflows.FleetInput
	var opts client.StartWorkflowOptions
	run := mocks.NewWorkflowRun(t)
	run.On("GetID").Return("fleet-mar-2026")
	run.On("GetRunID").Return("r1")
	tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, contract.FleetWorkflowType, mock.Anything).
		Run(func(args mock.Arguments) {
			opts = args.Get(1).(client.StartWorkflowOptions)
			in = args.Get(3).(workflows.FleetInput)
		}).Return(run, nil)
	tc.On("Close").Return()
	c, out, errs := fleetCLI("mar-2026\n", func(context.Context) (client.Client, error) { return tc, nil })
	err := c.run(context.Background(), []string{"fleet", "start", "--file", writeFleet(t, fleetCSV), "--skip-invalid", "--window", "7"})
	if err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	if opts.ID != "fleet-mar-2026" || opts.TaskQueue != contract.TaskQueue {
		t.Errorf("started %s on %s", opts.ID, opts.TaskQueue)
	}
	if in.FleetID != "mar-2026" || in.Window != 7 || !in.Confirmed || len(in.Devices) != 2 || in.Devices[0].Line != 2 || in.Devices[1].Line != 3 {
		t.Errorf("fleet input %+v", in)
	}
	if !strings.Contains(errs.String(), "2 bad row(s) not started") || !strings.Contains(out.String(), "starter fleet watch mar-2026") {
		t.Errorf("stderr:\n%s\nstdout:\n%s", errs.String(), out.String())
	}
}

// A wrong typed ID starts nothing.
func TestFleetStartNeedsTheFleetIDTyped(t *testing.T) {
	c, _, _ := fleetCLI("yes\n", nil)
	err := c.run(context.Background(), []string{"fleet", "start", "--file", writeFleet(t, fleetCSV), "--skip-invalid"})
	if err == nil || !strings.Contains(err.Error(), "not confirmed") {
		t.Fatalf("error %v, want not confirmed", err)
	}
}

func TestPrintProgress(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	eta := now.Add(10 * time.Minute)
	p := workflows.FleetProgress{FleetID: "mar-2026", State: workflows.FleetRunning, Total: 10, Finished: 5, Window: 4, PerMinute: 0.5, ETA: &eta,
		ByState:    map[string]int{"pending": 2, "running": 3, "removed": 4, "conflict": 1},
		ByStep:     map[string]int{"await-greyed-out": 2, "delete-greyed-out-record": 1},
		NeedPerson: []workflows.FleetNote{{Serial: "F2LXK0A1HG7J", Outcome: "conflict", Detail: "runs already"}}}
	var b bytes.Buffer
	printProgress(&b, p, now)
	for _, want := range []string{"[####################....................] 5/10 (50%)", "pending 2, running 3, removed 4, conflict 1",
		"await-greyed-out 2", "F2LXK0A1HG7J", "in 10m0s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, b.String())
		}
	}
}

// A fleet report names a device still locked to a personal Apple Account as not reusable, in the
// table and the CSV, and never as "yes".
func TestFleetReportSaysWhetherADeviceCanBeReused(t *testing.T) {
	rows := []reportRow{
		{Line: 1, Serial: "LOCKED01", Outcome: "removed", Reusable: workflows.ReusableLabel(&workflows.ActivationLockState{LockType: "USER", IsLocked: true})},
		{Line: 2, Serial: "FREE0002", Outcome: "removed", Reusable: workflows.ReusableLabel(&workflows.ActivationLockState{LockType: "NONE", Reusable: true})},
	}
	var table, csv strings.Builder
	printReport(&table, rows)
	if err := writeReportCSV(&csv, rows); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "csv": csv.String()} {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "LOCKED01") && (!strings.Contains(line, "no (Activation Lock USER)") || strings.Contains(line, "yes")) {
				t.Errorf("%s: the locked device's line %q should say it is not reusable", name, line)
			}
			if strings.Contains(line, "FREE0002") && !strings.Contains(line, "yes") {
				t.Errorf("%s: the unlocked device's line %q should say it is reusable", name, line)
			}
		}
	}
}
