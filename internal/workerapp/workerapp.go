// Package workerapp wires the worker: it builds the outside clients from the configuration and
// runs one Temporal worker per task queue (offboarding, clomo-console, apple-business), so each
// outside system has a server-side rate limit that holds across any number of worker processes.
// The worker binary, the integration tests and the benchmarks all start workers through it.
package workerapp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/metrics"
	"github.com/offboard/offboard/internal/notify"
	"github.com/offboard/offboard/internal/temporalclient"
	"github.com/offboard/offboard/workflows"
)

// Activities are the activity structs a worker registers.
type Activities struct {
	Console *activities.Console
	Apple   *activities.Apple
	Notify  *activities.Notify
	Worker  *activities.Worker
	// Fleet reads visibility for a fleet's progress; Start gives it the worker's client when nil.
	Fleet *activities.Fleet
	// Evidence writes the retirement records (EVIDENCE_DIR, EVIDENCE_SIGNING_KEY_FILE).
	Evidence *activities.Evidence
}

// NewActivities builds the clients named by the configuration.
func NewActivities(cfg config.Worker, logger *zap.Logger) (Activities, error) {
	httpClient := &http.Client{Timeout: 20 * time.Second}
	acts := Activities{
		Console: &activities.Console{},
		Apple:   &activities.Apple{ServerID: cfg.Apple.ServerID},
		Worker: &activities.Worker{Info: activities.WorkerInfo{ConsoleMode: cfg.Console.Mode, AppleConfigured: cfg.Apple.Configured(),
			AppleServerID: cfg.Apple.ServerID, AppleOrg: cfg.Apple.ClientID,
			AppleGetPerMinute: cfg.Apple.GetPerMinute, ApplePostPerHour: cfg.Apple.PostPerHour, AppleBudgetTimeScale: cfg.Apple.BudgetTimeScale,
			ActivationLockHold: cfg.Apple.ActivationLockHold, FleetApprovalWipes: cfg.FleetApprovalWipes,
			ConsoleID: consoleID(cfg.Console.URL), DestructiveBudget: cfg.Destructive.Budget, DestructiveBudgetWindow: cfg.Destructive.BudgetWindow,
			ConsoleSafetyNetPoll: cfg.Console.SafetyNetPoll}},
	}
	if cfg.Console.URL != "" {
		c, err := console.New(console.Config{BaseURL: cfg.Console.URL, Token: cfg.Console.Token, HTTPClient: httpClient, UserAgent: "offboard-worker"})
		if err != nil {
			return Activities{}, fmt.Errorf("console client: %w", err)
		}
		acts.Console.API = c
		acts.Worker.Info.ConsoleWatcher = workflows.ConsoleWatcherWorkflowID(cfg.Console.URL)
	}
	if cfg.Apple.Configured() {
		key, err := applebusiness.LoadPrivateKey(cfg.Apple.PrivateKeyFile)
		if err != nil {
			return Activities{}, err
		}
		c, err := applebusiness.New(applebusiness.Config{ClientID: cfg.Apple.ClientID, KeyID: cfg.Apple.KeyID, PrivateKey: key,
			ServerID: cfg.Apple.ServerID, APIBaseURL: cfg.Apple.APIURL, TokenURL: cfg.Apple.TokenURL, HTTPClient: httpClient})
		if err != nil {
			return Activities{}, fmt.Errorf("apple business client: %w", err)
		}
		acts.Apple.API = c
	}
	notifiers := []notify.Notifier{notify.NewLog(logger)}
	if cfg.Notify.WebhookURL != "" {
		notifiers = append(notifiers, notify.NewWebhook(cfg.Notify.WebhookURL, httpClient))
	}
	if cfg.Notify.SMTPHost != "" {
		smtp := notify.SMTPConfig{Host: cfg.Notify.SMTPHost, Port: cfg.Notify.SMTPPort,
			Username: cfg.Notify.SMTPUsername, Password: cfg.Notify.SMTPPassword, From: cfg.Notify.SMTPFrom}
		if cfg.Notify.OperatorEmail != "" {
			smtp.To = []string{cfg.Notify.OperatorEmail}
		}
		notifiers = append(notifiers, notify.NewSMTP(smtp))
	}
	acts.Notify = &activities.Notify{Notifier: notify.Multi(notifiers...)}
	ev, err := newEvidence(cfg.Evidence, logger)
	if err != nil {
		return Activities{}, err
	}
	acts.Evidence = ev
	return acts, nil
}

// consoleID names a console by its URL's host and path (never its user info or query, which may
// carry a credential): every worker of one console shares one destruction budget.
func consoleID(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host) + strings.TrimSuffix(u.Path, "/")
}

// newEvidence opens the evidence archive and loads its signing key; without a key the records
// are written unsigned (verify reports each), and the worker says so at start.
func newEvidence(cfg config.Evidence, logger *zap.Logger) (*activities.Evidence, error) {
	archive, err := evidence.Open(cfg.Dir)
	if err != nil {
		return nil, err
	}
	ev := &activities.Evidence{Archive: archive}
	if cfg.SigningKeyFile == "" {
		if logger != nil {
			logger.Warn("EVIDENCE_SIGNING_KEY_FILE is not set: retirement records are written unsigned, and starter evidence verify reports each")
		}
		return ev, nil
	}
	if ev.Signer, err = evidence.LoadSigner(cfg.SigningKeyFile); err != nil {
		return nil, err
	}
	return ev, nil
}

// Options tune the workers.
type Options struct {
	ConsoleRate                float64 // console activities per second, across every worker
	AppleRate                  float64 // Apple Business activities per second, across every worker
	MaxConcurrentActivities    int
	MaxConcurrentWorkflowTasks int
	WorkflowTaskPollers        int // 0: the SDK's default
	ActivityTaskPollers        int // 0: the SDK's default
	PollerAutoscaling          bool
	// WorkflowCacheSize bounds the process's cache of workflows (the SDK's sticky cache, shared by
	// every worker of the process and sized when the first one starts); 0: the SDK's 10,000.
	WorkflowCacheSize int
}

// OptionsFrom reads the worker options from the configuration.
func OptionsFrom(cfg config.Worker) Options {
	return Options{ConsoleRate: cfg.Console.RateLimit, AppleRate: cfg.Apple.RateLimit,
		MaxConcurrentActivities: cfg.MaxConcurrentActivities, MaxConcurrentWorkflowTasks: cfg.MaxConcurrentWorkflowTasks,
		WorkflowTaskPollers: cfg.WorkflowTaskPollers, ActivityTaskPollers: cfg.ActivityTaskPollers, PollerAutoscaling: cfg.PollerAutoscaling,
		WorkflowCacheSize: cfg.WorkflowCacheSize}
}

// Register adds the workflows and the activities of the offboarding queue to w: one device, the
// fleet, the fleet's device list and the Apple Business unassign batcher.
func Register(w worker.Registry, acts Activities) {
	w.RegisterWorkflow(workflows.DeviceOffboarding)
	w.RegisterWorkflow(workflows.FleetRetirement)
	w.RegisterWorkflow(workflows.FleetDeviceList)
	// The batcher runs on BatcherTaskQueue; registered here too, a batcher that an earlier version
	// started on this queue runs on.
	w.RegisterWorkflow(workflows.AppleUnassignBatcher)
	w.RegisterActivity(acts.Notify)
	w.RegisterActivity(acts.Worker)
	if acts.Fleet != nil {
		w.RegisterActivity(acts.Fleet)
	}
	if acts.Evidence != nil {
		w.RegisterActivity(acts.Evidence)
	}
}

// QueueOptions are the worker options of each task queue: the outside systems' queues carry
// their server-side rate limit (TaskQueueActivitiesPerSecond holds across every worker process).
func QueueOptions(opts Options) map[string]worker.Options {
	q := map[string]worker.Options{
		contract.TaskQueue: {
			MaxConcurrentActivityExecutionSize:     opts.MaxConcurrentActivities,
			MaxConcurrentWorkflowTaskExecutionSize: opts.MaxConcurrentWorkflowTasks,
		},
		contract.ConsoleTaskQueue: {TaskQueueActivitiesPerSecond: opts.ConsoleRate, MaxConcurrentActivityExecutionSize: opts.MaxConcurrentActivities},
		contract.AppleTaskQueue:   {TaskQueueActivitiesPerSecond: opts.AppleRate, MaxConcurrentActivityExecutionSize: opts.MaxConcurrentActivities},
		// One workflow (the batcher) and its answers (activities.Signals).
		contract.BatcherTaskQueue: {MaxConcurrentWorkflowTaskExecutionSize: 2, MaxConcurrentActivityExecutionSize: 4},
	}
	for name, o := range q {
		if name != contract.BatcherTaskQueue {
			ApplyPollers(&o, opts)
		}
		q[name] = o
	}
	return q
}

// ApplyPollers sets a worker's pollers from the options: a fixed number of each kind, or, with
// PollerAutoscaling, the SDK's autoscaling pollers, which keep a poll open on the normal queue
// even while the sticky queue has a backlog (fixed pollers then poll only the sticky queue, and a
// new workflow's first task waits until the backlog is gone).
func ApplyPollers(w *worker.Options, opts Options) {
	if opts.PollerAutoscaling {
		w.WorkflowTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
			MaximumNumberOfPollers: max(opts.WorkflowTaskPollers, 2) * 4})
		w.ActivityTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
			MaximumNumberOfPollers: max(opts.ActivityTaskPollers, 2) * 4})
		return
	}
	w.MaxConcurrentWorkflowTaskPollers = opts.WorkflowTaskPollers
	w.MaxConcurrentActivityTaskPollers = opts.ActivityTaskPollers
}

// Start starts the four workers (offboarding, clomo-console, apple-business, offboarding-batcher) and returns a function that stops them.
func Start(c client.Client, acts Activities, opts Options) (stop func(), err error) {
	if acts.Fleet == nil {
		acts.Fleet = &activities.Fleet{Client: c}
	}
	if opts.WorkflowCacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(opts.WorkflowCacheSize)
	}
	qo := QueueOptions(opts)
	main := worker.New(c, contract.TaskQueue, qo[contract.TaskQueue])
	Register(main, acts)
	consoleW := worker.New(c, contract.ConsoleTaskQueue, qo[contract.ConsoleTaskQueue])
	consoleW.RegisterActivity(acts.Console)
	appleW := worker.New(c, contract.AppleTaskQueue, qo[contract.AppleTaskQueue])
	appleW.RegisterActivity(acts.Apple)
	batcherW := worker.New(c, contract.BatcherTaskQueue, qo[contract.BatcherTaskQueue])
	batcherW.RegisterWorkflow(workflows.AppleUnassignBatcher)
	batcherW.RegisterWorkflow(workflows.AppleCoordinator)
	batcherW.RegisterWorkflow(workflows.DestructionBudget)
	batcherW.RegisterWorkflow(workflows.ConsoleWatcher)
	batcherW.RegisterActivity(&activities.Signals{Sender: c, Lister: c})
	started := []worker.Worker{}
	stop = func() {
		for _, w := range started {
			w.Stop()
		}
	}
	for _, w := range []worker.Worker{main, consoleW, appleW, batcherW} {
		if err := w.Start(); err != nil {
			stop()
			return nil, err
		}
		started = append(started, w)
	}
	return stop, nil
}

// StartMetrics starts the metrics server at cfg.MetricsAddr (docs/metrics.md); nil when that is
// unset (metrics off).
func StartMetrics(cfg config.Worker, logger *zap.Logger) (*metrics.Server, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	m, err := metrics.Start(cfg.MetricsAddr, logger)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on WORKER_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
	}
	return m, nil
}

// Dial connects to Temporal as temporalclient.Dial does, reporting the SDK's metrics (and, through
// the workers built on the client, the workflows' and activities') to m when it is not nil.
func Dial(ctx context.Context, cfg config.Temporal, logger log.Logger, m *metrics.Server) (client.Client, error) {
	opts, err := temporalclient.Options(cfg, logger)
	if err != nil {
		return nil, err
	}
	if m != nil {
		opts.MetricsHandler = m.Handler()
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("temporal: cannot reach %s (namespace %s): %w", cfg.Address, cfg.Namespace, err)
	}
	return c, nil
}

// WatchDevices sets m's fleet gauges from visibility until ctx ends (metrics.DeviceWatcher); it
// does nothing when m is nil.
func WatchDevices(ctx context.Context, c client.Client, m *metrics.Server, logger *zap.Logger, every time.Duration) {
	if m == nil {
		return
	}
	(&metrics.DeviceWatcher{Client: c, Handler: m.Handler(), Logger: logger, Every: every}).Run(ctx)
}
