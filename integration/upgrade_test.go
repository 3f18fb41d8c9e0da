package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/offboard/offboard/integration/upgradebuild"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/logging"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// upgradeQueue is the task queue of this test's devices: only the two builds' worker processes
// poll it for workflow tasks. Their activities run on the product's queues, on the suite's workers.
const upgradeQueue = "offboard-upgrade-test"

// upgradeCase is a device of the upgrade test and what procedure.md says its path commands.
type upgradeCase struct {
	enrollment string
	wipe       bool
	method     procedure.WipeMethod
	// want are the destructive commands the path takes, each exactly once (procedure.md, the
	// matrix): §2-2 EraseDevice, §2-1 and §3-1 the profile removal, §4-1 デバイスを削除 of a managed
	// record, §4-2 デバイスの情報を完全に削除 of a greyed-out one, §5 the Apple unassign of ADE devices.
	want []string
}

// A worker upgrade in the middle of a long wait (README, "Upgrading the worker"; docs/upgrades.md):
// devices on four paths start on build A and wait on their device or its user (none checks in, no
// user acts); build A's worker process is stopped with SIGTERM; meanwhile the devices' check-ins
// and users' actions come; build B's worker process starts: the same workflow type with two changes
// behind workflow.GetVersion. Every device finishes as procedure.md prescribes, no destructive
// command is taken on twice (the simulator's ledger), no workflow task fails, and the devices
// started on build B take build B's new branch where the ones started on A had passed it.
func TestWorkerUpgradeDuringWait(t *testing.T) {
	bin := buildUpgradeWorker(t)
	address := serverHostPort
	timing := fastTiming
	// The devices wait on purpose: the check-in deadline (which hands a device to an operator) is
	// far beyond the test.
	timing.CheckInDeadline = 30 * time.Minute

	before := []upgradeCase{
		{"manual", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice}},
		{"ade-restricted", false, "", []string{console.CmdRemoveProfile, console.CmdDeleteDevice, "UNASSIGN_DEVICES"}},
		{"ade", true, procedure.WipeDevice, []string{console.CmdRemoveProfile, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
		{"manual", false, "", []string{console.CmdRemoveProfile, console.CmdPurgeDevice}},
	}
	after := []upgradeCase{
		{"ade-restricted", true, procedure.WipeConsole, []string{console.CmdEraseDevice, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
		{"ade", false, "", []string{console.CmdRemoveProfile, console.CmdPurgeDevice, "UNASSIGN_DEVICES"}},
	}
	prefix := fmt.Sprintf("UPG%05d", time.Now().UnixNano()%100000)
	cases := map[string]upgradeCase{}
	start := func(i int, c upgradeCase) string {
		serial := fmt.Sprintf("%sD%d", prefix, i)
		cases[serial] = c
		spec := simulator.DeviceSpecFor(serial, c.enrollment)
		spec.CheckInEvery, spec.UserActsAfter = simulator.Never, simulator.Never // the test says when
		if err := world.Sim.AddDevices(spec); err != nil {
			t.Fatal(err)
		}
		req := procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(c.enrollment), Wipe: c.wipe, WipeMethod: c.method}
		plan, err := procedure.Plan(req)
		if err != nil {
			t.Fatal(err)
		}
		opts := workflows.DeviceStartOptions(serial, plan.Path)
		opts.TaskQueue = upgradeQueue
		_, err = tc.ExecuteWorkflow(context.Background(), opts, contract.DeviceWorkflowType,
			workflows.DeviceInput{Request: req, Confirmed: true, Contact: "user@example.com", Timing: timing, RequestedBy: "upgrade test"})
		if err != nil {
			t.Fatalf("%s: start: %v", serial, err)
		}
		return serial
	}

	a := startUpgradeWorker(t, bin, "a", address)
	var old []string
	for i, c := range before {
		old = append(old, start(i, c))
	}
	// Each device reaches its long wait on build A: waiting on its device's check-in or its user.
	waiting := map[string]workflows.DeviceStatus{}
	for _, serial := range old {
		waiting[serial] = waitOnDevice(t, serial, time.Minute)
	}
	for serial, st := range waiting {
		t.Logf("build A: %s (%s) waits on %s at %s", serial, st.Path, st.WaitingOn, st.Current)
	}
	// The histories as build A left them, for the replay check below.
	histories := map[string]*historypb.History{}
	for _, serial := range old {
		histories[serial] = history(t, contract.DeviceWorkflowID(serial))
	}

	a.stop(t)
	// While no build runs, the devices check in and the users act: what they report waits in the
	// devices' histories for the next build.
	drive := func(serials []string) {
		for _, serial := range serials {
			st, ok := world.Sim.Device(serial)
			if !ok || st.Status == "deleted" {
				continue
			}
			_ = world.Sim.CheckIn(serial)
		}
	}
	drive(old)

	b := startUpgradeWorker(t, bin, "b", address)
	defer b.stop(t)
	var fresh []string
	for i, c := range after {
		fresh = append(fresh, start(len(before)+i, c))
	}
	all := append(slices.Clone(old), fresh...)

	// The devices and their users, from now on as prompt as the simulator's defaults: a check-in
	// every few hundred milliseconds (half an hour simulated), the user acting when asked.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			for _, serial := range all {
				if d, ok := world.Sim.Device(serial); !ok || d.Status == "deleted" {
					continue // the console is done with it
				}
				// A user acts once told: the step that sends them the message is done.
				st, err := queryStatus(serial)
				for _, step := range st.Steps {
					if err == nil && step.State == workflows.StateDone {
						switch step.ID {
						case procedure.UserWipe:
							_, _ = world.Sim.UserAction(serial, "wipe")
						case procedure.UserRemoveMDMProfile:
							_, _ = world.Sim.UserAction(serial, "remove-mdm-profile")
						}
					}
				}
			}
			drive(all)
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	})
	defer wg.Wait()
	defer cancel()

	for _, serial := range all {
		c := cases[serial]
		var res workflows.DeviceResult
		if err := tc.GetWorkflow(ctx, contract.DeviceWorkflowID(serial), "").Get(ctx, &res); err != nil {
			t.Errorf("%s (%s): %v", serial, c.enrollment, err)
			continue
		}
		if res.Outcome != workflows.OutcomeRemoved {
			t.Errorf("%s (%s): outcome %s, want removed", serial, res.Path, res.Outcome)
		}
		counts := assertLedger(t, serial)
		for _, kind := range c.want {
			if counts[kind] != 1 {
				t.Errorf("%s (%s): %s accepted %d times, want exactly once", serial, res.Path, kind, counts[kind])
			}
		}
		if !c.wipe && counts[console.CmdEraseDevice] != 0 {
			t.Errorf("%s (%s): a keep path erased the device", serial, res.Path)
		}
		if st, ok := world.Sim.Device(serial); ok && st.Status != "deleted" {
			t.Errorf("%s (%s): the simulator still has the record (%s)", serial, res.Path, st.Status)
		}
	}
	cancel()

	// Which build ran what: a device started on A replayed past build B's first change (no marker,
	// no new activity) and took the second; a device started on B took both. No workflow task of
	// any device failed (a non-determinism error is one).
	for _, serial := range all {
		h := history(t, contract.DeviceWorkflowID(serial))
		wantIntake := slices.Contains(fresh, serial)
		markers, marks, failed := readUpgradeHistory(t, h)
		if failed != "" {
			t.Errorf("%s: a workflow task failed: %s", serial, failed)
		}
		if got := markers[upgradebuild.ChangeIntake]; wantIntake != (got == 1) || (!wantIntake && got != -1) {
			t.Errorf("%s: change %s recorded as %d, want %s", serial, upgradebuild.ChangeIntake, got, map[bool]string{true: "version 1 (started on build B)", false: "no marker (started on build A)"}[wantIntake])
		}
		if got := markers[upgradebuild.ChangeAfterWait]; got != 1 {
			t.Errorf("%s: change %s recorded as %d, want version 1 (every device reached it on build B)", serial, upgradebuild.ChangeAfterWait, got)
		}
		want := []string{upgradebuild.MarkAfterWait}
		if wantIntake {
			want = []string{upgradebuild.MarkIntake, upgradebuild.MarkAfterWait}
		}
		if !slices.Equal(marks, want) {
			t.Errorf("%s: build B's activity ran for %v, want %v", serial, marks, want)
		}
	}
	b.stop(t)
	for _, w := range []*upgradeWorker{a, b} {
		if bad := w.logProblems(); bad != "" {
			t.Errorf("build %s's worker logged:\n%s", w.build, bad)
		}
	}

	// The guard is what made the upgrade safe: build A's histories at the wait replay on build B,
	// and on a build B without the GetVersion around its first change they do not.
	unguarded := func(ctx workflow.Context, in workflows.DeviceInput) (workflows.DeviceResult, error) {
		opts := workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second}
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), upgradebuild.MarkActivity, in.Request.Serial, upgradebuild.MarkIntake).Get(ctx, nil); err != nil {
			return workflows.DeviceResult{}, err
		}
		return workflows.DeviceOffboarding(ctx, in)
	}
	for _, serial := range old {
		if err := replayOn(upgradebuild.BuildB, serial, histories[serial]); err != nil {
			t.Errorf("%s: build A's history does not replay on build B: %v", serial, err)
		}
		if err := replayOn(unguarded, serial, histories[serial]); err == nil {
			t.Errorf("%s: build A's history replays on an unguarded build B too: the test proves nothing", serial)
		} else if !strings.Contains(err.Error(), "[TMPRL1100]") { // the SDK's code of a non-determinism error
			t.Errorf("%s: unguarded build B failed otherwise than by non-determinism: %v", serial, err)
		}
	}
}

// waitOnDevice polls the status query until the device waits on its device or its user, twice in
// a row (a wait, not a passing step).
func waitOnDevice(t *testing.T, serial string, within time.Duration) workflows.DeviceStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	seen := 0
	for {
		st, err := queryStatus(serial)
		if err == nil && st.WaitingOn == procedure.PartyDevice && st.Current != "" {
			if seen++; seen == 2 {
				return st
			}
		} else {
			seen = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never waited on its device: now %s on %s (%v)", serial, st.Current, st.WaitingOn, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func history(t *testing.T, workflowID string) *historypb.History {
	t.Helper()
	iter := tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// readUpgradeHistory returns the version each of build B's changes recorded (-1: no marker), the
// changes build B's activity was scheduled for, in order, and the first workflow task failure.
func readUpgradeHistory(t *testing.T, h *historypb.History) (markers map[string]int, marks []string, failed string) {
	t.Helper()
	markers = map[string]int{upgradebuild.ChangeIntake: -1, upgradebuild.ChangeAfterWait: -1}
	dc := converter.GetDefaultDataConverter()
	for _, e := range h.GetEvents() {
		if a := e.GetMarkerRecordedEventAttributes(); a != nil && a.GetMarkerName() == "Version" {
			var id string
			var version int
			if err := dc.FromPayloads(a.GetDetails()["change-id"], &id); err != nil {
				t.Fatalf("version marker: %v", err)
			}
			if err := dc.FromPayloads(a.GetDetails()["version"], &version); err != nil {
				t.Fatalf("version marker: %v", err)
			}
			if _, ours := markers[id]; ours {
				markers[id] = version
			}
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == upgradebuild.MarkActivity {
			var serial, change string
			if err := dc.FromPayloads(a.GetInput(), &serial, &change); err != nil {
				t.Fatalf("%s input: %v", upgradebuild.MarkActivity, err)
			}
			marks = append(marks, change)
		}
		// UNHANDLED_COMMAND is the server refusing a completion because new events came meanwhile (a
		// signal as the workflow completes): the SDK runs the task again. Any other cause is the code.
		if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil && failed == "" &&
			a.GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
			failed = fmt.Sprintf("event %d: %s: %s", e.GetEventId(), a.GetCause(), a.GetFailure().GetMessage())
		}
	}
	return markers, marks, failed
}

// replayOn replays a device's history on a build's workflow function, under the device's
// workflow ID (the workflow checks it is offboard-<SERIAL>).
func replayOn(fn any, serial string, h *historypb.History) error {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: contract.DeviceWorkflowType})
	run := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()
	return r.ReplayWorkflowHistoryWithOptions(logging.NewTemporalLogger(zap.NewNop()), h, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: contract.DeviceWorkflowID(serial), RunID: run}})
}

// upgradeWorker is a worker process of one build (./upgradebuild/worker).
type upgradeWorker struct {
	build string
	cmd   *exec.Cmd
	out   *bytes.Buffer
	mu    *sync.Mutex
	done  chan error
}

// buildUpgradeWorker compiles the builds' worker program once.
func buildUpgradeWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "upgrade-worker")
	if out, err := exec.Command("go", "build", "-o", bin, "./upgradebuild/worker").CombinedOutput(); err != nil {
		t.Fatalf("build the upgrade worker: %v\n%s", err, out)
	}
	return bin
}

func startUpgradeWorker(t *testing.T, bin, build, address string) *upgradeWorker {
	t.Helper()
	w := &upgradeWorker{build: build, out: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	w.cmd = exec.Command(bin, "-build", build, "-address", address, "-namespace", namespaceOf(), "-task-queue", upgradeQueue)
	w.cmd.Stdout, w.cmd.Stderr = lockedWriter{w}, lockedWriter{w}
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start build %s: %v", build, err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill()
		}
	})
	return w
}

type lockedWriter struct{ w *upgradeWorker }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	return l.w.out.Write(p)
}

// stop sends SIGTERM, as a rollout stops a worker, and waits for the process to exit.
func (w *upgradeWorker) stop(t *testing.T) {
	t.Helper()
	if w.done == nil {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Errorf("build %s: %v", w.build, err)
		}
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		t.Errorf("build %s's worker did not stop within 30 s of SIGTERM", w.build)
	}
	w.done = nil
}

// workerProblems are lines of the SDK's log that mean a workflow task could not be processed.
var workerProblems = regexp.MustCompile(`(?i)panic|nondetermin|failed to process workflow task|workflow task.*fail`)

func (w *upgradeWorker) logProblems() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var bad []string
	for _, line := range strings.Split(w.out.String(), "\n") {
		if workerProblems.MatchString(line) {
			bad = append(bad, line)
		}
	}
	return strings.Join(bad, "\n")
}

// namespaceOf is the suite's namespace: the dev server's default, or the cluster's.
func namespaceOf() string {
	if ns := os.Getenv("OFFBOARD_TEST_TEMPORAL_NAMESPACE"); ns != "" && serverAddress != "" {
		return ns
	}
	return "default"
}
