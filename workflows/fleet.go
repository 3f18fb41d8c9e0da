package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/offboard/offboard/internal/contract"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/procedure"
)

// FleetRetirement retires many devices: a sliding window of DeviceOffboarding children (IDs
// offboard-<SERIAL>, so a device is never offboarded twice at once), which outlive the fleet's
// continue-as-new (ParentClosePolicy ABANDON) and report back by the device-finished signal. The
// device list is read a page at a time from FleetDeviceList; a continue-as-new carries only the
// cursor, the devices running and the counts. See docs/fleet.md.

// Defaults of a fleet.
const (
	DefaultFleetWindow = 50
	// MaxFleetWindow bounds the window: each running device is a child the fleet keeps in its state.
	MaxFleetWindow     = 2000
	defaultPageSize    = 200
	defaultCensusEvery = time.Minute
	maxListed          = 100 // devices named in the progress query's lists
	recentFinishes     = 200 // finish times kept for the rate
)

// Device outcomes that only a fleet gives.
const (
	// OutcomeConflict: the device was not started because offboard-<SERIAL> runs already (another
	// fleet or caller), or finished earlier: the fleet never starts a device twice.
	OutcomeConflict = "conflict"
	// OutcomeLost: the device's workflow closed without telling the fleet (it was terminated).
	OutcomeLost = "lost"
	// OutcomeStartFailed: the fleet could not start the device's workflow.
	OutcomeStartFailed = "start-failed"
)

// Fleet states of the progress query.
const (
	FleetRunning   = "running"
	FleetPaused    = "paused"
	FleetFinished  = "finished"
	FleetCancelled = "cancelled"
)

// OnCancel is what cancelling a fleet does, as the progress query and the docs say it.
const OnCancel = "cancelling the fleet stops it starting devices; devices already running go on to their own outcome " +
	"(cancel one with `starter cancel <serial>`, list them with `starter list --fleet <id>`)"

// FleetDevice is one device of a fleet: a row of the fleet file, validated.
type FleetDevice struct {
	Request procedure.Request `json:"request"`
	Contact string            `json:"contact,omitempty"`
	// Line is the row's line in the fleet file, for reports.
	Line int `json:"line,omitempty"`
}

// FleetInput starts FleetRetirement.
type FleetInput struct {
	FleetID string `json:"fleetId"`
	// Devices is the validated fleet file. Only the first run carries it: that run hands it to
	// the fleet's device list (FleetDeviceList) and every run reads it from there a page at a time.
	Devices []FleetDevice `json:"devices,omitempty"`
	// Window is how many devices run at once (0: DefaultFleetWindow).
	Window      int    `json:"window,omitempty"`
	ConsoleMode string `json:"consoleMode,omitempty"`
	RequestedBy string `json:"requestedBy,omitempty"`
	// StartedBy is the person who starts the fleet (starter fleet start --by): required when the
	// fleet's wipes need a second person's approval, who must be someone else (fleet_approval.go).
	StartedBy string `json:"startedBy,omitempty"`
	// Confirmed records the fleet's typed confirmation (or --yes): every device of the list was
	// confirmed, wipes included.
	Confirmed bool   `json:"confirmed"`
	Timing    Timing `json:"timing,omitempty"`
	// CensusEvery is how often the fleet reads its running devices' steps from visibility
	// (0: a minute; negative: never).
	CensusEvery time.Duration `json:"censusEvery,omitempty"`
	// PageSize is how many devices a page of the list holds (0: 200).
	PageSize int `json:"pageSize,omitempty"`
	// MaxStartsPerRun forces a continue-as-new after this many starts (tests); 0: when the server
	// suggests it.
	MaxStartsPerRun int `json:"maxStartsPerRun,omitempty"`
	// State is what a continue-as-new carries; nil in the first run.
	State *FleetState `json:"state,omitempty"`
}

// RunningDevice is a device the fleet started and has not heard back from.
type RunningDevice struct {
	Path    string    `json:"path"`
	Started time.Time `json:"started"`
	// Missing counts censuses in a row that did not list the device as running.
	Missing int `json:"missing,omitempty"`
}

// FleetNote names a device that needs a person, and why.
type FleetNote struct {
	Serial    string `json:"serial"`
	Path      string `json:"path,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Step      string `json:"step,omitempty"`
	WaitingOn string `json:"waitingOn,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// FleetState is everything a fleet carries from one run to the next: no device list.
type FleetState struct {
	Total    int                      `json:"total"`
	Cursor   int                      `json:"cursor"` // devices taken from the list so far
	Running  map[string]RunningDevice `json:"running,omitempty"`
	Outcomes map[string]int           `json:"outcomes,omitempty"`
	// Attention lists finished devices that need a person (rejected, conflict, lost), the first
	// maxListed of them.
	Attention []FleetNote `json:"attention,omitempty"`
	Paused    bool        `json:"paused,omitempty"`
	StartedAt time.Time   `json:"startedAt"`
	Runs      int         `json:"runs"`
	// Recent are the finish times of the last devices, for the rate.
	Recent   []time.Time        `json:"recent,omitempty"`
	TimeSum  time.Duration      `json:"timeSum"` // time taken by the finished devices, summed
	Census   *activities.Census `json:"census,omitempty"`
	CensusAt *time.Time         `json:"censusAt,omitempty"`
	// Queue are the devices fetched from the list and not started yet (at most a page), carried
	// so the next run starts devices at once instead of asking the list first.
	Queue []FleetDevice `json:"queue,omitempty"`
	// Waits are the running devices waiting on a person at a step CLOMO PANEL does for many
	// devices at once, by serial; ReportSeq counts the fleet's reports for them, and Reports
	// keeps the last of those (fleet_steps.go).
	Waits     map[string]StepWait `json:"waits,omitempty"`
	ReportSeq int                 `json:"reportSeq,omitempty"`
	Reports   []FleetReportEntry  `json:"reports,omitempty"`
	// Approval is the second person's approval a fleet past the wipe threshold waits for
	// (fleet_approval.go); nil when it needs none.
	Approval *FleetApproval `json:"approval,omitempty"`
}

var fleetIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidFleetID checks a fleet ID: letters, digits, dot, dash and underscore, at most 64.
func ValidFleetID(id string) error {
	if !fleetIDPattern.MatchString(id) {
		return fmt.Errorf("fleet ID %q: use 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

var fleetActs *activities.Fleet

type fleet struct {
	in     FleetInput
	st     *FleetState
	id     string
	window int
	page   int
	logger log.Logger
	now    time.Time

	queue         []FleetDevice // devices fetched from the list, not started yet
	fetching      bool
	fetchSeq      int
	listErr       error
	pendingStarts int
	startsThisRun int
	cancelled     bool
	// reporting holds the steps whose report for many devices is being delivered.
	reporting map[procedure.StepID]bool

	finished, pages, pause, resume, waits workflow.ReceiveChannel
}

// FleetRetirement is the fleet's workflow.
func FleetRetirement(ctx workflow.Context, in FleetInput) (FleetProgress, error) {
	f, err := newFleet(ctx, in)
	if err != nil {
		return FleetProgress{FleetID: in.FleetID, Error: err.Error()}, err
	}
	return f.run(ctx)
}

func newFleet(ctx workflow.Context, in FleetInput) (*fleet, error) {
	if err := ValidFleetID(in.FleetID); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Rejected", nil)
	}
	if id := workflow.GetInfo(ctx).WorkflowExecution.ID; id != contract.FleetWorkflowID(in.FleetID) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("fleet %s: start it with workflow ID %s", in.FleetID, contract.FleetWorkflowID(in.FleetID)), "Rejected", nil)
	}
	if !in.Confirmed {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("fleet %s deletes the records of its devices and wipes some: "+
			"confirm by typing the fleet ID, or pass --yes; nothing was started", in.FleetID), "Rejected", nil)
	}
	f := &fleet{in: in, st: in.State, id: in.FleetID, window: in.Window, page: in.PageSize, now: workflow.Now(ctx),
		logger:   log.With(workflow.GetLogger(ctx), "fleet", in.FleetID),
		finished: workflow.GetSignalChannel(ctx, signalDeviceFinished), pages: workflow.GetSignalChannel(ctx, signalDevicePage),
		pause: workflow.GetSignalChannel(ctx, contract.SignalPause), resume: workflow.GetSignalChannel(ctx, contract.SignalResume),
		waits: workflow.GetSignalChannel(ctx, signalStepWait), reporting: map[procedure.StepID]bool{}}
	if f.window <= 0 {
		f.window = DefaultFleetWindow
	}
	f.window = min(f.window, MaxFleetWindow)
	if f.page <= 0 {
		f.page = defaultPageSize
	}
	if f.st == nil {
		f.st = &FleetState{Total: len(in.Devices), StartedAt: f.now}
	}
	if f.st.Running == nil {
		f.st.Running = map[string]RunningDevice{}
	}
	if f.st.Outcomes == nil {
		f.st.Outcomes = map[string]int{}
	}
	if f.st.Waits == nil {
		f.st.Waits = map[string]StepWait{}
	}
	f.queue, f.st.Queue = f.st.Queue, nil
	f.st.Runs++
	if err := workflow.SetQueryHandlerWithOptions(ctx, contract.QueryProgress, func() (FleetProgress, error) { return f.progress(), nil },
		workflow.QueryHandlerOptions{Description: "counts by state, step and what devices wait on; rate, ETA; the devices that need a person"}); err != nil {
		return nil, err
	}
	if err := f.registerPeople(ctx); err != nil {
		return nil, err
	}
	f.pumps(ctx)
	return f, nil
}

// pumps take the signals in as they come (see pump: none is lost to a continue-as-new).
func (f *fleet) pumps(ctx workflow.Context) {
	pump(ctx, f.finished, func() bool { return f.takeFinished(ctx) })
	pump(ctx, f.pages, func() bool { return takeOne(f.pages, func(p DevicePage) { f.pageArrived(ctx, p) }) })
	pump(ctx, f.waits, func() bool { return takeOne(f.waits, func(s StepWait) { f.stepWait(ctx, s) }) })
	pump(ctx, f.pause, func() bool {
		if !f.pause.ReceiveAsync(nil) {
			return false
		}
		f.setPaused(ctx, true)
		return true
	})
	pump(ctx, f.resume, func() bool {
		if !f.resume.ReceiveAsync(nil) {
			return false
		}
		f.setPaused(ctx, false)
		return true
	})
}

// takeFinished takes one device-finished signal, if one is there, and counts the device.
func (f *fleet) takeFinished(ctx workflow.Context) bool {
	return takeOne(f.finished, func(r DeviceResult) { f.deviceFinished(ctx, r) })
}

func (f *fleet) setPaused(ctx workflow.Context, paused bool) {
	f.now = workflow.Now(ctx)
	if f.st.Paused != paused {
		f.logger.Info("fleet paused", "paused", paused)
	}
	f.st.Paused = paused
	f.publish(ctx)
}

func (f *fleet) run(ctx workflow.Context) (FleetProgress, error) {
	if f.st.Runs == 1 && len(f.in.Devices) > 0 {
		if err := f.awaitApproval(ctx); err != nil {
			if temporal.IsCanceledError(err) || ctx.Err() != nil {
				return f.cancel(ctx)
			}
			return f.progress(), err
		}
		if err := f.startList(ctx); err != nil {
			return f.progress(), err
		}
		f.ensureBatcher(ctx)
	}
	f.in.Devices = nil // from here on the list is read from FleetDeviceList
	workflow.Go(ctx, f.pager)
	workflow.Go(ctx, f.censusLoop)
	f.publish(ctx)
	for {
		err := workflow.Await(ctx, func() bool {
			return f.listErr != nil || f.canStart() || f.shouldContinueAsNew(ctx) || f.done()
		})
		f.now = workflow.Now(ctx)
		switch {
		case err != nil:
			return f.cancel(ctx)
		case f.listErr != nil:
			return f.progress(), fmt.Errorf("fleet %s: the device list %s cannot be read: %w", f.id, FleetDeviceListID(f.id), f.listErr)
		case f.done():
			return f.complete(ctx)
		case f.shouldContinueAsNew(ctx):
			return f.continueAsNew(ctx)
		default:
			f.startNext(ctx)
		}
	}
}

// startList starts the fleet's device list, once, in the first run.
func (f *fleet) startList(ctx workflow.Context) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: FleetDeviceListID(f.id), TaskQueue: contract.TaskQueue, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(SAFleetID.ValueSet(f.id)),
		StaticSummary:         fmt.Sprintf("Device list of fleet %s (%d devices)", f.id, len(f.in.Devices)),
	})
	err := workflow.ExecuteChildWorkflow(cctx, FleetDeviceList, FleetDeviceListInput{FleetID: f.id, Devices: f.in.Devices}).
		GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("fleet %s: a device list %s is still open from an earlier fleet with this ID: "+
			"terminate it, or use another fleet ID", f.id, FleetDeviceListID(f.id)), "Rejected", nil)
	}
	return err
}

// ensureBatcher starts the Apple unassign batcher before the fleet's first ADE device needs it (a
// device starts it too when it finds none running).
func (f *fleet) ensureBatcher(ctx workflow.Context) {
	if !slices.ContainsFunc(f.in.Devices, func(d FleetDevice) bool { return d.Request.Enrollment.IsADE() }) {
		return
	}
	cctx := workflow.WithChildOptions(ctx, batcherChildOptions())
	err := workflow.ExecuteChildWorkflow(cctx, AppleUnassignBatcher, BatcherInput{}).GetChildWorkflowExecution().Get(ctx, nil)
	if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		f.logger.Warn("batcher not started: the devices start it when they need it", "error", err)
	}
}

func (f *fleet) canStart() bool {
	return !f.st.Paused && len(f.st.Running) < f.window && len(f.queue) > 0
}

func (f *fleet) done() bool {
	return f.st.Cursor >= f.st.Total && len(f.queue) == 0 && len(f.st.Running) == 0 && f.pendingStarts == 0
}

func (f *fleet) shouldContinueAsNew(ctx workflow.Context) bool {
	if f.done() {
		return false
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() || (f.in.MaxStartsPerRun > 0 && f.startsThisRun >= f.in.MaxStartsPerRun)
}

// pager keeps a page of devices ready: it asks the list for the next page when the queue runs low.
func (f *fleet) pager(ctx workflow.Context) {
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	for {
		if err := workflow.Await(ctx, func() bool {
			return !f.fetching && f.st.Cursor+len(f.queue) < f.st.Total && len(f.queue) <= f.page/2
		}); err != nil {
			return
		}
		f.fetching = true
		f.fetchSeq++
		req := PageRequest{RequestID: fmt.Sprintf("%s/%d", runID, f.fetchSeq), Offset: f.st.Cursor + len(f.queue), Limit: f.page,
			ReplyTo: contract.FleetWorkflowID(f.id)}
		if err := workflow.SignalExternalWorkflow(ctx, FleetDeviceListID(f.id), "", signalPageRequest, req).Get(ctx, nil); err != nil {
			if ctx.Err() == nil {
				f.listErr = err
			}
			return
		}
	}
}

// pageArrived queues the devices of the page the pager asked for; any other page (one asked for
// by an earlier run) is dropped.
func (f *fleet) pageArrived(ctx workflow.Context, p DevicePage) {
	want := fmt.Sprintf("%s/%d", workflow.GetInfo(ctx).WorkflowExecution.RunID, f.fetchSeq)
	if !f.fetching || p.RequestID != want || p.Offset != f.st.Cursor+len(f.queue) {
		return
	}
	f.queue = append(f.queue, p.Devices...)
	// A list shorter than the fleet was told ends where it ends: nothing more will come.
	f.st.Total = min(f.st.Total, p.Total)
	if len(p.Devices) == 0 {
		f.st.Total = min(f.st.Total, p.Offset)
	}
	f.fetching = false
}

// startNext starts the next device as a child. A device whose workflow runs already (or finished
// earlier) is not started again: its start fails, and the fleet reports the conflict.
func (f *fleet) startNext(ctx workflow.Context) {
	d := f.queue[0]
	f.queue = f.queue[1:]
	f.st.Cursor++
	f.startsThisRun++
	serial, err := procedure.NormalizeSerial(d.Request.Serial)
	if err != nil {
		f.record(FleetNote{Serial: d.Request.Serial, Outcome: OutcomeRejected, Detail: err.Error()}, 0)
		return
	}
	d.Request.Serial = serial
	plan, err := procedure.Plan(d.Request)
	if err != nil {
		f.record(FleetNote{Serial: serial, Outcome: OutcomeRejected, Detail: err.Error()}, 0)
		return
	}
	if _, running := f.st.Running[serial]; running {
		f.record(FleetNote{Serial: serial, Path: plan.Path, Outcome: OutcomeConflict, Detail: "listed twice in the fleet: started once"}, 0)
		return
	}
	f.st.Running[serial] = RunningDevice{Path: plan.Path, Started: f.now}
	// A disconnected context: cancelling the fleet must not cancel the devices it started (OnCancel);
	// the child's ParentClosePolicy alone does not stop a cancellation from reaching it.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	cctx := workflow.WithChildOptions(dctx, workflow.ChildWorkflowOptions{
		WorkflowID:            contract.DeviceWorkflowID(serial),
		TaskQueue:             contract.TaskQueue,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: temporal.NewSearchAttributes(SADeviceSerial.ValueSet(serial), SAOffboardPath.ValueSet(plan.Path),
			SAOffboardStep.ValueSet(string(procedure.Preflight)), SAWaitingOn.ValueSet(string(procedure.PartyConsole)), SAFleetID.ValueSet(f.id)),
		StaticSummary: fmt.Sprintf("Offboard %s (%s), fleet %s", serial, plan.Path, f.id),
	})
	child := workflow.ExecuteChildWorkflow(cctx, DeviceOffboarding, DeviceInput{
		Request: d.Request, ConsoleMode: f.in.ConsoleMode, Contact: d.Contact, RequestedBy: f.in.RequestedBy,
		Confirmed: f.in.Confirmed, FleetID: f.id, Timing: f.in.Timing, FleetApproval: f.approvalEntry(),
	})
	f.pendingStarts++
	workflow.Go(ctx, func(ctx workflow.Context) {
		err := child.GetChildWorkflowExecution().Get(ctx, nil)
		f.pendingStarts--
		if err != nil {
			f.now = workflow.Now(ctx)
			delete(f.st.Running, serial)
			note := FleetNote{Serial: serial, Path: plan.Path, Outcome: OutcomeStartFailed, Detail: errMessage(err)}
			if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
				note.Outcome = OutcomeConflict
				note.Detail = fmt.Sprintf("%s runs already, or finished earlier (another fleet or caller): not started again", contract.DeviceWorkflowID(serial))
			}
			f.record(note, 0)
			return
		}
		// The device reports by signal; its completion is a second source while this run lasts.
		var r DeviceResult
		if err := child.Get(ctx, &r); err != nil && ctx.Err() == nil {
			r = DeviceResult{Serial: serial, Path: plan.Path, Outcome: OutcomeRejected, Error: errMessage(err)}
			if temporal.IsCanceledError(err) {
				r.Outcome = OutcomeCancelled
			}
		}
		if ctx.Err() == nil {
			f.deviceFinished(ctx, r)
		}
	})
}

// deviceFinished counts a device's outcome, once.
func (f *fleet) deviceFinished(ctx workflow.Context, r DeviceResult) {
	f.now = workflow.Now(ctx)
	run, ok := f.st.Running[r.Serial]
	if !ok {
		return // told already (by signal and by completion), or not this fleet's
	}
	delete(f.st.Running, r.Serial)
	delete(f.st.Waits, r.Serial)
	path := r.Path
	if path == "" {
		path = run.Path
	}
	f.record(FleetNote{Serial: r.Serial, Path: path, Outcome: r.Outcome, Detail: r.Error}, f.now.Sub(run.Started))
	f.publish(ctx)
}

// record counts an outcome; a device that needs a person is named in the progress query.
func (f *fleet) record(n FleetNote, took time.Duration) {
	if n.Outcome == "" {
		n.Outcome = OutcomeRejected
	}
	f.st.Outcomes[n.Outcome]++
	if took > 0 {
		f.st.TimeSum += took
		f.st.Recent = append(f.st.Recent, f.now)
		if len(f.st.Recent) > recentFinishes {
			f.st.Recent = f.st.Recent[len(f.st.Recent)-recentFinishes:]
		}
	}
	if n.Outcome != OutcomeRemoved && len(f.st.Attention) < maxListed {
		f.st.Attention = append(f.st.Attention, n)
	}
	f.logger.Info("device finished", "serial", n.Serial, "outcome", n.Outcome, "detail", n.Detail)
}

// drain takes in every signal already received, so a continue-as-new or the fleet's end loses none.
func (f *fleet) drain(ctx workflow.Context) {
	for f.takeFinished(ctx) {
	}
	for takeOne(f.waits, func(s StepWait) { f.stepWait(ctx, s) }) {
	}
	for f.pause.ReceiveAsync(nil) {
		f.st.Paused = true
	}
	for f.resume.ReceiveAsync(nil) {
		f.st.Paused = false
	}
	for f.pages.ReceiveAsync(nil) {
		// A page that comes now is dropped: the next run asks for it again after the queue it carries.
	}
}

// continueAsNew waits until every start has been answered, takes in the signals already received,
// and carries the state (no device list) into a new run.
func (f *fleet) continueAsNew(ctx workflow.Context) (FleetProgress, error) {
	if err := workflow.Await(ctx, func() bool { return f.pendingStarts == 0 && len(f.reporting) == 0 }); err != nil {
		return f.cancel(ctx)
	}
	f.drain(ctx)
	f.st.Queue = f.queue
	next := f.in
	next.Devices, next.State = nil, f.st
	f.logger.Info("fleet continues as new", "cursor", f.st.Cursor, "running", len(f.st.Running), "run", f.st.Runs)
	return f.progress(), workflow.NewContinueAsNewError(ctx, FleetRetirement, next)
}

// complete ends the fleet once every device has its outcome.
func (f *fleet) complete(ctx workflow.Context) (FleetProgress, error) {
	// A report being delivered ends first: its answer goes to the person who sent it.
	if err := workflow.Await(ctx, func() bool { return len(f.reporting) == 0 }); err != nil {
		return f.cancel(ctx)
	}
	f.drain(ctx)
	f.closeList(ctx)
	f.publish(ctx)
	p := f.progress()
	f.logger.Info("fleet finished", "byState", p.ByState)
	return p, nil
}

// cancel stops the fleet: no device is started any more; the running ones go on (OnCancel).
func (f *fleet) cancel(ctx workflow.Context) (FleetProgress, error) {
	f.cancelled = true
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	f.drain(dctx)
	f.closeList(dctx)
	f.publish(dctx)
	p := f.progress()
	f.logger.Info("fleet cancelled", "running", len(f.st.Running), "notStarted", f.st.Total-f.st.Cursor)
	return p, temporal.NewCanceledError(p)
}

func (f *fleet) closeList(ctx workflow.Context) {
	if f.st.Total == 0 {
		return
	}
	if err := workflow.SignalExternalWorkflow(ctx, FleetDeviceListID(f.id), "", signalListClose, nil).Get(ctx, nil); err != nil {
		f.logger.Info("device list not closed (closed already?)", "error", err)
	}
}

// censusLoop reads, now and then while devices run, which step each is on and what it waits on.
func (f *fleet) censusLoop(ctx workflow.Context) {
	every := f.in.CensusEvery
	if every < 0 {
		return
	}
	if every == 0 {
		every = defaultCensusEvery
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: contract.TaskQueue, StartToCloseTimeout: 30 * time.Second, Summary: "census of fleet " + f.id,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3, NonRetryableErrorTypes: []string{activities.ErrNotConfigured}},
	})
	for {
		if err := workflow.Await(ctx, func() bool { return len(f.st.Running) > 0 }); err != nil {
			return
		}
		if err := workflow.Sleep(ctx, every); err != nil {
			return
		}
		if len(f.st.Running) == 0 {
			continue
		}
		var c activities.Census
		err := workflow.ExecuteActivity(actx, fleetActs.Census, activities.CensusInput{FleetID: f.id, DeviceType: contract.DeviceWorkflowType, MaxListed: maxListed}).Get(ctx, &c)
		if err != nil {
			if ctx.Err() != nil || activities.IsType(err, activities.ErrNotConfigured) {
				return
			}
			f.logger.Warn("census failed", "error", err)
			continue
		}
		if suspects := f.applyCensus(ctx, c); len(suspects) > 0 {
			f.verify(ctx, actx, suspects)
		}
	}
}
