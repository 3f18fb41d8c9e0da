package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/contract"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/internal/stack"
	"github.com/offboard/offboard/workflows"
)

// benchTiming makes the devices wait on the engine, not on sleeps: polls every 100 ms, while the
// simulator's devices check in and their users act within a few simulated seconds.
var benchTiming = workflows.Timing{
	CheckInPoll: envDuration("BENCH_CHECKIN_POLL", 100*time.Millisecond), ConsolePoll: envDuration("BENCH_CONSOLE_POLL", 250*time.Millisecond),
	ApplePoll:       envDuration("BENCH_APPLE_POLL", 100*time.Millisecond),
	CheckInDeadline: time.Hour, UserReminders: []time.Duration{time.Hour}, OperatorReminder: time.Hour,
}

// cells are the nine paths a bench fleet cycles through.
var cells = []struct {
	enrollment procedure.Enrollment
	wipe       bool
	method     procedure.WipeMethod
}{
	{procedure.ADERestricted, true, procedure.WipeConsole}, {procedure.ADE, true, procedure.WipeConsole}, {procedure.Manual, true, procedure.WipeConsole},
	{procedure.ADERestricted, true, procedure.WipeDevice}, {procedure.ADE, true, procedure.WipeDevice}, {procedure.Manual, true, procedure.WipeDevice},
	{procedure.ADERestricted, false, ""}, {procedure.ADE, false, ""}, {procedure.Manual, false, ""},
}

type bench struct {
	o           options
	c           client.Client
	srv         engine
	floorWorker worker.Worker
	world       *stack.Stack
	mem         *memSampler
	seq         int
}

// mean is a running average.
type mean struct {
	sum   float64
	count int
}

func (m *mean) add(v float64) { m.sum += v; m.count++ }
func (m mean) value() float64 {
	if m.count == 0 {
		return 0
	}
	return m.sum / float64(m.count)
}

type fleetRun struct {
	n    int
	took time.Duration
	// eventsByPath is the history length of a device's workflow, by path.
	eventsByPath map[string]*mean
	// fleetSide are the events of the fleet's own workflows (every run, the device list, and the
	// batcher's share) per device.
	fleetSide          float64
	avgActivitiesExact float64
	appleCalls, ade    int
	consoleCalls       int
	heapAfterGC        [4]uint64 // at 25, 50, 75 and 100 % finished
	simShare           uint64    // what the simulator's state of this run held at the end
	peakHeap, vmHWM    uint64
	twice, hazards     int
	outcomes           map[string]int
	runs               int
	cpu                cpuTimes
	avgDevice          time.Duration // a device's time from start to outcome, on average
	// inFlight is how many device workflows were open, on average, in each tenth of the run.
	inFlight []float64
	// slowest names the device that took longest, and where in its history it waited longest.
	slowest     string
	hazardsSeen []string
	// firstTask is how long a device waited for its first workflow task (a sample's mean).
	firstTask time.Duration
	// batchWait is how long ADE devices waited for the batcher's answer (a sample): mean and max.
	batchWait, batchWaitMax time.Duration
	// apple is what Apple Business was asked, and how each ADE device was unassigned.
	apple appleFigures
	// stuck says why the measurement was given up (the Apple coordinator stopped), if it was.
	stuck string
	// cost is what the devices, the fleet and the coordinator cost the engine, as counts (cost.go).
	cost costTable
}

func (r fleetRun) perSecond() float64 { return float64(r.n) / r.took.Seconds() }

func (r fleetRun) avgActivities() int { return int(math.Round(r.avgActivitiesExact)) }

func (r fleetRun) avgEvents() int {
	var all mean
	for _, m := range r.eventsByPath {
		all.sum += m.sum
		all.count += m.count
	}
	return int(math.Round(all.value()))
}

// fleet retires n simulated devices over every path and measures it.
func (b *bench) fleet(ctx context.Context, name string, n int) (fleetRun, error) {
	b.seq++
	prefix := fmt.Sprintf("B%02d", b.seq)
	r := fleetRun{n: n, eventsByPath: map[string]*mean{}}
	specs, devices, ade := benchDevices(prefix, n)
	r.ade = ade
	if err := b.world.Sim.AddDevices(specs...); err != nil {
		return r, err
	}
	appleBefore := b.readApple(ctx)
	before := b.world.Sim.Stats()
	batcherBefore := b.historyLength(ctx, fmt.Sprintf("WorkflowId = '%s'", workflows.BatcherWorkflowID))
	b.mem.resetPeak()

	id := name
	cpu0 := readCPU()
	start := time.Now()
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: contract.FleetWorkflowID(id), TaskQueue: contract.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAFleetID.ValueSet(id)),
	}, contract.FleetWorkflowType, workflows.FleetInput{FleetID: id, Devices: devices, Window: b.o.window, Confirmed: true,
		Timing: benchTiming, CensusEvery: b.o.census, RequestedBy: "make bench"})
	if err != nil {
		return r, err
	}
	done := make(chan error, 1)
	var result workflows.FleetProgress
	go func() { done <- run.Get(ctx, &result) }()
	next := 0
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	watch := time.NewTicker(coordinatorWatch)
	defer watch.Stop()
wait:
	for {
		select {
		case err := <-done:
			if err != nil {
				return r, fmt.Errorf("fleet %s: %w", id, err)
			}
			break wait
		case <-watch.C:
			if err := b.coordinatorStuck(ctx); err != nil {
				r.took = time.Since(start)
				r.apple = b.appleSince(ctx, appleBefore, devices)
				r.stuck = err.Error()
				b.world.Sim.Reset()
				return r, stuckError{fmt.Errorf("fleet %s: %w", id, err)}
			}
		case <-tick.C:
			for next < 3 && b.finished(ctx, id)*4 >= (next+1)*n {
				r.heapAfterGC[next] = liveHeapAfterGC()
				next++
			}
		}
	}
	r.took = time.Since(start)
	r.cpu = readCPU().minus(cpu0)
	for ; next < 4; next++ {
		r.heapAfterGC[next] = liveHeapAfterGC()
	}
	r.peakHeap, r.vmHWM = b.mem.peak(), vmHWM()
	r.outcomes, r.runs, r.avgDevice = result.ByState, result.Runs, result.AvgDevice

	after := b.world.Sim.Stats()
	r.appleCalls = after.AppleCalls - before.AppleCalls
	r.consoleCalls = after.ConsoleCalls - before.ConsoleCalls
	if err := b.histories(ctx, id, &r); err != nil {
		return r, err
	}
	r.fleetSide += float64(b.historyLength(ctx, fmt.Sprintf("WorkflowId = '%s'", workflows.BatcherWorkflowID))-batcherBefore) / float64(n)
	r.cost = b.readCosts(ctx, id, start, n, ade)
	r.batchWait, r.batchWaitMax = b.batchWaits(ctx, devices)
	r.firstTask = b.firstTaskWait(ctx, devices)
	for _, d := range devices {
		entries := b.world.Sim.Ledger(d.Request.Serial)
		for _, kind := range []string{console.CmdEraseDevice, console.CmdDeleteDevice, console.CmdPurgeDevice, console.CmdRemoveProfile,
			console.CmdRemoveCertificates, console.CmdRevokeVPPLicenses, "UNASSIGN_DEVICES"} {
			if simulator.CountLedger(entries, kind, simulator.OutcomeAccepted) > 1 {
				r.twice++
			}
		}
		for _, e := range entries {
			if e.Hazard != "" {
				r.hazards++
				r.hazardsSeen = append(r.hazardsSeen, fmt.Sprintf("%s %s: %s", e.Serial, e.Hazard, e.Detail))
			}
		}
	}
	r.apple = b.appleSince(ctx, appleBefore, devices)
	// What the simulator held for this run: the live heap before and after forgetting it.
	withSim := liveHeapAfterGC()
	b.world.Sim.Reset()
	if without := liveHeapAfterGC(); withSim > without {
		r.simShare = withSim - without
	}
	return r, nil
}

// benchDevices are n simulated devices cycling through the nine paths, their serials prefix
// followed by seven digits, and how many of them are ADE devices.
func benchDevices(prefix string, n int) ([]simulator.DeviceSpec, []workflows.FleetDevice, int) {
	specs := make([]simulator.DeviceSpec, n)
	devices := make([]workflows.FleetDevice, n)
	ade := 0
	for i := range n {
		c := cells[i%len(cells)]
		serial := fmt.Sprintf("%s%07d", prefix, i)
		spec := simulator.DeviceSpecFor(serial, string(c.enrollment))
		spec.CheckInEvery = simulator.Duration(envDuration("BENCH_CHECKIN_EVERY", 30*time.Second)) // simulated: a few ms real
		spec.UserActsAfter = simulator.Duration(envDuration("BENCH_USER_ACTS_AFTER", 5*time.Second))
		specs[i] = spec
		devices[i] = workflows.FleetDevice{Line: i + 2, Contact: "user-" + serial + "@example.com",
			Request: procedure.Request{Serial: serial, Enrollment: c.enrollment, Wipe: c.wipe, WipeMethod: c.method}}
		if c.enrollment.IsADE() {
			ade++
		}
	}
	return specs, devices, ade
}

// finished reads how many devices of the fleet have finished.
func (b *bench) finished(ctx context.Context, id string) int {
	v, err := b.c.QueryWorkflow(ctx, contract.FleetWorkflowID(id), "", contract.QueryProgress)
	if err != nil {
		return 0
	}
	var p workflows.FleetProgress
	if v.Get(&p) != nil {
		return 0
	}
	return p.Finished
}

// histories reads, from visibility, every device's history length by path and the fleet's own
// workflows' lengths; for a small fleet it also counts the activities of each device.
func (b *bench) histories(ctx context.Context, id string, r *fleetRun) error {
	var activities mean
	var spans []span
	var slowest *workflowInfo
	err := b.list(ctx, fmt.Sprintf("WorkflowType = '%s' AND FleetID = '%s'", contract.DeviceWorkflowType, id), func(e *workflowInfo) {
		spans = append(spans, span{e.start, e.close})
		if slowest == nil || e.close.Sub(e.start) > slowest.close.Sub(slowest.start) {
			slowest = e
		}
		path := e.keyword("OffboardPath")
		if r.eventsByPath[path] == nil {
			r.eventsByPath[path] = &mean{}
		}
		r.eventsByPath[path].add(float64(e.historyLength))
		if r.n <= 200 {
			activities.add(float64(b.countEvents(ctx, e.workflowID, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)))
		}
	})
	if err != nil {
		return err
	}
	r.avgActivitiesExact = activities.value()
	r.inFlight = occupancy(spans, occupancyBins)
	if slowest != nil {
		g := b.longestGap(ctx, slowest.workflowID)
		r.slowest = fmt.Sprintf("%s (%s) took %s; %s", slowest.workflowID, slowest.keyword("OffboardPath"),
			slowest.close.Sub(slowest.start).Round(time.Millisecond), g)
		if os.Getenv("BENCH_TRACE") != "" && !g.from.IsZero() {
			b.traceBatcher(ctx, g.from.Add(-time.Second), g.to.Add(time.Second))
		}
	}
	side := b.historyLength(ctx, fmt.Sprintf("WorkflowId = '%s' OR WorkflowId = '%s'", contract.FleetWorkflowID(id), workflows.FleetDeviceListID(id)))
	r.fleetSide = float64(side) / float64(r.n)
	return nil
}

type workflowInfo struct {
	workflowID    string
	runID         string
	historyLength int64
	fields        map[string]string
	start, close  time.Time
}

func (w *workflowInfo) keyword(name string) string { return w.fields[name] }

// closed reports whether the workflow has closed (a running one's close time is the epoch).
func (w *workflowInfo) closed() bool { return w.close.After(w.start) }

// list pages through visibility.
func (b *bench) list(ctx context.Context, query string, each func(*workflowInfo)) error {
	var token []byte
	for {
		resp, err := b.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return fmt.Errorf("list %s: %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			info := &workflowInfo{workflowID: e.GetExecution().GetWorkflowId(), runID: e.GetExecution().GetRunId(), historyLength: e.GetHistoryLength(), fields: map[string]string{},
				start: e.GetStartTime().AsTime(), close: e.GetCloseTime().AsTime()}
			for k, p := range e.GetSearchAttributes().GetIndexedFields() {
				var s string
				if converter.GetDefaultDataConverter().FromPayload(p, &s) == nil {
					info.fields[k] = s
				}
			}
			each(info)
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

// historyLength sums the history lengths of every run the query lists.
func (b *bench) historyLength(ctx context.Context, query string) int {
	total := 0
	_ = b.list(ctx, query, func(e *workflowInfo) { total += int(e.historyLength) })
	return total
}

func (b *bench) countEvents(ctx context.Context, workflowID string, typ enumspb.EventType) int {
	n := 0
	b.eachEvent(ctx, workflowID, "", func(e *historypb.HistoryEvent) bool {
		if e.GetEventType() == typ {
			n++
		}
		return true
	})
	return n
}

// eachEvent hands the events of a workflow run's history (runID "": the current run) to each,
// in order, until each returns false or the history ends (or cannot be read).
func (b *bench) eachEvent(ctx context.Context, workflowID, runID string, each func(*historypb.HistoryEvent) bool) {
	iter := b.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil || !each(e) {
			return
		}
	}
}

// eventName names an event for a person: its ID, its type and what it is about.
func eventName(e *historypb.HistoryEvent) string {
	name := fmt.Sprintf("%d %s", e.GetEventId(), e.GetEventType())
	if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
		name += " " + a.GetActivityType().GetName()
	}
	if a := e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); a != nil {
		name += " " + a.GetSignalName() + " to " + a.GetWorkflowExecution().GetWorkflowId()
	}
	if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
		name += " " + a.GetSignalName()
	}
	if a := e.GetTimerStartedEventAttributes(); a != nil {
		name += " " + a.GetStartToFireTimeout().AsDuration().String()
	}
	if a := e.GetActivityTaskFailedEventAttributes(); a != nil {
		name += " " + a.GetFailure().GetMessage()
	}
	return name
}

type floorRun struct {
	n          int
	took       time.Duration
	cpu        cpuTimes
	childEvent int64
	parentSide float64
	inFlight   []float64
	firstTask  time.Duration
	// child and parent are what a child and the parent (per child) cost the engine (cost.go).
	child, parent costs
}

func (r floorRun) perSecond() float64 { return float64(r.n) / r.took.Seconds() }

// floorRun runs the engine's floor: n children of `activities` no-op activities, same window.
func (b *bench) floorRun(ctx context.Context, n, activities int) (floorRun, error) {
	b.seq++
	id := fmt.Sprintf("floor-%02d", b.seq)
	r := floorRun{n: n}
	cpu0 := readCPU()
	start := time.Now()
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: floorQueue}, FloorFleet,
		FloorInput{RunID: id, N: n, Window: b.o.window, Activities: activities})
	if err != nil {
		return r, err
	}
	if err := run.Get(ctx, nil); err != nil {
		return r, fmt.Errorf("floor %s: %w", id, err)
	}
	r.took = time.Since(start)
	r.cpu = readCPU().minus(cpu0)
	if d, err := b.c.DescribeWorkflowExecution(ctx, id+"-0", ""); err == nil {
		r.childEvent = d.GetWorkflowExecutionInfo().GetHistoryLength()
	}
	r.parentSide = float64(b.historyLength(ctx, fmt.Sprintf("WorkflowId = '%s'", id))) / float64(n)
	var spans []span
	var ids []string
	_ = b.list(ctx, fmt.Sprintf("WorkflowType = 'FloorDevice' AND StartTime >= '%s'", start.UTC().Format(time.RFC3339Nano)), func(e *workflowInfo) {
		if strings.HasPrefix(e.workflowID, id+"-") {
			spans = append(spans, span{e.start, e.close})
			ids = append(ids, e.workflowID)
		}
	})
	r.inFlight = occupancy(spans, occupancyBins)
	r.firstTask = b.firstTaskWaitOf(ctx, ids)
	r.child, r.parent = b.readFloorCosts(ctx, id, ids, n)
	runtime.GC()
	return r, nil
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// batchWaits reads, from a sample of ADE devices' histories, how long each waited between its
// request to the batcher and the batcher's answer.
func (b *bench) batchWaits(ctx context.Context, devices []workflows.FleetDevice) (mean, longest time.Duration) {
	var total time.Duration
	n := 0
	for _, d := range devices {
		if !d.Request.Enrollment.IsADE() || n >= 30 {
			continue
		}
		var asked time.Time
		b.eachEvent(ctx, contract.DeviceWorkflowID(d.Request.Serial), "", func(e *historypb.HistoryEvent) bool {
			switch {
			case e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes().GetSignalName() == "unassign-request" && asked.IsZero():
				asked = e.GetEventTime().AsTime()
			case e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == "unassign-result" && !asked.IsZero():
				w := e.GetEventTime().AsTime().Sub(asked)
				total += w
				longest = max(longest, w)
				n++
				asked = time.Time{}
			}
			return true
		})
	}
	if n == 0 {
		return 0, 0
	}
	return total / time.Duration(n), longest
}

// gap is the longest wait in a history: between two events, and what they were.
type gap struct {
	from, to time.Time
	what     string
}

func (g gap) String() string {
	if g.what == "" {
		return "no history"
	}
	return g.what
}

// longestGap finds the longest time between two events of a workflow's history.
func (b *bench) longestGap(ctx context.Context, workflowID string) gap {
	var g gap
	var prev time.Time
	var prevName string
	b.eachEvent(ctx, workflowID, "", func(e *historypb.HistoryEvent) bool {
		t, name := e.GetEventTime().AsTime(), eventName(e)
		if !prev.IsZero() && t.Sub(prev) > g.to.Sub(g.from) {
			g = gap{from: prev, to: t, what: fmt.Sprintf("longest wait %s between %s and %s", t.Sub(prev).Round(time.Millisecond), prevName, name)}
		}
		prev, prevName = t, name
		return true
	})
	return g
}

// firstTaskWait reads, from a sample of devices' histories, how long each waited between its start
// and its first workflow task: a new workflow's first task is on the normal queue, which a worker
// polls only when its sticky queue has no backlog.
func (b *bench) firstTaskWait(ctx context.Context, devices []workflows.FleetDevice) time.Duration {
	ids := make([]string, len(devices))
	for i, d := range devices {
		ids[i] = contract.DeviceWorkflowID(d.Request.Serial)
	}
	return b.firstTaskWaitOf(ctx, ids)
}

func (b *bench) firstTaskWaitOf(ctx context.Context, ids []string) time.Duration {
	var total time.Duration
	n := 0
	for i := 0; i < len(ids) && n < 50; i += max(len(ids)/50, 1) {
		var started time.Time
		b.eachEvent(ctx, ids[i], "", func(e *historypb.HistoryEvent) bool {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				started = e.GetEventTime().AsTime()
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				total += e.GetEventTime().AsTime().Sub(started)
				n++
				return false
			}
			return true
		})
	}
	if n == 0 {
		return 0
	}
	return total / time.Duration(n)
}
