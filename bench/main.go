// The benchmark (make bench): a fleet retirement measured against the engine's own limit. It starts
// a Temporal dev server (bin/temporal) and, in this process, the simulator and the workers
// (internal/stack), then measures in the same run, for each fleet size:
//
//   - the engine's floor: the same number of child workflows in the same sliding window, each
//     running as many no-op activities as an average device runs;
//   - the fleet: FleetRetirement of the same number of simulated devices over every path.
//
// It prints devices per second for both and their ratio, history events per device by path, the
// process's memory (workers and simulator run in it), and Apple Business calls per ADE device.
// `--chaos` runs a fleet while a worker process is killed again and again and the simulator
// injects faults, and checks the ledger.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/logging"
	"github.com/offboard/offboard/internal/stack"
	"github.com/offboard/offboard/internal/workerapp"
)

type options struct {
	sizes       []int
	rounds      int
	window      int
	scale       float64
	census      time.Duration
	chaos       bool
	chaosKill   time.Duration
	skipFloor   bool
	pilot       int
	wfPollers   int
	actPollers  int
	autoscale   bool
	shared      bool
	server      string // dev or cluster (bench/server.go)
	temporalCLI string
	// workerBin: the worker binary the waiting benchmark runs as its own process ("": in-process).
	workerBin string
	// The Apple scenarios: single devices started one after another, and a fleet with them.
	apple        bool
	appleSingles int
	appleFleet   int
	appleStagger time.Duration
}

func main() {
	var o options
	devices := flag.String("devices", "100,1000", "fleet sizes, comma-separated")
	large := flag.Bool("large", false, "also run 10,000 devices")
	flag.IntVar(&o.window, "window", 100, "devices (and floor children) at once")
	flag.IntVar(&o.rounds, "rounds", 2, "floor and fleet runs of each size, alternating; rates are their mean")
	flag.Float64Var(&o.scale, "time-scale", 1800, "the simulator's simulated seconds per real second")
	flag.DurationVar(&o.census, "census", 30*time.Second, "how often the fleet reads its devices' steps from visibility")
	flag.BoolVar(&o.chaos, "chaos", false, "kill a worker process (SIGKILL) again and again under injected faults, and check the ledger")
	flag.DurationVar(&o.chaosKill, "kill-every", 4*time.Second, "chaos: how often the worker process is killed")
	flag.BoolVar(&o.skipFloor, "skip-floor", false, "measure the fleet only")
	flag.IntVar(&o.wfPollers, "workflow-pollers", 2, "workflow task pollers of each worker (the fleet's and the floor's)")
	flag.IntVar(&o.actPollers, "activity-pollers", 2, "activity task pollers of each worker and task queue (the fleet's and the floor's)")
	flag.BoolVar(&o.autoscale, "poller-autoscaling", true, "the SDK's autoscaling pollers for every worker, the fleet's and the floor's (the worker's default); false: fixed pollers")
	flag.BoolVar(&o.shared, "shared-server", false, "run every measurement on one dev server (default: a fresh one for each floor and fleet run)")
	flag.StringVar(&o.server, "server", "dev", "the Temporal server: dev (bin/temporal's dev server) or cluster (scripts/cluster.sh's PostgreSQL-backed cluster, a fresh namespace each measurement)")
	flag.BoolVar(&o.apple, "apple", true, "also measure Apple's budget: (b) single devices started one after another, (c) a fleet and the singles at once")
	flag.IntVar(&o.appleSingles, "apple-singles", 100, "Apple scenarios: single devices, each its own DeviceOffboarding started by the client")
	flag.IntVar(&o.appleFleet, "apple-fleet", 300, "Apple scenarios: devices of the fleet that runs with the singles (c); the README's figures take 1000")
	flag.DurationVar(&o.appleStagger, "apple-stagger", 300*time.Millisecond, "Apple scenarios: real time between two single devices' starts")
	flag.IntVar(&o.pilot, "pilot", 54, "devices of the pilot fleet that measures an average device's activities (and warms up)")
	waiting := flag.Int("waiting", 0, "the waiting benchmark instead (bench/waiting.go): this many devices waiting over a simulated week, e.g. 1000")
	waitingLarge := flag.Bool("waiting-large", false, "the waiting benchmark: also 10,000 devices, and how the figures grow")
	waitingScale := flag.Float64("waiting-scale", 1440, "the waiting benchmark: simulated seconds a real second (1440: a day a minute)")
	waitingDays := flag.Float64("waiting-days", 7, "the waiting benchmark: simulated days measured")
	waitingSettle := flag.Duration("waiting-settle", 10*time.Minute, "the waiting benchmark: how long the workflows may lag the simulator at the end")
	waitingWorker := flag.String("waiting-worker", "process", "the waiting benchmark: the worker as its own process (process: its RSS measured alone) or in the bench's (in-process)")
	flag.Parse()
	if *waiting > 0 || *waitingLarge {
		if o.server == "cluster" {
			fmt.Fprintln(os.Stderr, "bench: the waiting benchmark runs on a dev server of its own; leave out --server cluster")
			os.Exit(2)
		}
		o.temporalCLI = os.Getenv("TEMPORAL_CLI_PATH")
		if o.temporalCLI == "" {
			o.temporalCLI = filepath.Join("bin", "temporal")
		}
		sizes := []int{}
		if *waiting > 0 {
			sizes = append(sizes, *waiting)
		}
		if *waitingLarge {
			sizes = append(sizes, 10000)
		}
		switch *waitingWorker {
		case "in-process":
		case "process":
			dir, err := os.MkdirTemp("", "offboard-waiting-worker")
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			defer os.RemoveAll(dir)
			if o.workerBin, err = buildWorker(dir); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
		default:
			fmt.Fprintf(os.Stderr, "bench: --waiting-worker %q: want process or in-process\n", *waitingWorker)
			os.Exit(2)
		}
		fmt.Print(machine(o.temporalCLI, "dev server, SQLite in memory, its own for the waiting benchmark"))
		if o.workerBin != "" {
			fmt.Println("The simulator runs in this process, the worker in its own (worker RSS is its alone), the Temporal server in its own.")
		} else {
			fmt.Println("Workers and simulator run in this process; the Temporal server is its own process.")
		}
		if err := runWaiting(context.Background(), o, sizes, *waitingScale, *waitingDays, *waitingSettle); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	for _, s := range strings.Split(*devices, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: --devices %q: want numbers, e.g. 100,1000\n", *devices)
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	if !slices.Contains(serverKinds, o.server) {
		fmt.Fprintf(os.Stderr, "bench: --server %q: want one of %s\n", o.server, strings.Join(serverKinds, ", "))
		os.Exit(2)
	}
	if o.chaos && o.server != "dev" {
		fmt.Fprintln(os.Stderr, "bench: --chaos runs on the dev server only (its worker process is given the dev server's namespace); drop --server cluster")
		os.Exit(2)
	}
	if *large {
		o.sizes = append(o.sizes, 10000)
	}
	scaleSet := false
	flag.Visit(func(f *flag.Flag) { scaleSet = scaleSet || f.Name == "time-scale" })
	if o.chaos && !scaleSet {
		// A killed worker's activity waits out its 30 s timeout: at 600x that is 5 simulated hours,
		// well inside the simulated day after which a deleted ADE device reappears.
		o.scale = 600
	}
	o.temporalCLI = os.Getenv("TEMPORAL_CLI_PATH")
	if o.temporalCLI == "" {
		o.temporalCLI = filepath.Join("bin", "temporal")
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	fmt.Print(machine(o.temporalCLI, serverDescription(o)))
	fmt.Println("Workers and simulator run in this process; the Temporal server is its own process.")
	if o.server == "cluster" {
		if err := startCluster(ctx); err != nil {
			return err
		}
		serverCPU = clusterCPU
	}
	srv, err := startServer(ctx, o)
	if err != nil {
		return err
	}
	c := srv.Client()
	dir, err := os.MkdirTemp("", "offboard-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	world, err := stack.Start(stack.Options{TimeScale: o.scale, Dir: dir, WorkflowTaskPollers: o.wfPollers, ActivityTaskPollers: o.actPollers,
		FixedPollers: !o.autoscale})
	if err != nil {
		_ = srv.Stop()
		return err
	}
	defer world.Close()
	if o.chaos {
		defer func() { _ = srv.Stop() }()
		return runChaos(ctx, o, srv.(*testsuite.DevServer), world)
	}
	b := &bench{o: o, c: c, world: world, mem: startMemSampler(), srv: srv}
	if err := b.startWorkers(); err != nil {
		return err
	}
	defer func() { b.stopEngine() }()
	fmt.Printf("Pilot: a fleet of %d devices over every path (warms up, and counts an average device's activities) ...\n", o.pilot)
	pilot, err := b.fleet(ctx, "pilot", o.pilot)
	if err != nil {
		return err
	}
	activities := pilot.avgActivities()
	fmt.Printf("  an average device runs %.1f activities (%d history events); the floor's children run %d no-op activities\n",
		pilot.avgActivitiesExact, pilot.avgEvents(), activities)
	if !o.skipFloor {
		if _, err := b.floorRun(ctx, o.pilot, activities); err != nil { // warms the floor's queue up too
			return err
		}
	}
	fmt.Println()

	var results []sizeResult
	var stuck []appleScenario // fleet measurements given up: the Apple coordinator stopped
	for _, n := range o.sizes {
		r := sizeResult{n: n, window: o.window}
		// Floor and fleet alternate, round after round, so a slow minute of the machine falls on both.
		for round := 1; round <= o.rounds; round++ {
			if !o.skipFloor {
				if err := b.fresh(ctx); err != nil {
					return err
				}
				fmt.Printf("Floor (round %d/%d): %d children of %d no-op activities, window %d ...\n", round, o.rounds, n, activities, o.window)
				f, err := b.floorRun(ctx, n, activities)
				if err != nil {
					return err
				}
				fmt.Printf("  %.1f children/s (%s); CPU ms a child: server %.0f, workers %.0f\n", f.perSecond(), f.took.Round(time.Millisecond),
					1000*f.cpu.server/float64(n), 1000*f.cpu.self/float64(n))
				fmt.Printf("  children open, by tenth of the run: %s; a child's first workflow task comes %s after its start\n",
					formatOccupancy(f.inFlight), f.firstTask.Round(time.Millisecond))
				r.floors = append(r.floors, f)
			}
			if err := b.fresh(ctx); err != nil {
				return err
			}
			fmt.Printf("Fleet (round %d/%d): %d devices over every path, window %d ...\n", round, o.rounds, n, o.window)
			f, err := b.fleet(ctx, fmt.Sprintf("bench-%d-%d", n, round), n)
			if errors.As(err, new(stuckError)) {
				fmt.Printf("  GIVEN UP after %s: %v\n", f.took.Round(time.Second), err)
				f.apple.print(os.Stdout)
				fmt.Println()
				stuck = append(stuck, appleScenario{label: fmt.Sprintf("(a) fleet of %d, round %d", n, round), fleet: n, took: f.took,
					apple: f.apple, outcomes: f.outcomes, stuck: f.stuck})
				continue
			}
			if err != nil {
				return err
			}
			fmt.Printf("  %.1f devices/s (%s); CPU ms a device: server %.0f, workers and simulator %.0f; console calls a device %.1f; "+
				"a device takes %s (devices in flight on average: %.0f of the window's %d); the batcher answers in %s (at most %s)\n",
				f.perSecond(), f.took.Round(time.Millisecond), 1000*f.cpu.server/float64(n), 1000*f.cpu.self/float64(n),
				float64(f.consoleCalls)/float64(n), f.avgDevice.Round(time.Millisecond), f.perSecond()*f.avgDevice.Seconds(), b.o.window,
				f.batchWait.Round(time.Millisecond), f.batchWaitMax.Round(time.Millisecond))
			fmt.Printf("  devices open, by tenth of the run: %s; a device's first workflow task comes %s after its start\n  slowest: %s\n",
				formatOccupancy(f.inFlight), f.firstTask.Round(time.Millisecond), f.slowest)
			for _, h := range f.hazardsSeen {
				fmt.Printf("  hazard: %s\n", h)
			}
			f.apple.print(os.Stdout)
			fmt.Println()
			r.fleets = append(r.fleets, f)
		}
		if len(r.fleets) > 0 {
			results = append(results, r)
		}
	}
	var scenarios []appleScenario
	if o.apple {
		if scenarios, err = b.appleScenarios(ctx); err != nil {
			return err
		}
	}
	report(os.Stdout, o, activities, results)
	appleReport(os.Stdout, o, results, stuck, scenarios)
	return nil
}

// startDevServer starts bin/temporal's dev server with the search attributes Offboard needs.
func startDevServer(ctx context.Context, path string) (*testsuite.DevServer, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no Temporal CLI at %s: run `make bin/temporal` (make bench does)", path)
	}
	args := []string{"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"}
	for _, name := range contract.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(sctx, testsuite.DevServerOptions{
		ExistingPath: path, ExtraArgs: args, LogLevel: "never",
		ClientOptions: &client.Options{Namespace: "default", Logger: quietLogger()},
	})
	if err != nil {
		return nil, fmt.Errorf("start the dev server: %w", err)
	}
	return srv, nil
}

// quietLogger drops the SDK's logs: every "not yet" of a poll is an activity error to the SDK, and
// writing them would only measure the terminal.
func quietLogger() log.Logger { return logging.NewTemporalLogger(zap.NewNop()) }

// startWorkers starts the product's workers and the floor's on the current dev server.
func (b *bench) startWorkers() error {
	if err := b.world.StartWorkers(b.c); err != nil {
		return err
	}
	floorOptions := worker.Options{
		MaxConcurrentActivityExecutionSize:     b.world.WorkerConfig().MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: b.world.WorkerConfig().MaxConcurrentWorkflowTasks,
	}
	workerapp.ApplyPollers(&floorOptions, workerapp.OptionsFrom(b.world.WorkerConfig()))
	w := worker.New(b.c, floorQueue, floorOptions)
	w.RegisterWorkflow(FloorFleet)
	w.RegisterWorkflow(FloorDevice)
	w.RegisterActivity(Noop)
	if err := w.Start(); err != nil {
		b.world.StopWorkers()
		return err
	}
	b.floorWorker = w
	return nil
}

// stopEngine stops the workers and the dev server.
func (b *bench) stopEngine() {
	if b.floorWorker != nil {
		b.floorWorker.Stop()
		b.floorWorker = nil
	}
	b.world.StopWorkers()
	if b.srv != nil {
		_ = b.srv.Stop()
		b.srv = nil
	}
}

// fresh gives the next measurement a dev server of its own, with workers on it: a server that
// holds every workflow of the earlier measurements gets slower (its SQLite grows), and neither
// side should pay for the other's history. --shared-server keeps one server for the whole run.
func (b *bench) fresh(ctx context.Context) error {
	if b.o.shared {
		return nil
	}
	b.stopEngine()
	srv, err := startServer(ctx, b.o)
	if err != nil {
		return err
	}
	b.srv, b.c = srv, srv.Client()
	return b.startWorkers()
}
