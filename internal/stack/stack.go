// Package stack runs Offboard's embedded default in one process: the simulator on a loopback
// port and the workers, wired with the same clients and task queues as production. The
// integration tests and the benchmarks stand on it; the demo runs the same pieces as processes.
package stack

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/internal/workerapp"
)

// Options shape the stack.
type Options struct {
	// TimeScale of the simulator: simulated seconds per real second.
	TimeScale float64
	// Dir holds the Apple key and the simulator's state file; it must exist.
	Dir string
	// Logger for the workers; nil is silent.
	Logger *zap.Logger
	// ConsoleRate and AppleRate are the task-queue rate limits (per second); 0 is 1000.
	ConsoleRate, AppleRate float64
	// WorkflowTaskPollers and ActivityTaskPollers are the workers' polls per task queue (0: 2).
	WorkflowTaskPollers, ActivityTaskPollers int
	// FixedPollers turns the SDK's autoscaling pollers (the worker's default,
	// WORKER_POLLER_AUTOSCALING) off.
	FixedPollers bool
	// ReappearAfter is the simulator's (simulated) time after which a deleted, still-assigned ADE
	// device reappears; 0 keeps the simulator's default. Tests that stop workers on purpose
	// lengthen it: a stopped worker's activity waits out its timeout, many simulated hours.
	ReappearAfter time.Duration
	// AppleGetPerMinute and ApplePostPerHour are Apple's budget in simulated time (0: Apple's
	// observed 20 and 10). The simulator enforces it; the workers' Apple coordinator keeps the
	// same numbers over the same simulated minute and hour (APPLE_BUDGET_TIME_SCALE).
	AppleGetPerMinute, ApplePostPerHour int
	// FleetApprovalWipes: a fleet with more wipes waits for a second person (0: none does).
	FleetApprovalWipes int
	// DestructiveBudget and DestructiveBudgetWindow are the destruction budget of the stack's
	// console; 0 lifts it out of the way (a million in the window): the tests, the demo and the
	// bench retire hundreds of devices in minutes. The window defaults to the worker's 10 minutes.
	DestructiveBudget       int
	DestructiveBudgetWindow time.Duration
}

// Stack is a running simulator, and workers once started.
type Stack struct {
	Sim    *simulator.Simulator
	URL    string // the simulator's base URL
	cfg    config.Worker
	server *http.Server
	logger *zap.Logger
	stop   func()
}

const consoleToken = "stack-console-token"

// Start starts the simulator and prepares the worker configuration that points at it.
func Start(opts Options) (*Stack, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	key := simulator.NewTestKey()
	keyFile := filepath.Join(opts.Dir, "apple-key.pem")
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	sim, err := simulator.New(simulator.Config{
		ConsoleToken: consoleToken, AppleClientID: "BUSINESSAPI.offboard-stack", AppleKeyID: "stack-key",
		ApplePublicKey: &key.PublicKey, TimeScale: opts.TimeScale, StateFile: filepath.Join(opts.Dir, "simulator.json"),
		ReappearAfter: opts.ReappearAfter, AppleGetPerMinute: opts.AppleGetPerMinute, ApplePostPerHour: opts.ApplePostPerHour,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if opts.DestructiveBudgetWindow <= 0 {
		opts.DestructiveBudgetWindow = 10 * time.Minute
	}
	s := &Stack{Sim: sim, URL: "http://" + ln.Addr().String(), logger: opts.Logger,
		server: &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.server.Serve(ln) }()
	rate := func(v float64) float64 {
		if v <= 0 {
			return 1000
		}
		return v
	}
	evidenceKey := filepath.Join(opts.Dir, "evidence-key.pem") // the retirement records' signing key
	if _, err := os.Stat(evidenceKey); os.IsNotExist(err) {
		if _, err := evidence.GenerateKey(evidenceKey); err != nil {
			return nil, err
		}
	}
	s.cfg = config.Worker{
		Evidence: config.Evidence{Dir: filepath.Join(opts.Dir, "evidence"), SigningKeyFile: evidenceKey},
		Console:  config.Console{URL: s.URL, Token: consoleToken, Mode: config.ConsoleModeAutomated, RateLimit: rate(opts.ConsoleRate)},
		Apple: config.Apple{ClientID: "BUSINESSAPI.offboard-stack", KeyID: "stack-key", PrivateKeyFile: keyFile, ServerID: simulator.DefaultAppleServerID,
			APIURL: s.URL, TokenURL: s.URL + "/auth/oauth2/token", RateLimit: rate(opts.AppleRate),
			GetPerMinute: orDefault(opts.AppleGetPerMinute, simulator.DefaultAppleGetPerMinute),
			PostPerHour:  orDefault(opts.ApplePostPerHour, simulator.DefaultApplePostPerHour),
			// The simulator counts Apple's minute and hour in its own time: so does the coordinator.
			BudgetTimeScale: max(opts.TimeScale, 1)},
		Notify:                     config.Notify{WebhookURL: s.URL + "/sim/user-inbox"},
		Destructive:                config.Destructive{Budget: orDefault(opts.DestructiveBudget, 1_000_000), BudgetWindow: opts.DestructiveBudgetWindow},
		MaxConcurrentActivities:    500,
		MaxConcurrentWorkflowTasks: 200,
		WorkflowCacheSize:          1000,
		WorkflowTaskPollers:        max(opts.WorkflowTaskPollers, 2),
		ActivityTaskPollers:        max(opts.ActivityTaskPollers, 2),
		PollerAutoscaling:          !opts.FixedPollers,
		FleetApprovalWipes:         opts.FleetApprovalWipes,
	}
	return s, nil
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// WorkerConfig is the configuration the workers use (and the demo prints as environment).
func (s *Stack) WorkerConfig() config.Worker { return s.cfg }

// PrivateKey returns nothing secret to callers: the key stays in its file. Key is for tests
// that build their own Apple client against the simulator.
func (s *Stack) Key() (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(s.cfg.Apple.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("no PEM block in %s", s.cfg.Apple.PrivateKeyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(*ecdsa.PrivateKey), nil
}

// StartWorkers starts the workers on c; StopWorkers stops them (a worker restart is both).
func (s *Stack) StartWorkers(c client.Client) error {
	acts, err := workerapp.NewActivities(s.cfg, s.logger)
	if err != nil {
		return err
	}
	stop, err := workerapp.Start(c, acts, workerapp.OptionsFrom(s.cfg))
	if err != nil {
		return err
	}
	s.stop = stop
	return nil
}

// StopWorkers stops the workers started by StartWorkers.
func (s *Stack) StopWorkers() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Close stops the workers and the simulator.
func (s *Stack) Close() error {
	s.StopWorkers()
	_ = s.server.Close()
	return s.Sim.Close()
}
