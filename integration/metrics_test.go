package integration

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/metrics"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/internal/stack"
	"github.com/offboard/offboard/internal/workerapp"
	"github.com/offboard/offboard/workflows"
)

// TestMetricsAfterADeviceRuns runs workers with metrics on (wired as the worker binary wires them:
// workerapp.StartMetrics, Dial with the handler, WatchDevices) on a dev server of their own (the
// shared server's workers, without metrics, poll the same task queues), and scrapes /metrics over
// HTTP: while one device waits on an operator, the fleet gauges show it waiting, with its age;
// once a second device has run to its end on the automated path and the first is cancelled, the
// SDK's metrics and Offboard's are there with their labels, and no serial is.
func TestMetricsAfterADeviceRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: codecCLIPath(), ExtraArgs: codecDevServerArgs(), LogLevel: "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: quietLogger()},
	})
	if err != nil {
		t.Fatalf("start a dev server: %v", err)
	}
	defer func() { _ = srv.Stop() }()

	m, err := workerapp.StartMetrics(config.Worker{MetricsAddr: "127.0.0.1:0"}, nil)
	if err != nil || m == nil {
		t.Fatalf("start metrics: %v", err)
	}
	defer m.Close()
	c, err := workerapp.Dial(ctx, config.Temporal{Address: srv.FrontendHostPort(), Namespace: "default"}, quietLogger(), m)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := filepath.Join(t.TempDir(), "stack")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := stack.Start(stack.Options{TimeScale: 3600, Dir: dir, ReappearAfter: 14 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.StartWorkers(c); err != nil {
		t.Fatal(err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go workerapp.WatchDevices(watchCtx, c, m, nil, 200*time.Millisecond)

	path := procedure.PathName(true, procedure.ADE)
	start := func(serial, mode string) client.WorkflowRun {
		t.Helper()
		if err := st.Sim.AddDevices(quick(simulator.DeviceSpecFor(serial, "ade"))); err != nil {
			t.Fatal(err)
		}
		run, err := c.ExecuteWorkflow(ctx, startOptions(serial, path), contract.DeviceWorkflowType, workflows.DeviceInput{
			Request: procedure.Request{Serial: serial, Enrollment: procedure.ADE, Wipe: true}, Confirmed: true,
			ConsoleMode: mode, Contact: "user@example.com", Timing: fastTiming})
		if err != nil {
			t.Fatal(err)
		}
		return run
	}

	// A device in operator mode waits on a person at console-wipe: the gauges show it, aged.
	waiter := uniqueSerial("MW")
	waiterRun := start(waiter, contract.ModeOperator)
	codecWaitFor(t, c, waiter, procedure.ConsoleWipe)
	waitingOn := map[string]string{"party": string(procedure.PartyOperator), "step": string(procedure.ConsoleWipe)}
	s := scrapeUntil(t, m.URL(), "a device waiting on the operator", func(s scraped) bool {
		return s.value(metrics.DevicesWaiting, waitingOn) == 1 && s.value(metrics.DevicesWaitingOldest, waitingOn) > 0
	})
	if s.value(metrics.DevicesRunning, nil) != 1 {
		t.Errorf("%s = %v, want 1", metrics.DevicesRunning, s.value(metrics.DevicesRunning, nil))
	}

	// A device on the automated path, to its end.
	serial := uniqueSerial("MA")
	var res workflows.DeviceResult
	if err := start(serial, contract.ModeAutomated).Get(ctx, &res); err != nil || res.Outcome != workflows.OutcomeRemoved {
		t.Fatalf("%s: %v, outcome %s", serial, err, res.Outcome)
	}
	// The waiting one is cancelled: it ends, as cancelled, and stops waiting.
	if err := c.CancelWorkflow(ctx, waiterRun.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	_ = waiterRun.Get(ctx, nil)

	s = scrapeUntil(t, m.URL(), "both devices finished and no device running", func(s scraped) bool {
		return s.sum(metrics.DevicesFinished, map[string]string{"path": path}) == 2 && s.value(metrics.DevicesRunning, nil) == 0 &&
			s.value(metrics.DevicesWaiting, waitingOn) == 0
	})
	sdk := map[string]string{"workflow_type": contract.DeviceWorkflowType, "namespace": "default", "task_queue": contract.TaskQueue}
	for _, w := range []struct {
		name   string
		labels map[string]string
		least  float64
	}{
		// The SDK's own, through the tally contrib's Prometheus naming (counters end in _total).
		{"temporal_workflow_completed_total", sdk, 1},
		{"temporal_workflow_canceled_total", sdk, 1},
		{"temporal_workflow_task_execution_latency_seconds_count", sdk, 1},
		{"temporal_activity_execution_latency_seconds_count", map[string]string{"activity_type": "SendCommand", "task_queue": contract.ConsoleTaskQueue}, 2},
		// Offboard's.
		{metrics.DevicesStarted, map[string]string{"path": path, "workflow_type": contract.DeviceWorkflowType}, 2},
		{metrics.DevicesFinished, map[string]string{"path": path, "outcome": workflows.OutcomeRemoved}, 1},
		{metrics.DevicesFinished, map[string]string{"path": path, "outcome": workflows.OutcomeCancelled}, 1},
		{metrics.DeviceDuration + "_count", map[string]string{"path": path, "outcome": workflows.OutcomeRemoved}, 1},
		{metrics.StepDuration + "_count", map[string]string{"step": string(procedure.ConsoleWipe), "state": workflows.StateDone}, 1},
		{metrics.StepDuration + "_count", map[string]string{"step": string(procedure.ABMUnassign), "state": workflows.StateDone}, 1},
		{metrics.StepDuration + "_bucket", map[string]string{"step": string(procedure.ConsoleWipe), "state": workflows.StateDone, "le": "+Inf"}, 1},
		{metrics.WaitsStarted, waitingOn, 1},
		{metrics.WaitsEnded, waitingOn, 1},
		{metrics.WaitDuration + "_count", waitingOn, 1},
		{metrics.WaitDuration + "_count", map[string]string{"party": string(procedure.PartyDevice)}, 1},
		{metrics.DestructiveCommands, map[string]string{"command": "erase-device", "result": metrics.ResultOK, "activity_type": "SendCommand"}, 1},
		{metrics.DestructiveCommands, map[string]string{"command": "purge-device", "result": metrics.ResultOK}, 1},
		{metrics.AppleRequests, map[string]string{"method": "POST", "endpoint": "unassign", "result": metrics.ResultOK}, 1},
		{metrics.WatcherScans, map[string]string{"result": metrics.ResultOK}, 2},
	} {
		if got := s.sum(w.name, w.labels); got < w.least {
			t.Errorf("%s%v = %v, want at least %v", w.name, w.labels, got, w.least)
		}
	}
	// The SDK's metrics the dashboard shows are all there.
	for _, m := range metrics.SDK() {
		name := m.Name
		if m.Kind == metrics.Histogram {
			name += "_count"
		}
		if s.sum(name, nil) <= 0 {
			t.Errorf("the dashboard shows %s, which the run did not emit", name)
		}
	}
	if got := s.sum(metrics.DestructiveCommands, map[string]string{"command": "refresh-license-counts"}); got != 0 {
		t.Errorf("a refresh of licence counts is counted as destructive (%v)", got)
	}
	if s.types[metrics.StepDuration] != "histogram" || s.types[metrics.DeviceDuration] != "histogram" {
		t.Errorf("step and device durations are %q and %q, want histograms", s.types[metrics.StepDuration], s.types[metrics.DeviceDuration])
	}
	for _, personal := range []string{serial, waiter, "user@example.com"} {
		if strings.Contains(s.text, personal) {
			t.Errorf("the metrics show %q", personal)
		}
	}
}

// scraped is one scrape of /metrics in Prometheus' text format.
type scraped struct {
	text    string
	samples []sample
	types   map[string]string // # TYPE of each family
}

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// sum adds up the samples of name whose labels include want.
func (s scraped) sum(name string, want map[string]string) float64 {
	total := 0.0
	for _, x := range s.samples {
		if x.name == name && hasLabels(x.labels, want) {
			total += x.value
		}
	}
	return total
}

// value is sum for a name whose one series want picks (a gauge).
func (s scraped) value(name string, want map[string]string) float64 { return s.sum(name, want) }

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func scrapeMetrics(t *testing.T, url string) scraped {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return parseMetrics(t, string(b))
}

// parseMetrics reads the text format: `# TYPE name kind` lines and `name{k="v",...} value` lines
// (label values here hold no quote, backslash or newline).
func parseMetrics(t *testing.T, text string) scraped {
	t.Helper()
	s := scraped{text: text, types: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			s.types[f[2]] = f[3]
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		x := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			x.name, rest = line[:i], line[j+1:]
			for _, kv := range strings.Split(line[i+1:j], ",") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					x.labels[k] = strings.Trim(v, `"`)
				}
			}
		} else {
			x.name, rest, _ = strings.Cut(line, " ")
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		x.value = v
		s.samples = append(s.samples, x)
	}
	return s
}

// scrapeUntil scrapes until ok holds (tally reports every second, the watcher scans every 200 ms).
func scrapeUntil(t *testing.T, url, what string, ok func(scraped) bool) scraped {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := scrapeMetrics(t, url)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the metrics never showed %s:\n%s", what, s.text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
