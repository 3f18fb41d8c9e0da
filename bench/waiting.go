package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/internal/stack"
	"github.com/offboard/offboard/workflows"
)

// The waiting benchmark (--waiting N, --waiting-large): N devices that wait for their check-in
// or their user for days, spread over a simulated week, some never. The console watcher follows
// the change feed for all of them, so the console's requests, the activity slots held and the
// workflow work grow with what happens, not with how many wait. Each size runs on a fresh dev
// server, simulator and workers, in this process; time passes at --waiting-scale simulated
// seconds a real second, and the devices' own waits (reminders, deadline, safety-net read) are
// divided by the same factor, so a week passes in minutes for the workflows too. The starts are
// paced to what the engine absorbs, and the week starts once every device waits (comeBack).

const day = 24 * time.Hour

// waitingResult is one size's figures.
type waitingResult struct {
	n                 int
	simDays           float64 // simulated days measured, from the last start to the end
	startDays         float64 // simulated days the paced starts took, until every device waited
	consoleCalls      int     // console requests in the window
	feedCalls         int     // of them, the watcher's reads of the change feed
	slotsMax          float64 // activity slots in use, sampled every 200 ms
	slotsMean         float64
	events, tasks     float64 // per device-day, over a sample of devices (history events, workflow tasks)
	quietEvents       float64 // per device-day in the last simulated day, when only never-devices wait
	watcherEvents     int     // the watcher's own history events, over all its runs
	rssPeak, heapLive uint64
	// workerRSS is the worker process's peak RSS (VmHWM) when it runs as its own process
	// (--waiting-worker process); rssPeak is then the bench's process: simulator and bookkeeping.
	workerRSS        uint64
	serverCPU        float64 // seconds, in the window
	removed, waiting int
	wrong            []string // devices whose outcome is not the one their spec makes
	took             time.Duration
	lag              time.Duration // after the week, until the workflows caught up (or --waiting-settle)
}

// slotGauge records the SDK's worker_task_slots_used gauges of the activity workers.
type slotGauge struct {
	mu     sync.Mutex
	values map[string]float64
}

func (g *slotGauge) handler(tags map[string]string) client.MetricsHandler {
	return &gaugeHandler{g: g, tags: tags}
}

func (g *slotGauge) activitySlots() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	sum := 0.0
	for k, v := range g.values {
		if strings.Contains(k, "worker_type=ActivityWorker") {
			sum += v
		}
	}
	return sum
}

type gaugeHandler struct {
	g    *slotGauge
	tags map[string]string
}

func (h *gaugeHandler) WithTags(tags map[string]string) client.MetricsHandler {
	all := map[string]string{}
	for k, v := range h.tags {
		all[k] = v
	}
	for k, v := range tags {
		all[k] = v
	}
	return &gaugeHandler{g: h.g, tags: all}
}
func (h *gaugeHandler) Counter(string) client.MetricsCounter { return nopCounter{} }
func (h *gaugeHandler) Timer(string) client.MetricsTimer     { return nopTimer{} }
func (h *gaugeHandler) Gauge(name string) client.MetricsGauge {
	if !strings.HasSuffix(name, "worker_task_slots_used") {
		return nopGauge{}
	}
	keys := make([]string, 0, len(h.tags))
	for k, v := range h.tags {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return &slotValue{g: h.g, key: strings.Join(keys, ",")}
}

type slotValue struct {
	g   *slotGauge
	key string
}

func (s *slotValue) Update(v float64) {
	s.g.mu.Lock()
	s.g.values[s.key] = v
	s.g.mu.Unlock()
}

type nopCounter struct{}

func (nopCounter) Inc(int64) {}

type nopTimer struct{}

func (nopTimer) Record(time.Duration) {}

type nopGauge struct{}

func (nopGauge) Update(float64) {}

// waitingDevice is one device of the benchmark and the outcome its spec makes by the end.
type waitingDevice struct {
	serial string
	req    procedure.Request
	spec   simulator.DeviceSpec
	never  bool // never checks in (wipe) or its user never acts (keep): still waiting at the end
	// back is when, after every device has reached its wait, the device comes back: its
	// check-in (wipe: the erase is applied), or its user's removal of the MDM profile, which the
	// console learns at the check-in checkInAfter later (keep).
	back, checkInAfter time.Duration
}

// waitingDevices spreads check-ins over three simulated days and users' actions over three more,
// so that every device that will finish does so within the week; one in ten never does. The
// devices are added to the console neither checking in nor acting (comeBack drives them), so that
// however long the engine takes to bring them all to their waits, the week starts with all of
// them waiting.
func waitingDevices(n int, seed uint64) []waitingDevice {
	rng := rand.New(rand.NewPCG(seed, 12))
	out := make([]waitingDevice, n)
	stamp := time.Now().Unix() % 100000
	for i := range out {
		serial := fmt.Sprintf("WT%05d%05d", i, stamp)
		spec := simulator.DeviceSpecFor(serial, simulator.EnrollmentManual)
		spec.CheckInEvery, spec.UserActsAfter = simulator.Never, simulator.Never
		checkIn := 30*time.Minute + time.Duration(rng.Float64()*float64(3*day))
		userActs := time.Duration(rng.Float64() * float64(3*day))
		d := waitingDevice{serial: serial, req: procedure.Request{Serial: serial, Enrollment: procedure.Manual}, spec: spec,
			never: rng.IntN(10) == 0, back: checkIn}
		if i%2 == 0 {
			d.req.Wipe, d.req.WipeMethod = true, procedure.WipeConsole // waits for the erase at a check-in
		} else { // keep: waits for its user to remove the MDM profile
			d.back, d.checkInAfter = userActs, checkIn
		}
		out[i] = d
	}
	return out
}

// comeBack drives the devices that come back, from t0 in simulated time: each checks in, or its
// user acts and it checks in, when its time comes. It returns when ctx ends or all have.
func comeBack(ctx context.Context, sim *simulator.Simulator, devices []waitingDevice, t0 time.Time) {
	type due struct {
		at     time.Time
		serial string
		user   bool // the user removes the MDM profile (else: a check-in)
	}
	var dues []due
	for _, d := range devices {
		switch {
		case d.never:
		case d.req.Wipe:
			dues = append(dues, due{at: t0.Add(d.back), serial: d.serial})
		default:
			dues = append(dues, due{at: t0.Add(d.back), serial: d.serial, user: true}, due{at: t0.Add(d.back + d.checkInAfter), serial: d.serial})
		}
	}
	sort.Slice(dues, func(i, j int) bool { return dues[i].at.Before(dues[j].at) })
	for _, x := range dues {
		for sim.Now().Before(x.at) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		// A device deleted by then no longer checks in: the simulator says so, and nothing is lost.
		if x.user {
			_, _ = sim.UserAction(x.serial, "remove-mdm-profile")
		} else {
			_ = sim.CheckIn(x.serial)
		}
	}
}

// waitingTiming is production's waits divided by the time scale.
func waitingTiming(scale float64) workflows.Timing {
	d := workflows.DefaultTiming()
	s := func(x time.Duration) time.Duration { return time.Duration(float64(x) / scale) }
	t := workflows.Timing{CheckInPoll: s(d.CheckInPoll), CheckInDeadline: s(d.CheckInDeadline), OperatorReminder: s(d.OperatorReminder),
		ConsolePoll: max(s(d.ConsolePoll), 200*time.Millisecond), ApplePoll: max(s(d.ApplePoll), 200*time.Millisecond),
		SafetyNetPoll: s(workflows.DefaultSafetyNetPoll)}
	for _, r := range d.UserReminders {
		t.UserReminders = append(t.UserReminders, s(r))
	}
	return t
}

// runWaiting measures each size and prints the figures and how they grow.
func runWaiting(ctx context.Context, o options, sizes []int, scale float64, week float64, settle time.Duration) error {
	var results []waitingResult
	for _, n := range sizes {
		r, err := waitingRun(ctx, o, n, scale, week, settle)
		if err != nil {
			return err
		}
		results = append(results, r)
		printWaiting(os.Stdout, scale, []waitingResult{r})
	}
	if len(results) > 1 {
		fmt.Println("\nAll sizes:")
		printWaiting(os.Stdout, scale, results)
		a, b := results[0], results[len(results)-1]
		grow := func(x, y float64) string {
			if x == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", y/x)
		}
		fmt.Printf("From %d to %d waiting devices (%.0fx): console requests a device-day %s, activity slots (max) %s, "+
			"history events a device-day %s, workflow tasks a device-day %s, the workers' RSS %s, server CPU %s\n",
			a.n, b.n, float64(b.n)/float64(a.n),
			grow(perDeviceDay(a.consoleCalls, a), perDeviceDay(b.consoleCalls, b)), grow(a.slotsMax, b.slotsMax),
			grow(a.events, b.events), grow(a.tasks, b.tasks), grow(float64(a.workersMemory()), float64(b.workersMemory())), grow(a.serverCPU, b.serverCPU))
	}
	return nil
}

// workersMemory is the workers' peak RSS: the worker process's, or the bench's when they ran in it.
func (r waitingResult) workersMemory() uint64 {
	if r.workerRSS > 0 {
		return r.workerRSS
	}
	return r.rssPeak
}

func perDeviceDay(calls int, r waitingResult) float64 {
	return float64(calls) / (float64(r.n) * r.simDays)
}

func printWaiting(w io.Writer, scale float64, rs []waitingResult) {
	fmt.Fprintf(w, "%-8s %-10s %-22s %-14s %-16s %-16s %-14s %-14s %-13s %-12s %-18s %s\n", "devices", "sim days", "console req/device-day",
		"activity slots", "events/dev-day", "WF tasks/dev-day", "quiet ev/d-d", "worker RSS MB", "bench RSS MB", "server CPU s", "outcomes", "wrong")
	for _, r := range rs {
		workerRSS := "(in the bench)"
		if r.workerRSS > 0 {
			workerRSS = mb(r.workerRSS)
		}
		fmt.Fprintf(w, "%-8d %-10.1f %-22s %-14s %-16.2f %-16.2f %-14.3f %-14s %-13s %-12.1f %-18s %d\n", r.n, r.simDays,
			fmt.Sprintf("%.3f (feed %d)", perDeviceDay(r.consoleCalls, r), r.feedCalls),
			fmt.Sprintf("%.0f max, %.1f", r.slotsMax, r.slotsMean), r.events, r.tasks, r.quietEvents,
			workerRSS, mb(r.rssPeak), r.serverCPU, fmt.Sprintf("%d removed, %d wait", r.removed, r.waiting), len(r.wrong))
		for i, s := range r.wrong {
			if i == 5 {
				fmt.Fprintf(w, "  ... and %d more\n", len(r.wrong)-5)
				break
			}
			fmt.Fprintf(w, "  WRONG: %s\n", s)
		}
	}
}

func waitingRun(ctx context.Context, o options, n int, scale, week float64, settle time.Duration) (waitingResult, error) {
	r := waitingResult{n: n}
	started := time.Now()
	srv, err := startDevServer(ctx, o.temporalCLI)
	if err != nil {
		return r, err
	}
	defer func() { _ = srv.Stop() }()
	gauge := &slotGauge{values: map[string]float64{}}
	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Namespace: "default", Logger: quietLogger(), MetricsHandler: gauge.handler(nil)})
	if err != nil {
		return r, err
	}
	defer c.Close()
	dir, err := os.MkdirTemp("", "offboard-waiting")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	world, err := stack.Start(stack.Options{TimeScale: scale, Dir: dir, WorkflowTaskPollers: o.wfPollers, ActivityTaskPollers: o.actPollers})
	if err != nil {
		return r, err
	}
	defer world.Close()
	slots := gauge.activitySlots
	var worker *workerProcess
	if o.workerBin == "" {
		if err := world.StartWorkers(c); err != nil {
			return r, err
		}
	} else {
		// The worker as its own process: its memory is measured alone, and its activity slots are
		// read from its metrics endpoint.
		addr, err := freeAddr()
		if err != nil {
			return r, err
		}
		logFile, err := os.Create(filepath.Join(dir, "worker.log"))
		if err != nil {
			return r, err
		}
		defer logFile.Close()
		worker = &workerProcess{bin: o.workerBin, env: workerEnv(world.WorkerConfig(), srv.FrontendHostPort(), addr), log: logFile}
		if err := worker.start(); err != nil {
			return r, err
		}
		defer worker.kill()
		hc := &http.Client{Timeout: 2 * time.Second}
		if err := waitForMetrics(hc, addr, time.Minute); err != nil {
			return r, err
		}
		slots = func() float64 { v, _ := scrapeActivitySlots(hc, addr); return v }
	}
	devices := waitingDevices(n, uint64(n))
	fmt.Printf("Waiting: %d devices (half wait for a check-in that erases them, half for their user; one in ten never), a week at %.0fx ...\n", n, scale)
	timing := waitingTiming(scale)
	simStart := world.Sim.Now()
	// The starts are paced to what the engine absorbs: at most waitingAhead devices are started
	// and not yet at their waits, so the week measures waiting devices, not a backlog of
	// pre-flights (unpaced, 10,000 starts outran the engine: at simulated day 2, 9,048 devices
	// were still at pre-flight).
	lastSaid := time.Now()
	for from := 0; from < n; {
		at, err := countWaits(ctx, c)
		if err != nil {
			return r, err
		}
		if time.Since(lastSaid) > 30*time.Second {
			fmt.Printf("  %s: %d started, %d at their waits or ended (simulated day %.1f)\n", time.Since(started).Round(time.Second), from, at, world.Sim.Now().Sub(simStart).Hours()/24)
			lastSaid = time.Now()
		}
		k := min(int(at)+waitingAhead-from, n-from)
		if k <= 0 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if err := startWaiting(ctx, c, world, devices[from:from+k], timing); err != nil {
			return r, fmt.Errorf("start: %w", err)
		}
		from += k
	}
	if err := awaitWaits(ctx, c, n); err != nil {
		return r, err
	}
	r.startDays = world.Sim.Now().Sub(simStart).Hours() / 24
	fmt.Printf("  %d started and at their waits in %s (%.1f simulated days)\n", n, time.Since(started).Round(time.Second), r.startDays)

	sample, sampleNever := sampleSerials(devices, 200)
	t0, wall0, cpu0, stats0 := world.Sim.Now(), time.Now(), readCPU(), world.Sim.Stats()
	backCtx, stopBack := context.WithCancel(ctx)
	defer stopBack()
	go comeBack(backCtx, world.Sim, devices, t0)
	hist0 := historyCounts(ctx, c, sample, time.Time{})
	stopSlots := make(chan struct{})
	var slotSamples []float64
	var slotsDone sync.WaitGroup
	slotsDone.Add(1)
	go func() {
		defer slotsDone.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSlots:
				return
			case <-t.C:
				slotSamples = append(slotSamples, slots())
			}
		}
	}()
	// The window: a week from the last start, by when every device that comes back has.
	end := t0.Add(time.Duration(week * float64(day)))
	quietFrom := t0.Add(time.Duration((week - 1) * float64(day)))
	var quiet0 map[string]int
	var quietWall time.Time
	nextDay := t0.Add(day)
	for world.Sim.Now().Before(end) {
		if quiet0 == nil && !world.Sim.Now().Before(quietFrom) {
			quietWall, quiet0 = time.Now(), historyCounts(ctx, c, sample, time.Time{})
		}
		if now := world.Sim.Now(); !now.Before(nextDay) {
			// What the console shows, day by day: a run whose workflows fall behind shows it here.
			deleted := 0
			for _, d := range devices {
				if st, ok := world.Sim.Device(d.serial); ok && st.Status == simulator.StatusDeleted {
					deleted++
				}
			}
			fmt.Printf("  day %.0f (%s real): %d of %d records deleted in the console\n", now.Sub(t0).Hours()/24, time.Since(wall0).Round(time.Second), deleted, n)
			nextDay = nextDay.Add(day)
		}
		time.Sleep(time.Second)
	}
	close(stopSlots)
	slotsDone.Wait()
	t1, cpu1, stats1 := world.Sim.Now(), readCPU(), world.Sim.Stats()
	hist1 := historyCounts(ctx, c, sample, time.Time{})
	if u := hist0["/unread"] + hist1["/unread"]; u > 0 {
		return r, fmt.Errorf("%d of the sample's histories could not be read (the server is overloaded): the figures would be wrong", u)
	}
	r.simDays = t1.Sub(t0).Hours() / 24
	r.consoleCalls = stats1.ConsoleCalls - stats0.ConsoleCalls
	r.feedCalls = stats1.Calls["GET /api/v1/changes"] - stats0.Calls["GET /api/v1/changes"]
	r.serverCPU = cpu1.minus(cpu0).server
	for _, v := range slotSamples {
		r.slotsMax = math.Max(r.slotsMax, v)
		r.slotsMean += v / float64(len(slotSamples))
	}
	var ev, tasks, q, nq int
	for i, s := range sample {
		if quiet0 != nil && sampleNever[i] {
			q += hist1[s] - quiet0[s]
			nq++
		}
		ev += hist1[s] - hist0[s]
		tasks += hist1[s+"/tasks"] - hist0[s+"/tasks"]
	}
	deviceDays := float64(len(sample)) * r.simDays
	r.events, r.tasks = float64(ev)/deviceDays, float64(tasks)/deviceDays
	if quiet0 != nil && nq > 0 {
		// The last simulated day, over the devices that never come back: only they still wait.
		r.quietEvents = float64(q) / (float64(nq) * time.Since(quietWall).Seconds() * scale / 86400)
	}
	r.watcherEvents = watcherEvents(ctx, c, world)
	r.rssPeak, r.heapLive = vmHWM(), liveHeapAfterGC()
	if worker != nil {
		r.workerRSS = peakRSS(strconv.Itoa(worker.pid()))
	}

	// Outcomes: removed if it checked in (or its user acted) within the week, waiting on the
	// device otherwise. On a loaded machine the workflows may lag the simulator: give them up to
	// --waiting-settle to catch up, and say how long they took.
	never := 0
	for _, d := range devices {
		if d.never {
			never++
		}
	}
	settleFrom := time.Now()
	var outcomes map[string]deviceOutcome
	for {
		var err error
		if outcomes, err = listOutcomes(ctx, c); err != nil {
			return r, err
		}
		running := 0
		for _, o := range outcomes {
			if o.running {
				running++
			}
		}
		if running <= never || time.Since(settleFrom) > settle {
			break
		}
		time.Sleep(5 * time.Second)
	}
	r.lag = time.Since(settleFrom)
	for _, d := range devices {
		o, ok := outcomes[contract.DeviceWorkflowID(d.serial)]
		switch {
		case !ok:
			r.wrong = append(r.wrong, d.serial+": no workflow")
		case d.never && o.running && o.waitingOn == string(procedure.PartyDevice):
			r.waiting++
		case !d.never && o.completed:
			r.removed++
		default:
			r.wrong = append(r.wrong, fmt.Sprintf("%s (never=%v): running %v, completed %v, waiting on %q", d.serial, d.never, o.running, o.completed, o.waitingOn))
		}
	}
	r.took = time.Since(started)
	fmt.Printf("  measured %.1f simulated days in %s; the workflows caught up %s after the week\n", r.simDays, r.took.Round(time.Second), r.lag.Round(time.Second))
	return r, nil
}

// sampleSerials takes k devices spread over all of them, and says which never come back.
func sampleSerials(ds []waitingDevice, k int) ([]string, []bool) {
	step := max(len(ds)/k, 1)
	var out []string
	var never []bool
	for i := 0; i < len(ds) && len(out) < k; i += step {
		out = append(out, ds[i].serial)
		never = append(never, ds[i].never)
	}
	return out, never
}

// historyCounts reads each workflow's history: its events and its completed workflow tasks.
func historyCounts(ctx context.Context, c client.Client, serials []string, _ time.Time) map[string]int {
	out := map[string]int{}
	for _, s := range serials {
		// A loaded server times reads out: read the history again rather than count part of it.
		var events, tasks int
		err := retryRead(ctx, func() error {
			events, tasks = 0, 0
			iter := c.GetWorkflowHistory(ctx, contract.DeviceWorkflowID(s), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				e, err := iter.Next()
				if err != nil {
					return err
				}
				events++
				if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
					tasks++
				}
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: the history of %s could not be read: %v\n", s, err)
			out["/unread"]++
			continue
		}
		out[s], out[s+"/tasks"] = events, tasks
	}
	return out
}

// retryRead runs read until it succeeds, five times at most, waiting longer each time.
func retryRead(ctx context.Context, read func() error) error {
	var err error
	for attempt := range 5 {
		if err = read(); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 2 * time.Second)
	}
	return err
}

// watcherEvents sums the history events of every run of the console watcher.
func watcherEvents(ctx context.Context, c client.Client, world *stack.Stack) int {
	id := workflows.ConsoleWatcherWorkflowID(world.WorkerConfig().Console.URL)
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	if err != nil {
		return -1
	}
	total := 0
	for _, e := range resp.GetExecutions() {
		total += int(e.GetHistoryLength())
	}
	return total
}

type deviceOutcome struct {
	running, completed bool
	waitingOn          string
}

// listOutcomes reads every device's state from visibility (no query: a backlogged worker would
// answer them late).
func listOutcomes(ctx context.Context, c client.Client) (map[string]deviceOutcome, error) {
	out := map[string]deviceOutcome{}
	var token []byte
	for {
		var resp *workflowservice.ListWorkflowExecutionsResponse
		err := retryRead(ctx, func() (err error) {
			resp, err = c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, NextPageToken: token,
				Query: "WorkflowType = '" + contract.DeviceWorkflowType + "'"})
			return err
		})
		if err != nil {
			return out, fmt.Errorf("list the devices (%d listed): %w", len(out), err)
		}
		for _, e := range resp.GetExecutions() {
			o := deviceOutcome{running: e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
				completed: e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED}
			if p, ok := e.GetSearchAttributes().GetIndexedFields()[contract.SAWaitingOn]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &o.waitingOn)
			}
			out[e.GetExecution().GetWorkflowId()] = o
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// waitingAhead is how many devices the waiting benchmark lets be started and not yet waiting.
const waitingAhead = 200

// startWaiting adds the devices to the console and starts their workflows, 16 at a time. A device
// joins the console neither checking in nor acting: comeBack drives it once every device waits.
func startWaiting(ctx context.Context, c client.Client, world *stack.Stack, devices []waitingDevice, timing workflows.Timing) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(devices); i = int(next.Add(1)) - 1 {
				d := devices[i]
				err := world.Sim.AddDevices(d.spec)
				if err == nil {
					_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.DeviceWorkflowID(d.serial), TaskQueue: contract.TaskQueue},
						contract.DeviceWorkflowType, workflows.DeviceInput{Request: d.req, Confirmed: true, Contact: "user@example.com", Timing: timing})
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// countWaits counts the devices that have reached a wait on someone other than the console or
// Apple (their device or user, and past a deadline an operator) or have ended, as visibility
// shows them.
func countWaits(ctx context.Context, c client.Client) (int64, error) {
	var people []string
	for _, p := range []contract.WaitingOn{contract.WaitingOnDevice, contract.WaitingOnOperator, contract.WaitingOnVendorSupport, contract.WaitingOnApproval, contract.WaitingOnNone} {
		people = append(people, "'"+string(p)+"'")
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND (%s IN (%s) OR ExecutionStatus != 'Running')", contract.DeviceWorkflowType, contract.SAWaitingOn, strings.Join(people, ", "))
	var count int64
	err := retryRead(ctx, func() error {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		count = resp.GetCount()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count the waiting devices: %w", err)
	}
	return count, nil
}

// awaitWaits returns once at least n devices have reached a wait or ended (countWaits).
func awaitWaits(ctx context.Context, c client.Client, n int) error {
	deadline := time.Now().Add(30 * time.Minute)
	for {
		count, err := countWaits(ctx, c)
		switch {
		case err != nil:
			return err
		case count >= int64(n):
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("only %d of %d devices reached their waits in 30 minutes", count, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
