package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/offboard/offboard/internal/config"
)

// The worker as its own process: make chaos kills it for real, and the waiting benchmark measures
// its memory alone (the simulator and the bench's own bookkeeping stay in the bench's process).

// buildWorker builds ./worker into dir and returns the binary's path.
func buildWorker(dir string) (string, error) {
	bin := filepath.Join(dir, "worker")
	if out, err := exec.Command("go", "build", "-o", bin, "./worker").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the worker: %v\n%s", err, out)
	}
	return bin, nil
}

// workerEnv is the environment that makes the worker binary the stack's workers: the stack's
// console, Apple, budgets, evidence and worker options, against the Temporal frontend given, and
// its metrics at metricsAddr (empty: none).
func workerEnv(cfg config.Worker, frontend, metricsAddr string) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	env := append(os.Environ(),
		"TEMPORAL_ADDRESS="+frontend, "TEMPORAL_NAMESPACE=default",
		"CONSOLE_URL="+cfg.Console.URL, "CONSOLE_TOKEN="+cfg.Console.Token, "CONSOLE_MODE=automated",
		"CONSOLE_RATE_LIMIT="+f(cfg.Console.RateLimit),
		"APPLE_CLIENT_ID="+cfg.Apple.ClientID, "APPLE_KEY_ID="+cfg.Apple.KeyID, "APPLE_PRIVATE_KEY_FILE="+cfg.Apple.PrivateKeyFile,
		"APPLE_SERVER_ID="+cfg.Apple.ServerID, "APPLE_API_URL="+cfg.Apple.APIURL, "APPLE_TOKEN_URL="+cfg.Apple.TokenURL,
		"APPLE_RATE_LIMIT="+f(cfg.Apple.RateLimit),
		// Apple's budget over the simulator's minute and hour, as the in-process workers keep it
		// (internal/stack): without it the worker keeps Apple's real hour against a simulator at 600x.
		"APPLE_GET_PER_MINUTE="+strconv.Itoa(cfg.Apple.GetPerMinute), "APPLE_POST_PER_HOUR="+strconv.Itoa(cfg.Apple.PostPerHour),
		"APPLE_BUDGET_TIME_SCALE="+f(cfg.Apple.BudgetTimeScale),
		// The stack's destruction budget (lifted): hundreds of devices wipe and delete in minutes.
		"DESTRUCTIVE_BUDGET="+strconv.Itoa(cfg.Destructive.Budget), "DESTRUCTIVE_BUDGET_WINDOW="+cfg.Destructive.BudgetWindow.String(),
		"EVIDENCE_DIR="+cfg.Evidence.Dir, "EVIDENCE_SIGNING_KEY_FILE="+cfg.Evidence.SigningKeyFile,
		"NOTIFY_WEBHOOK_URL="+cfg.Notify.WebhookURL, "LOG_LEVEL=error", "LOG_FORMAT=console",
		"WORKER_MAX_CONCURRENT_ACTIVITIES="+strconv.Itoa(cfg.MaxConcurrentActivities),
		"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS="+strconv.Itoa(cfg.MaxConcurrentWorkflowTasks),
		"WORKER_WORKFLOW_CACHE_SIZE="+strconv.Itoa(cfg.WorkflowCacheSize),
		"WORKER_WORKFLOW_TASK_POLLERS="+strconv.Itoa(cfg.WorkflowTaskPollers), "WORKER_ACTIVITY_TASK_POLLERS="+strconv.Itoa(cfg.ActivityTaskPollers),
		"WORKER_POLLER_AUTOSCALING="+strconv.FormatBool(cfg.PollerAutoscaling))
	if metricsAddr != "" {
		env = append(env, "WORKER_METRICS_ADDR="+metricsAddr)
	}
	return env
}

// workerProcess is the worker as its own process, so it can be killed for real.
type workerProcess struct {
	bin string
	env []string
	log *os.File
	mu  sync.Mutex
	cmd *exec.Cmd
}

func (w *workerProcess) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cmd := exec.Command(w.bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = w.env, w.log, w.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the bench
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the worker: %w", err)
	}
	w.cmd = cmd
	return nil
}

// kill sends SIGKILL to the worker this bench started, by its process ID, and reaps it.
func (w *workerProcess) kill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil || w.cmd.Process == nil {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	_ = w.cmd.Wait()
	w.cmd = nil
}

// pid is the running worker's process ID (0: none).
func (w *workerProcess) pid() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil || w.cmd.Process == nil {
		return 0
	}
	return w.cmd.Process.Pid
}

// scrapeActivitySlots sums the activity workers' temporal_worker_task_slots_used gauges on the
// worker's metrics endpoint (docs/metrics.md); false when it does not answer.
func scrapeActivitySlots(client *http.Client, metricsAddr string) (float64, bool) {
	resp, err := client.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "temporal_worker_task_slots_used{") || !strings.Contains(line, `worker_type="ActivityWorker"`) {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				sum, found = sum+v, true
			}
		}
	}
	return sum, found
}

// waitForMetrics waits until the worker's metrics endpoint answers (its workers have started).
func waitForMetrics(client *http.Client, metricsAddr string, within time.Duration) error {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if resp, err := client.Get("http://" + metricsAddr + "/metrics"); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("the worker's metrics at %s did not answer within %s (its log says why)", metricsAddr, within)
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
