package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// Apple's budget, as the bench measures it: what every measurement asked Apple Business (the
// simulator's counts, by endpoint), the 429s the budget answered and the injected ones, the
// requests sent before a Retry-After had passed, and, from the ledger, whether every ADE device
// was unassigned exactly once. The simulator keeps Apple's budget (20 GETs a minute, 10 POSTs an
// hour) in simulated time; the workers' Apple coordinator keeps the same budget scaled to real
// time (internal/stack).

// appleEndpoints are the endpoints the figures show, with their short names.
var appleEndpoints = []struct{ name, endpoint string }{
	{"read", simulator.EndpointAssignedServer},
	{"POST", simulator.EndpointCreateActivity},
	{"poll", simulator.EndpointActivity},
	{"list", simulator.EndpointServerDevices},
}

// appleReading is the simulator's and the coordinator's counts at one moment.
type appleReading struct {
	req     simulator.AppleRequests
	stats   simulator.Stats
	coord   workflows.CoordinatorTotals
	coordOK bool
}

// appleFigures are the Apple figures of one measurement.
type appleFigures struct {
	ade        int
	req        simulator.AppleRequests // this measurement's requests (the difference of two readings)
	activities int                     // UNASSIGN_DEVICES activities Apple created
	simulated  time.Duration           // the simulated time the measurement took
	coord      workflows.CoordinatorTotals
	coordOK    bool
	// never and twice count the ADE devices unassigned (UNASSIGN_DEVICES accepted for their
	// serial) no time and more than once; strays the other devices unassigned at all.
	never, twice, strays int
}

// readApple reads the simulator's Apple counts and the coordinator's totals (none before the
// coordinator's first run on this server).
func (b *bench) readApple(ctx context.Context) appleReading {
	r := appleReading{req: b.world.Sim.AppleRequests(), stats: b.world.Sim.Stats()}
	cfg := b.world.WorkerConfig().Apple
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if v, err := b.c.QueryWorkflow(qctx, workflows.CoordinatorWorkflowID(cfg.ClientID, cfg.ServerID), "", workflows.QueryAppleQueue); err == nil {
		var st workflows.CoordinatorStatus
		if v.Get(&st) == nil {
			r.coord, r.coordOK = st.Totals, true
		}
	}
	return r
}

// appleSince is what Apple was asked since before, and how the devices' serials stand in the
// ledger. Call it before the simulator is reset.
func (b *bench) appleSince(ctx context.Context, before appleReading, devices []workflows.FleetDevice) appleFigures {
	after := b.readApple(ctx)
	f := appleFigures{req: appleDelta(after.req, before.req), activities: after.stats.Activities - before.stats.Activities,
		simulated: after.stats.SimNow.Sub(before.stats.SimNow), coordOK: after.coordOK}
	if after.coordOK {
		f.coord = totalsDelta(after.coord, before.coord)
	}
	for _, d := range devices {
		n := simulator.CountLedger(b.world.Sim.Ledger(d.Request.Serial), applebusiness.ActivityUnassignDevices, simulator.OutcomeAccepted)
		switch {
		case !d.Request.Enrollment.IsADE():
			if n > 0 {
				f.strays++
			}
		case n == 0:
			f.ade++
			f.never++
		case n > 1:
			f.ade++
			f.twice++
		default:
			f.ade++
		}
	}
	return f
}

func appleDelta(a, b simulator.AppleRequests) simulator.AppleRequests {
	out := simulator.AppleRequests{Budget: a.Budget, Endpoints: map[string]simulator.AppleEndpointRequests{},
		Requests: a.Requests - b.Requests, RateLimited: a.RateLimited - b.RateLimited,
		InjectedRateLimited: a.InjectedRateLimited - b.InjectedRateLimited, RetryAfterViolations: a.RetryAfterViolations - b.RetryAfterViolations,
		UnassignRetryAfterViolations: a.UnassignRetryAfterViolations - b.UnassignRetryAfterViolations}
	for name, x := range a.Endpoints {
		y := b.Endpoints[name]
		out.Endpoints[name] = simulator.AppleEndpointRequests{Requests: x.Requests - y.Requests, RateLimited: x.RateLimited - y.RateLimited,
			InjectedRateLimited: x.InjectedRateLimited - y.InjectedRateLimited, RetryAfterViolations: x.RetryAfterViolations - y.RetryAfterViolations}
	}
	return out
}

func totalsDelta(a, b workflows.CoordinatorTotals) workflows.CoordinatorTotals {
	return workflows.CoordinatorTotals{Runs: a.Runs - b.Runs, GETs: a.GETs - b.GETs, POSTs: a.POSTs - b.POSTs, RateLimited: a.RateLimited - b.RateLimited,
		BulkPages: a.BulkPages - b.BulkPages, Reads: a.Reads - b.Reads, Unassigned: a.Unassigned - b.Unassigned, Failed: a.Failed - b.Failed,
		Requeued: a.Requeued - b.Requeued, LastListPages: a.LastListPages}
}

// add sums two measurements' figures (the rounds of a size).
func (f appleFigures) add(g appleFigures) appleFigures {
	r := f
	if r.req.Endpoints == nil {
		r.req.Endpoints = map[string]simulator.AppleEndpointRequests{}
	}
	r.req.Budget = g.req.Budget
	r.req.Requests += g.req.Requests
	r.req.RateLimited += g.req.RateLimited
	r.req.InjectedRateLimited += g.req.InjectedRateLimited
	r.req.RetryAfterViolations += g.req.RetryAfterViolations
	r.req.UnassignRetryAfterViolations += g.req.UnassignRetryAfterViolations
	for name, x := range g.req.Endpoints {
		y := r.req.Endpoints[name]
		r.req.Endpoints[name] = simulator.AppleEndpointRequests{Requests: x.Requests + y.Requests, RateLimited: x.RateLimited + y.RateLimited,
			InjectedRateLimited: x.InjectedRateLimited + y.InjectedRateLimited, RetryAfterViolations: x.RetryAfterViolations + y.RetryAfterViolations}
	}
	r.ade += g.ade
	r.activities += g.activities
	r.simulated += g.simulated
	r.coordOK = r.coordOK || g.coordOK
	c, d := r.coord, g.coord
	r.coord = workflows.CoordinatorTotals{Runs: c.Runs + d.Runs, GETs: c.GETs + d.GETs, POSTs: c.POSTs + d.POSTs, RateLimited: c.RateLimited + d.RateLimited,
		BulkPages: c.BulkPages + d.BulkPages, Reads: c.Reads + d.Reads, Unassigned: c.Unassigned + d.Unassigned, Failed: c.Failed + d.Failed,
		Requeued: c.Requeued + d.Requeued, LastListPages: d.LastListPages}
	r.never += g.never
	r.twice += g.twice
	r.strays += g.strays
	return r
}

func (f appleFigures) perADE(requests int) float64 { return float64(requests) / float64(max(f.ade, 1)) }

// budgetShare is the share of the requests that the budget answered 429.
func (f appleFigures) budgetShare() float64 {
	return float64(f.req.RateLimited) / float64(max(f.req.Requests, 1))
}

// exactlyOnce reports whether every ADE device was unassigned once and no other device at all.
func (f appleFigures) exactlyOnce() bool { return f.never == 0 && f.twice == 0 && f.strays == 0 }

// byEndpoint is each endpoint's requests a device, e.g. "read 0.01, POST 0.20, poll 0.25, list 0.00".
func (f appleFigures) byEndpoint() string {
	s := ""
	for i, e := range appleEndpoints {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %.3f", e.name, f.perADE(f.req.Endpoints[e.endpoint].Requests))
	}
	return s
}

// once says how the ADE devices were unassigned.
func (f appleFigures) once() string {
	s := fmt.Sprintf("%d of %d", f.ade-f.never-f.twice, f.ade)
	if f.never > 0 || f.twice > 0 || f.strays > 0 {
		s += fmt.Sprintf(" (never %d, more than once %d, non-ADE unassigned %d)", f.never, f.twice, f.strays)
	}
	return s
}

// print writes the figures of one measurement, indented under its line.
func (f appleFigures) print(w io.Writer) {
	fmt.Fprintf(w, "  Apple: %d requests for %d ADE devices, %.3f a device (%s); 429s: %d of the budget (%.2f%% of requests), %d injected; "+
		"Retry-After violations %d (of them unassign POSTs %d)\n",
		f.req.Requests, f.ade, f.perADE(f.req.Requests), f.byEndpoint(), f.req.RateLimited, 100*f.budgetShare(), f.req.InjectedRateLimited,
		f.req.RetryAfterViolations, f.req.UnassignRetryAfterViolations)
	per := "-"
	if f.activities > 0 {
		per = fmt.Sprintf("%.1f", float64(f.ade)/float64(f.activities))
	}
	budget := f.req.Budget
	fmt.Fprintf(w, "  Apple: %d UNASSIGN_DEVICES activities (%s ADE devices each) in %s simulated, where the budget allows %d POSTs and %d GETs; "+
		"429s by endpoint: %s\n", f.activities, per, f.simulated.Round(time.Minute), allowed(budget.PostPerHour, time.Hour, f.simulated),
		allowed(budget.GetPerMinute, time.Minute, f.simulated), f.limitedByEndpoint())
	fmt.Fprintf(w, "  Apple: unassigned exactly once: %s; never: %d, more than once: %d\n", f.once(), f.never, f.twice)
	if f.coordOK {
		c := f.coord
		fmt.Fprintf(w, "  Apple coordinator: %d GETs, %d POSTs, %d answered 429, %d bulk pages, %d reads answered, %d unassigned, %d failed, %d requeued\n",
			c.GETs, c.POSTs, c.RateLimited, c.BulkPages, c.Reads, c.Unassigned, c.Failed, c.Requeued)
	}
}

// limitedByEndpoint lists the 429s (budget+injected) and Retry-After violations of each endpoint
// that had any.
func (f appleFigures) limitedByEndpoint() string {
	s := ""
	for _, e := range appleEndpoints {
		c := f.req.Endpoints[e.endpoint]
		if c.RateLimited+c.InjectedRateLimited+c.RetryAfterViolations == 0 {
			continue
		}
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s %d+%d (violations %d)", e.name, c.RateLimited, c.InjectedRateLimited, c.RetryAfterViolations)
	}
	if s == "" {
		return "none"
	}
	return s
}

// allowed is how many requests a budget of n per period allows in d: n at once, then n a period.
func allowed(n int, period, d time.Duration) int {
	if n <= 0 {
		return 0
	}
	return n + int(float64(n)*d.Seconds()/period.Seconds())
}

// appleScenario is one measurement of the Apple scenarios: a fleet, single devices started one
// after another as a pipeline starts them, or both at once.
type appleScenario struct {
	label          string
	fleet, singles int
	took           time.Duration
	apple          appleFigures
	outcomes       map[string]int // every device's outcome, fleet and singles together
	stuck          string         // why the measurement was given up, if it was
}

// stuckError is a measurement given up because the Apple coordinator stopped making progress:
// the bench reports it and goes on with the next measurement, on a fresh server.
type stuckError struct{ error }

func (e stuckError) Unwrap() error { return e.error }

// coordinatorWatch is how often a measurement checks that the Apple coordinator still makes
// progress.
const coordinatorWatch = 10 * time.Second

// coordinatorStuck reports an error when the Apple coordinator's workflow task keeps failing (a
// panic in the workflow, say): every ADE device of the organisation then waits on it for ever,
// and a measurement that waited for them would never end.
func (b *bench) coordinatorStuck(ctx context.Context) error {
	cfg := b.world.WorkerConfig().Apple
	id := workflows.CoordinatorWorkflowID(cfg.ClientID, cfg.ServerID)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The newest events first, one page: the workflow tasks since the last one that completed.
	resp, err := b.c.WorkflowService().GetWorkflowExecutionHistoryReverse(rctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace: b.namespace(), Execution: &commonpb.WorkflowExecution{WorkflowId: id}, MaximumPageSize: 200})
	if err != nil {
		return nil // none yet, or the server is slow: not a verdict
	}
	var newest *failurepb.Failure
	failed := 0
	for _, e := range resp.GetHistory().GetEvents() {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			break
		}
		if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil {
			if newest == nil {
				newest = a.GetFailure()
			}
			failed++
		}
	}
	if failed < 3 {
		return nil
	}
	why := newest.GetMessage()
	lines := strings.Split(newest.GetStackTrace(), "\n")
	for i, line := range lines {
		if i > 0 && strings.Contains(line, "/workflows/") && strings.Contains(line, ".go:") {
			fn := strings.TrimSpace(lines[i-1])
			if j := strings.LastIndexByte(fn, '('); j > 0 {
				fn = fn[:j]
			}
			why += fmt.Sprintf(" in %s (%s)", fn, strings.Fields(line)[0])
			break
		}
	}
	return fmt.Errorf("the Apple coordinator (%s) is stuck: its last %d workflow tasks failed, none completed since: %s", id, failed, why)
}

// appleRun retires a fleet of fleetN devices (none: 0) and singlesN single devices, each its own
// DeviceOffboarding started by the client the way `starter start --yes` starts it, one every
// stagger, both from the same moment on.
func (b *bench) appleRun(ctx context.Context, label string, fleetN, singlesN int) (appleScenario, error) {
	b.seq++
	s := appleScenario{label: label, fleet: fleetN, singles: singlesN, outcomes: map[string]int{}}
	fspecs, fdevices, _ := benchDevices(fmt.Sprintf("F%02d", b.seq), fleetN)
	sspecs, sdevices, _ := benchDevices(fmt.Sprintf("S%02d", b.seq), singlesN)
	if err := b.world.Sim.AddDevices(append(fspecs, sspecs...)...); err != nil {
		return s, err
	}
	before := b.readApple(ctx)
	tctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Minute)
	defer cancelTimeout()
	rctx, cancel := context.WithCancelCause(tctx)
	defer cancel(nil)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		t := time.NewTicker(coordinatorWatch)
		defer t.Stop()
		for {
			select {
			case <-stopWatch:
				return
			case <-t.C:
				if err := b.coordinatorStuck(ctx); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	record := func(outcome string, err error) {
		mu.Lock()
		defer mu.Unlock()
		s.outcomes[outcome]++
		if err != nil {
			errs = append(errs, err)
		}
	}
	start := time.Now()
	if fleetN > 0 {
		id := fmt.Sprintf("apple-%02d", b.seq)
		run, err := b.c.ExecuteWorkflow(rctx, client.StartWorkflowOptions{
			ID: contract.FleetWorkflowID(id), TaskQueue: contract.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAFleetID.ValueSet(id)),
		}, contract.FleetWorkflowType, workflows.FleetInput{FleetID: id, Devices: fdevices, Window: b.o.window, Confirmed: true,
			Timing: benchTiming, CensusEvery: b.o.census, RequestedBy: "make bench"})
		if err != nil {
			return s, err
		}
		wg.Go(func() {
			var p workflows.FleetProgress
			if err := run.Get(rctx, &p); err != nil {
				if rctx.Err() != nil {
					record("fleet unfinished", nil) // given up: see the cause
					return
				}
				record("fleet failed", fmt.Errorf("fleet %s: %w", id, err))
				return
			}
			mu.Lock()
			for state, n := range p.ByState {
				s.outcomes[state] += n
			}
			mu.Unlock()
		})
	}
	for i, d := range sdevices {
		if i > 0 && rctx.Err() == nil {
			time.Sleep(b.o.appleStagger)
		}
		if rctx.Err() != nil {
			record("not started", nil) // given up: see the cause
			continue
		}
		run, err := b.startSingle(rctx, d)
		if err != nil {
			record("start-failed", err)
			continue
		}
		wg.Go(func() {
			var res workflows.DeviceResult
			if err := run.Get(rctx, &res); err != nil {
				if rctx.Err() != nil {
					record("unfinished", nil) // given up: see the cause
					return
				}
				record("failed", fmt.Errorf("device %s: %w", d.Request.Serial, err))
				return
			}
			record(res.Outcome, nil)
		})
	}
	wg.Wait()
	s.took = time.Since(start)
	s.apple = b.appleSince(ctx, before, append(fdevices, sdevices...))
	b.world.Sim.Reset()
	if cause := context.Cause(rctx); cause != nil && !errors.Is(cause, context.Canceled) {
		s.stuck = cause.Error()
		return s, stuckError{fmt.Errorf("%s: %w", label, cause)}
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("%s: %d devices did not finish, the first: %w", label, len(errs), errs[0])
	}
	return s, nil
}

// startSingle starts one device on its own, as `starter start --yes` does
// (workflows.DeviceStartOptions: its workflow ID is the lock; no fleet).
func (b *bench) startSingle(ctx context.Context, d workflows.FleetDevice) (client.WorkflowRun, error) {
	plan, err := procedure.Plan(d.Request)
	if err != nil {
		return nil, err
	}
	in := workflows.DeviceInput{Request: d.Request, Contact: d.Contact, RequestedBy: "make bench (a pipeline)", Confirmed: true, Timing: benchTiming}
	return b.c.ExecuteWorkflow(ctx, workflows.DeviceStartOptions(d.Request.Serial, plan.Path), contract.DeviceWorkflowType, in)
}

// appleScenarios runs (b) the single devices and (c) the fleet and the singles at once, each on
// a fresh dev server.
func (b *bench) appleScenarios(ctx context.Context) ([]appleScenario, error) {
	var out []appleScenario
	runs := []struct {
		label          string
		fleet, singles int
	}{
		{fmt.Sprintf("(b) %d single devices, one every %s", b.o.appleSingles, b.o.appleStagger), 0, b.o.appleSingles},
		{fmt.Sprintf("(c) fleet of %d + %d single devices at once", b.o.appleFleet, b.o.appleSingles), b.o.appleFleet, b.o.appleSingles},
	}
	for _, r := range runs {
		if r.fleet+r.singles == 0 {
			continue
		}
		if err := b.fresh(ctx); err != nil {
			return out, err
		}
		fmt.Printf("Apple %s ...\n", r.label)
		s, err := b.appleRun(ctx, r.label, r.fleet, r.singles)
		var stuck stuckError
		switch {
		case errors.As(err, &stuck):
			fmt.Printf("  GIVEN UP after %s: %v\n", s.took.Round(time.Second), err)
		case err != nil:
			return out, err
		}
		fmt.Printf("  %s; outcomes %v\n", s.took.Round(time.Second), s.outcomes)
		s.apple.print(os.Stdout)
		fmt.Println()
		out = append(out, s)
	}
	return out, nil
}

// appleReport prints the Apple table, (a) from the fleet measurements, and what 10,000 ADE
// devices take against the real budget.
func appleReport(w io.Writer, o options, results []sizeResult, stuck, scenarios []appleScenario) {
	rows := make([]appleScenario, 0, len(results)+len(stuck)+len(scenarios))
	for _, r := range results {
		var f appleFigures
		var took time.Duration
		outcomes := map[string]int{}
		for _, run := range r.fleets {
			f = f.add(run.apple)
			took += run.took
			for k, v := range run.outcomes {
				outcomes[k] += v
			}
		}
		rounds := ""
		if len(r.fleets) > 1 {
			rounds = fmt.Sprintf(" (%d rounds together)", len(r.fleets))
		}
		rows = append(rows, appleScenario{label: fmt.Sprintf("(a) fleet of %d%s", r.n, rounds), fleet: r.n, took: took / time.Duration(max(len(r.fleets), 1)),
			apple: f, outcomes: outcomes})
	}
	rows = append(rows, stuck...)
	rows = append(rows, scenarios...)
	if len(rows) == 0 {
		return
	}
	budget := rows[0].apple.req.Budget
	fmt.Fprintf(w, "\nApple Business requests (the simulator's budget: %d GETs a minute, %d POSTs an hour, simulated time at %gx; the workers' coordinator the same, scaled)\n\n",
		budget.GetPerMinute, budget.PostPerHour, o.scale)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tADE devices\tApple requests\ta device\tread/POST/poll/list a device\tactivities\t429s budget/injected\tbudget 429s\tRetry-After violations\tunassigned exactly once\ttime\t")
	for _, s := range rows {
		f := s.apple
		var parts []string
		for _, e := range appleEndpoints {
			parts = append(parts, fmt.Sprintf("%.3f", f.perADE(f.req.Endpoints[e.endpoint].Requests)))
		}
		took := s.took.Round(time.Second).String()
		if s.stuck != "" {
			took = "given up after " + took
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%s/%s/%s/%s\t%d\t%d/%d\t%.2f%%\t%d\t%s\t%s\t\n", s.label, f.ade, f.req.Requests, f.perADE(f.req.Requests),
			parts[0], parts[1], parts[2], parts[3], f.activities, f.req.RateLimited, f.req.InjectedRateLimited, 100*f.budgetShare(),
			f.req.RetryAfterViolations, f.once(), took)
	}
	_ = tw.Flush()
	var failed []string
	for _, s := range rows {
		f := s.apple
		if s.stuck != "" {
			failed = append(failed, fmt.Sprintf("%s: given up after %s: %s", s.label, s.took.Round(time.Second), s.stuck))
		}
		if !f.exactlyOnce() {
			failed = append(failed, fmt.Sprintf("%s: ADE devices never unassigned %d, unassigned more than once %d, non-ADE devices unassigned %d", s.label, f.never, f.twice, f.strays))
		}
		if f.budgetShare() >= 0.01 {
			failed = append(failed, fmt.Sprintf("%s: the budget answered %d of %d requests 429 (%.2f%%, the aim is under 1%%)", s.label, f.req.RateLimited, f.req.Requests, 100*f.budgetShare()))
		}
		if f.req.UnassignRetryAfterViolations > 0 {
			failed = append(failed, fmt.Sprintf("%s: %d unassign POSTs sent before a Retry-After had passed", s.label, f.req.UnassignRetryAfterViolations))
		}
	}
	if len(failed) == 0 {
		fmt.Fprintln(w, "Every ADE device unassigned exactly once; the budget's 429s under 1% of the requests; no unassign POST before its Retry-After.")
	}
	for _, s := range failed {
		fmt.Fprintln(w, "NOT MET:", s)
	}
	// The projection starts from the largest measurement with activities.
	var from *appleScenario
	for i := range rows {
		if rows[i].stuck == "" && rows[i].apple.activities > 0 && (from == nil || rows[i].apple.ade > from.apple.ade) {
			from = &rows[i]
		}
	}
	if from != nil {
		projection(w, o, *from)
	}
}

// projection says how long 10,000 ADE devices take against Apple's real budget.
func projection(w io.Writer, o options, from appleScenario) {
	const (
		n          = 10000
		getPerMin  = simulator.DefaultAppleGetPerMinute
		postPerH   = simulator.DefaultApplePostPerHour
		activityIn = simulator.DefaultActivityDelay // how long the simulator's activity runs (simulated)
	)
	batch := applebusiness.MaxActivityDevices
	f := from.apple
	prod := workflows.DefaultTiming().ApplePoll
	posts := (n + batch - 1) / batch
	pages := (n + applebusiness.MaxDevicesPageLimit - 1) / applebusiness.MaxDevicesPageLimit
	measuredPolls := float64(f.req.Endpoints[simulator.EndpointActivity].Requests) / float64(f.activities)
	prodPolls := math.Ceil(activityIn.Seconds() / prod.Seconds())
	gets := float64(pages) + float64(posts)*prodPolls
	getMinutes := max(gets-getPerMin, 0) / getPerMin
	onePOST := float64(n-postPerH) / postPerH
	fmt.Fprintf(w, "\n10,000 ADE devices against Apple's real budget (at most %d GETs in a minute and %d POSTs in an hour), from %s:\n", getPerMin, postPerH, from.label)
	fmt.Fprintf(w, "  §5 in activities of up to %d serials: %d POSTs, inside the first hour's %d: no wait for the POST budget.\n",
		batch, posts, postPerH)
	fmt.Fprintf(w, "  One POST a device instead: %d POSTs, %d at once and then %d an hour: %.0f hours (%.1f days).\n", n, postPerH, postPerH, onePOST, onePOST/24)
	fmt.Fprintf(w, "  GETs: the pre-flight reads in bulk, %d pages of %d (one read each: %d GETs, %.1f hours); polls: %.1f an activity measured here "+
		"(poll %s real = %s simulated against an activity of %s), %.0f at the default poll of %s: %d activities x %.0f + %d pages = %.0f GETs, "+
		"%.1f minutes of GET budget beyond the first minute's %d.\n",
		pages, applebusiness.MaxDevicesPageLimit, n, float64(n-getPerMin)/getPerMin/60, measuredPolls, benchTiming.ApplePoll,
		time.Duration(float64(benchTiming.ApplePoll)*o.scale).Round(time.Second), activityIn, prodPolls, prod, posts, prodPolls, pages, gets, getMinutes, getPerMin)
	fmt.Fprintf(w, "  So: 10 activities of 1,000 take the first hour's POSTs and about %.0f minutes of GETs. 10 POSTs an hour is the §5 step's "+
		"physical limit: 10,000 devices an hour at 1,000 a POST, %d an hour at 1 a POST.\n", max(getMinutes, activityIn.Minutes()), postPerH)
	per := f.perADE(f.req.Requests)
	postsPer := f.perADE(f.req.Endpoints[simulator.EndpointCreateActivity].Requests)
	getsPer := per - postsPer
	fmt.Fprintf(w, "  At the measured rate (%.3f requests an ADE device, %.3f of them POSTs: %.1f devices an activity): %.0f POSTs = %.0f hours of POST budget "+
		"and %.0f GETs = %.0f minutes of GET budget for 10,000 devices; batches that small come from devices reaching §5 a few at a time, "+
		"and while the POST budget is spent the coordinator lets a batch grow (up to 1,000), so that is a ceiling, not a forecast.\n",
		per, postsPer, 1/max(postsPer, 1e-9), postsPer*n, max(postsPer*n-postPerH, 0)/postPerH, getsPer*n, max(getsPer*n-getPerMin, 0)/getPerMin)
	var windows []string
	for _, window := range []int{50, 100, max(o.window, 1), 1000} {
		text := fmt.Sprintf("window %d: %d POSTs", window, (n+window-1)/window)
		if p := (n + window - 1) / window; p > postPerH {
			text += fmt.Sprintf(", %.0f hours", float64(p-postPerH)/postPerH)
		}
		if !slices.Contains(windows, text) {
			windows = append(windows, text)
		}
	}
	fmt.Fprintf(w, "  Assumptions: every device reaches §5 inside the same gathering (a fleet window of at least 1,000, the most is %d; a window "+
		"caps a batch at its devices, and while the POST budget holds them every device of the window waits at §5: %s); "+
		"the organisation's server holds only these devices (the bulk read pages the whole server); Apple's activity takes %s as "+
		"the simulator's does; nothing fails (a device not unassigned is read and sent again).\n",
		workflows.MaxFleetWindow, strings.Join(windows, "; "), activityIn)
}
