package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/contract"
)

// The Apple coordinator: everything Offboard says to Apple Business Manager for one organisation
// goes through this one workflow, so Apple's request budget (about 20 GETs a minute and 10 POSTs
// an hour, unpublished) and every 429's Retry-After hold for all devices on all workers. Devices
// ask it by signal, pre-flight reads ("read") and §5 ("unassign"), single devices and fleets
// alike; it gathers them, reads assignments in bulk when many wait, sends as few UNASSIGN_DEVICES
// activities as the budget allows (up to applebusiness.MaxActivityDevices serials each), polls
// them inside the GET budget, and tells each device its own result by signal.
const (
	CoordinatorWorkflowType = "AppleCoordinator"
	// QueryAppleQueue shows the coordinator's queue, activities in flight, budget and totals.
	QueryAppleQueue    = "apple-queue"
	signalAppleRequest = "apple-request" // device → coordinator
	signalAppleAnswer  = "apple-answer"  // coordinator → device
)

// CoordinatorWorkflowID is the coordinator of one organisation: its Apple account (the API
// client) and MDM server.
func CoordinatorWorkflowID(org, server string) string {
	clean := strings.NewReplacer("/", "-", " ", "-").Replace
	return "apple-coordinator-" + clean(org) + "-" + clean(server)
}

// Kinds of request to the coordinator.
const (
	AppleRead     = "read"     // pre-flight: where is the device assigned?
	AppleUnassign = "unassign" // §5: unassign it from this console's MDM server
	// AppleLockRead reads the device's Activation Lock (apple_coordinator_locks.go). It comes by
	// a signal of its own, so a coordinator of an older build never takes it for an unassign.
	AppleLockRead = "activation-lock"
)

// Outcomes of a coordinator's answer.
const (
	AppleAssignedHere  = "assigned"       // read: assigned to this console's server
	AppleNotAssigned   = "not-assigned"   // read: no server; unassign: no longer assigned (verified)
	AppleOtherServer   = "other-server"   // assigned to another MDM server (ServerID)
	AppleUnassigned    = "unassigned"     // unassign: the activity unassigned it
	AppleFailed        = "failed"         // Apple refused, or still assigned after maxAppleRounds activities
	AppleBudgetWaiting = "budget-waiting" // a notice, not an answer: the budget holds the request until NextAt
)

// AppleRequest asks the coordinator to read or unassign one device.
type AppleRequest struct {
	Kind       string `json:"kind"`
	Serial     string `json:"serial"`
	WorkflowID string `json:"workflowId"`
	// RequestID is the device's run and round: an answer to an older request is ignored.
	RequestID string `json:"requestId"`
	// Gather is how long the device lets the request wait for others; Poll how often an activity
	// of it is checked. A batch takes the shortest of its devices'.
	Gather time.Duration `json:"gather"`
	Poll   time.Duration `json:"poll"`
	// Round counts the activities the coordinator sent for this request.
	Round int `json:"round,omitempty"`
}

// AppleAnswer is the coordinator's answer to one request.
type AppleAnswer struct {
	RequestID  string     `json:"requestId"`
	Serial     string     `json:"serial"`
	Outcome    string     `json:"outcome"`
	ServerID   string     `json:"serverId,omitempty"`
	ActivityID string     `json:"activityId,omitempty"`
	BatchSize  int        `json:"batchSize,omitempty"`
	Detail     string     `json:"detail,omitempty"`
	NextAt     *time.Time `json:"nextAt,omitempty"` // AppleBudgetWaiting: when the next activity may go
	// ActivityStatus and SubStatus are the final activity's; LogLine is the device's line of its
	// log, for the device's retirement record.
	ActivityStatus string                      `json:"activityStatus,omitempty"`
	SubStatus      string                      `json:"subStatus,omitempty"`
	LogLine        *applebusiness.DeviceResult `json:"logLine,omitempty"`
	// ActivationLock answers an AppleLockRead (Outcome AppleLockReadDone).
	ActivationLock *applebusiness.ActivationLock `json:"activationLock,omitempty"`
}

// CoordinatorBatch is one UNASSIGN_DEVICES activity in flight; its ActivityID is in the state
// before the first poll, so a continue-as-new or a restart polls it instead of posting again.
type CoordinatorBatch struct {
	ActivityID string         `json:"activityId"`
	Requests   []AppleRequest `json:"requests"`
	Poll       time.Duration  `json:"poll"`
	Created    time.Time      `json:"created"`
}

// CoordinatorTotals count the coordinator's work over all its runs.
type CoordinatorTotals struct {
	Runs        int `json:"runs"`
	GETs        int `json:"gets"`
	POSTs       int `json:"posts"`
	RateLimited int `json:"rateLimited"` // 429s Apple answered
	BulkPages   int `json:"bulkPages"`
	Reads       int `json:"reads"`
	Unassigned  int `json:"unassigned"`
	Failed      int `json:"failed"`
	Requeued    int `json:"requeued"`
	LockReads   int `json:"activationLockReads,omitempty"` // Activation Locks read
	// LastListPages is how many pages the server's device list took when last read: what a bulk
	// read costs, against one GET a device.
	LastListPages int `json:"lastListPages,omitempty"`
}

// CoordinatorInput starts a run; a continue-as-new carries the queue, the activities in flight,
// the budget and the totals.
type CoordinatorInput struct {
	Unassign []AppleRequest      `json:"unassign,omitempty"`
	Reads    []AppleRequest      `json:"reads,omitempty"`
	Locks    []AppleRequest      `json:"locks,omitempty"` // Activation Lock reads waiting
	InFlight []CoordinatorBatch  `json:"inFlight,omitempty"`
	Budget   *Budget             `json:"budget,omitempty"`
	Totals   CoordinatorTotals   `json:"totals"`
	MaxBatch int                 `json:"maxBatch,omitempty"` // 0: applebusiness.MaxActivityDevices
	Notified map[string]struct{} `json:"notified,omitempty"` // requests told of a budget wait
}

// CoordinatorStatus is the answer of the apple-queue query.
type CoordinatorStatus struct {
	Unassign     int                `json:"unassignWaiting"`
	Reads        int                `json:"readsWaiting"`
	Locks        int                `json:"activationLockReadsWaiting,omitempty"`
	InFlight     []CoordinatorBatch `json:"inFlight,omitempty"`
	Budget       Budget             `json:"budget"`
	At           time.Time          `json:"at"` // the workflow's time of the answer
	GETsLeft     int                `json:"getsLeft"`
	POSTsLeft    int                `json:"postsLeft"`
	NextPOSTAt   time.Time          `json:"nextPostAt"`
	NextGETAt    time.Time          `json:"nextGetAt"`
	Totals       CoordinatorTotals  `json:"totals"`
	GetPerMinute int                `json:"getPerMinute"`
	PostPerHour  int                `json:"postPerHour"`
}

type coordinator struct {
	in       CoordinatorInput
	max      int
	logger   log.Logger
	info     activities.WorkerInfo
	requests workflow.ReceiveChannel
	quiet    bool // changeQuietShortBudgetWaits 1 (lean.go)

	unassign []AppleRequest
	reads    []AppleRequest
	locks    []AppleRequest // Activation Lock reads
	gatherAt time.Time      // when the pending unassign batch goes out at the latest
	readAt   time.Time      // likewise for the pending reads
	lockAt   time.Time      // and for the Activation Lock reads
	lockReqs workflow.ReceiveChannel
	inflight []*CoordinatorBatch
	budget   Budget
	notified map[string]struct{}
	busy     int // activities under way that a continue-as-new must wait for
	totals   CoordinatorTotals
}

// AppleCoordinator runs until cancelled, continuing as new when the server suggests it.
func AppleCoordinator(ctx workflow.Context, in CoordinatorInput) error {
	c := &coordinator{in: in, max: in.MaxBatch, logger: workflow.GetLogger(ctx), totals: in.Totals,
		requests: workflow.GetSignalChannel(ctx, signalAppleRequest), notified: in.Notified,
		lockReqs: workflow.GetSignalChannel(ctx, signalAppleLockRequest)}
	if c.max <= 0 || c.max > applebusiness.MaxActivityDevices {
		c.max = applebusiness.MaxActivityDevices
	}
	if c.notified == nil {
		c.notified = map[string]struct{}{}
	}
	c.totals.Runs++
	c.quiet = workflow.GetVersion(ctx, changeQuietShortBudgetWaits, workflow.DefaultVersion, 1) >= 1
	status := func() (CoordinatorStatus, error) { return c.status(workflow.Now(ctx)), nil }
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryAppleQueue, status,
		workflow.QueryHandlerOptions{Description: "devices waiting for Apple, activities in flight, the request budget and totals"}); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(callOptions(ctx, contract.TaskQueue, "worker capabilities"), workerActs.Describe).Get(ctx, &c.info); err != nil {
		return err
	}
	c.budget = c.startBudget(workflow.Now(ctx))
	for _, r := range in.Unassign {
		c.add(ctx, r)
	}
	for _, r := range in.Reads {
		c.add(ctx, r)
	}
	for _, r := range in.Locks {
		c.add(ctx, r)
	}
	for _, b := range in.InFlight {
		batch := b
		c.inflight = append(c.inflight, &batch)
		workflow.Go(ctx, func(ctx workflow.Context) { c.follow(ctx, &batch) })
	}
	pump(ctx, c.requests, func() bool { return takeOne(c.requests, func(r AppleRequest) { c.add(ctx, r) }) })
	workflow.Go(ctx, c.serveReads)
	pump(ctx, c.lockReqs, func() bool { return takeOne(c.lockReqs, func(r AppleRequest) { c.add(ctx, r) }) })
	workflow.Go(ctx, c.serveLocks)
	return c.run(ctx)
}

// startBudget is the budget carried from the last run, set to this worker's numbers; a first
// run starts with full buckets.
func (c *coordinator) startBudget(now time.Time) Budget {
	gets, posts := c.info.AppleBudget()
	minute, hour := c.info.AppleBudgetWindows()
	if c.in.Budget == nil {
		return Budget{GET: newBucket(gets, minute), POST: newBucket(posts, hour)}
	}
	b := *c.in.Budget
	b.GET, b.POST = b.GET.resize(gets, minute), b.POST.resize(posts, hour)
	return b
}

// status answers the apple-queue query, as of the workflow's time now.
func (c *coordinator) status(now time.Time) CoordinatorStatus {
	gets, posts := c.info.AppleBudget()
	st := CoordinatorStatus{Unassign: len(c.unassign), Reads: len(c.reads), Locks: len(c.locks), Budget: c.budget, Totals: c.totals,
		GetPerMinute: gets, PostPerHour: posts, At: now, GETsLeft: c.budget.GET.Left(now), POSTsLeft: c.budget.POST.Left(now),
		NextGETAt: c.budget.GET.ReadyAt(now), NextPOSTAt: c.budget.POST.ReadyAt(now)}
	for _, b := range c.inflight {
		st.InFlight = append(st.InFlight, *b)
	}
	return st
}

// add takes a request in. A device already waiting is not added twice: its newest request
// replaces the older one, so the answer goes to the request it waits on.
func (c *coordinator) add(ctx workflow.Context, r AppleRequest) {
	queue, at := &c.unassign, &c.gatherAt
	switch r.Kind {
	case AppleRead:
		queue, at = &c.reads, &c.readAt
	case AppleLockRead:
		queue, at = &c.locks, &c.lockAt
	}
	if i := slices.IndexFunc(*queue, func(p AppleRequest) bool { return p.Serial == r.Serial }); i >= 0 {
		r.Round = (*queue)[i].Round
		(*queue)[i] = r
		return
	}
	if r.Kind != AppleRead && r.Kind != AppleLockRead {
		for _, b := range c.inflight {
			if i := slices.IndexFunc(b.Requests, func(p AppleRequest) bool { return p.Serial == r.Serial }); i >= 0 {
				r.Round = b.Requests[i].Round
				b.Requests[i] = r
				return
			}
		}
	}
	due := workflow.Now(ctx).Add(max(r.Gather, 0))
	if len(*queue) == 0 || due.Before(*at) {
		*at = due
	}
	*queue = append(*queue, r)
}

// requeue puts requests back at the front of the unassign queue, due now: they have waited.
func (c *coordinator) requeue(ctx workflow.Context, rs []AppleRequest) {
	if len(rs) == 0 {
		return
	}
	c.totals.Requeued += len(rs)
	c.unassign = append(slices.Clone(rs), c.unassign...)
	c.gatherAt = workflow.Now(ctx)
}

// run sends the unassign batches: when a batch is due (gathered, or full) and the POST budget
// allows. While the budget holds a batch, more devices join it, up to a full batch.
func (c *coordinator) run(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool { return len(c.unassign) > 0 || c.shouldContinueAsNew(ctx) }); err != nil {
			return err
		}
		if c.shouldContinueAsNew(ctx) {
			return c.continueAsNew(ctx)
		}
		now := workflow.Now(ctx)
		due := c.gatherAt
		if len(c.unassign) >= c.max {
			due = now
		}
		var held time.Time // the budget holds the batch until then
		if ready := c.budget.POST.ReadyAt(now); ready.After(due) {
			c.noticeBudgetWait(ctx, ready)
			due, held = ready, ready
		}
		if wait := due.Sub(now); wait > 0 {
			_, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
				return c.shouldContinueAsNew(ctx) || (len(c.unassign) >= c.max && !c.budget.POST.ReadyAt(workflow.Now(ctx)).After(workflow.Now(ctx))) ||
					c.untold(ctx, held) // lean.go: a device that joined the held batch hears of the wait now
			})
			if err != nil {
				return err
			}
			continue
		}
		c.flush(ctx)
	}
}

// noticeBudgetWait tells the devices the budget holds, once each, when their next activity may go.
func (c *coordinator) noticeBudgetWait(ctx workflow.Context, at time.Time) {
	var told []AppleRequest
	var answers []AppleAnswer
	for _, r := range c.unassign {
		if _, ok := c.notified[r.RequestID]; ok {
			continue
		}
		if !c.worthTelling(ctx, r, at) {
			continue // told later if the wait grows
		}
		c.notified[r.RequestID] = struct{}{}
		told = append(told, r)
		answers = append(answers, AppleAnswer{Outcome: AppleBudgetWaiting, NextAt: &at})
	}
	if len(told) > 0 {
		c.logger.Info("Apple's POST budget holds the next activity", "devices", len(told), "until", at)
		c.tell(ctx, told, answers)
	}
}

func (c *coordinator) shouldContinueAsNew(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew waits until no activity is under way (each batch in flight then has its
// activity ID), takes in every request already signalled, and carries all into the next run.
func (c *coordinator) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return c.busy == 0 }); err != nil {
		return err
	}
	for takeOne(c.requests, func(r AppleRequest) { c.add(ctx, r) }) {
	}
	for takeOne(c.lockReqs, func(r AppleRequest) { c.add(ctx, r) }) {
	}
	budget := c.budget
	next := CoordinatorInput{Unassign: c.unassign, Reads: c.reads, Locks: c.locks, Budget: &budget, Totals: c.totals, MaxBatch: c.in.MaxBatch}
	for _, r := range c.unassign {
		if _, ok := c.notified[r.RequestID]; ok {
			if next.Notified == nil {
				next.Notified = map[string]struct{}{}
			}
			next.Notified[r.RequestID] = struct{}{}
		}
	}
	for _, b := range c.inflight {
		next.InFlight = append(next.InFlight, *b)
	}
	c.logger.Info("Apple coordinator continues as new", "unassign", len(next.Unassign), "reads", len(next.Reads), "inFlight", len(next.InFlight))
	return workflow.NewContinueAsNewError(ctx, AppleCoordinator, next)
}

// flush sends the first max devices as one activity.
func (c *coordinator) flush(ctx workflow.Context) {
	n := min(len(c.unassign), c.max)
	batch := &CoordinatorBatch{Requests: slices.Clone(c.unassign[:n]), Created: workflow.Now(ctx)}
	c.unassign = slices.Delete(c.unassign, 0, n)
	if len(c.unassign) > 0 {
		c.gatherAt = workflow.Now(ctx) // the rest has waited as long already
	}
	for i := range batch.Requests {
		batch.Requests[i].Round++
		delete(c.notified, batch.Requests[i].RequestID)
		if r := batch.Requests[i]; batch.Poll <= 0 || (r.Poll > 0 && r.Poll < batch.Poll) {
			batch.Poll = r.Poll
		}
	}
	if batch.Poll <= 0 {
		batch.Poll = DefaultTiming().ApplePoll
	}
	c.budget.POST = c.budget.POST.take(workflow.Now(ctx))
	c.inflight = append(c.inflight, batch)
	c.busy++ // posting: released by post
	workflow.Go(ctx, func(ctx workflow.Context) {
		if c.post(ctx, batch) {
			c.follow(ctx, batch)
		}
	})
}

// post creates the batch's activity and reports whether it exists. Apple's POST is not
// idempotent, so it is sent once. A 429 created nothing: the same batch goes again after the
// Retry-After, which holds every POST. A lost answer (timeout, 5xx) is ambiguous: after the
// activity that may exist has had time to finish, the assignments are read (in bulk when many)
// and only the devices still assigned go again. A refusal fails the batch's devices.
func (c *coordinator) post(ctx workflow.Context, batch *CoordinatorBatch) bool {
	defer func() { c.busy-- }()
	n := len(batch.Requests)
	c.totals.POSTs++
	var act applebusiness.Activity
	err := workflow.ExecuteActivity(onceOptions(ctx, contract.AppleTaskQueue, fmt.Sprintf("UNASSIGN_DEVICES: %d devices", n)),
		appleActs.Unassign, serialsOf(batch.Requests)).Get(ctx, &act)
	if err == nil {
		batch.ActivityID = act.ID // in state before the first poll
		c.logger.Info("Apple activity created", "activity", act.ID, "devices", n)
		return true
	}
	c.forget(batch)
	if ctx.Err() != nil {
		return false
	}
	switch {
	case activities.IsType(err, activities.ErrRateLimited):
		c.totals.RateLimited++
		c.budget.POST = c.budget.POST.block(workflow.Now(ctx), retryDelay(err, 1))
		c.logger.Warn("Apple answered 429 to an unassign: the same batch goes again after its Retry-After", "devices", n, "until", c.budget.POST.BlockedUntil)
		for i := range batch.Requests {
			batch.Requests[i].Round-- // nothing was created
		}
		c.requeue(ctx, batch.Requests)
	case retryable(err):
		c.logger.Warn("Apple's answer to an unassign was lost: reading the assignments before anything goes again", "devices", n, "error", err)
		if err := workflow.Sleep(ctx, ambiguousSettle(batch.Poll)); err != nil {
			return false
		}
		c.settle(ctx, batch.Requests, "", errMessage(err))
	default:
		c.answerEach(ctx, batch.Requests, func(AppleRequest) AppleAnswer {
			return AppleAnswer{Outcome: AppleFailed, Detail: "Apple refused the unassign: " + errMessage(err)}
		})
	}
	return false
}

// follow polls the batch's activity inside the GET budget, then tells each device what the
// activity did for it; the devices it did not unassign are settled by reading their assignment.
func (c *coordinator) follow(ctx workflow.Context, batch *CoordinatorBatch) {
	defer c.forget(batch)
	var act applebusiness.Activity
	// The poll backs off, doubling up to eight Apple polls: an activity of many devices takes
	// minutes, and each read is one of Apple's 20 GETs a minute.
	for wait := batch.Poll; !act.Final(); wait = min(2*wait, 8*batch.Poll) {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return
		}
		err := c.get(ctx, "read Apple activity "+batch.ActivityID, appleActs.ReadActivity, batch.ActivityID, &act)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.logger.Warn("Apple activity not read: polling again", "activity", batch.ActivityID, "error", err)
		}
	}
	var out activities.BatchOutcome
	c.busy++
	err := workflow.ExecuteActivity(callOptions(ctx, contract.AppleTaskQueue, "read the log of Apple activity "+act.ID),
		appleActs.ActivityLog, act).Get(ctx, &out)
	c.busy--
	if ctx.Err() != nil {
		return
	}
	done := map[string]bool{}
	if act.Succeeded() {
		for _, r := range batch.Requests {
			done[r.Serial] = true
		}
	}
	for _, s := range out.Succeeded {
		done[s] = true
	}
	var unassigned, rest []AppleRequest
	for _, r := range batch.Requests {
		if done[r.Serial] {
			unassigned = append(unassigned, r)
		} else {
			rest = append(rest, r)
		}
	}
	c.totals.Unassigned += len(unassigned)
	c.answerEach(ctx, unassigned, func(r AppleRequest) AppleAnswer {
		a := AppleAnswer{Outcome: AppleUnassigned, ActivityID: act.ID, BatchSize: len(batch.Requests),
			ActivityStatus: act.Status, SubStatus: act.SubStatus}
		if i := slices.IndexFunc(out.Log, func(l applebusiness.DeviceResult) bool { return strings.EqualFold(l.Serial, r.Serial) }); i >= 0 {
			a.LogLine = &out.Log[i]
		}
		return a
	})
	if len(rest) > 0 {
		why := fmt.Sprintf("activity %s ended %s %s", act.ID, act.Status, act.SubStatus)
		if err != nil {
			why += ", its log not read: " + errMessage(err)
		}
		c.settle(ctx, rest, act.ID, why)
	}
}

// forget drops a batch from the activities in flight.
func (c *coordinator) forget(batch *CoordinatorBatch) {
	c.inflight = slices.DeleteFunc(c.inflight, func(x *CoordinatorBatch) bool { return x == batch })
}

// settle reads where the devices an activity may not have unassigned stand: those no longer
// assigned here are answered, those still here go again (up to maxAppleRounds activities).
func (c *coordinator) settle(ctx workflow.Context, rs []AppleRequest, activityID, why string) {
	where, err := c.locate(ctx, serialsOf(rs))
	if err != nil {
		return // cancelled
	}
	var again []AppleRequest
	var answered []AppleRequest
	var answers []AppleAnswer
	for _, r := range rs {
		a := where[r.Serial]
		switch {
		case a.Outcome == AppleAssignedHere && r.Round < maxAppleRounds:
			again = append(again, r)
		case a.Outcome == AppleAssignedHere:
			c.totals.Failed++
			answered, answers = append(answered, r), append(answers, AppleAnswer{Outcome: AppleFailed,
				Detail: fmt.Sprintf("still assigned after %d activities (%s)", r.Round, why)})
		default:
			a.ActivityID, a.Detail = activityID, why
			answered, answers = append(answered, r), append(answers, a)
		}
	}
	c.requeue(ctx, again)
	c.tell(ctx, answered, answers)
}

// serveReads answers the pre-flight reads: gathered for a moment, then read in bulk when that
// costs fewer GETs than reading each device.
func (c *coordinator) serveReads(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(c.reads) > 0 }); err != nil {
			return
		}
		if wait := c.readAt.Sub(workflow.Now(ctx)); wait > 0 {
			if err := workflow.Sleep(ctx, wait); err != nil {
				return
			}
		}
		rs := c.reads
		c.reads = nil
		c.busy++ // a continue-as-new must not drop these: they are in no queue now
		where, err := c.locate(ctx, serialsOf(rs))
		if err != nil {
			c.busy--
			return
		}
		c.totals.Reads += len(rs)
		answers := make([]AppleAnswer, len(rs))
		for i, r := range rs {
			answers[i] = where[r.Serial]
		}
		c.tell(ctx, rs, answers)
		c.busy--
	}
}

// locate finds where each device is assigned, inside the GET budget: with the server's device
// list (a GET a page of 1,000) when that takes fewer GETs than one read a device; each device not
// on the list is then read on its own to tell "no server" from "another server".
func (c *coordinator) locate(ctx workflow.Context, serials []string) (map[string]AppleAnswer, error) {
	c.busy++
	defer func() { c.busy-- }()
	out := map[string]AppleAnswer{}
	single := serials
	if len(serials) > c.pagesEstimate() {
		here, err := c.listServer(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			c.logger.Warn("the device list cannot be read: reading each device", "error", err)
			here = map[string]bool{}
		}
		single = nil
		for _, s := range serials {
			if here[s] {
				out[s] = AppleAnswer{Outcome: AppleAssignedHere, ServerID: c.info.AppleServerID}
			} else {
				single = append(single, s)
			}
		}
	}
	for _, s := range single {
		var a activities.Assignment
		err := c.get(ctx, "read Apple assignment of "+s, appleActs.AssignedServer, s, &a)
		for err != nil && retryable(err) && ctx.Err() == nil {
			c.logger.Warn("Apple assignment not read: reading again", "serial", s, "error", err)
			err = c.get(ctx, "read Apple assignment of "+s, appleActs.AssignedServer, s, &a)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch {
		case err != nil:
			out[s] = AppleAnswer{Outcome: AppleFailed, Detail: "Apple Business Manager could not be read: " + errMessage(err)}
		case !a.Assigned:
			out[s] = AppleAnswer{Outcome: AppleNotAssigned}
		case c.info.AppleServerID == "" || a.ServerID == c.info.AppleServerID:
			out[s] = AppleAnswer{Outcome: AppleAssignedHere, ServerID: a.ServerID}
		default:
			out[s] = AppleAnswer{Outcome: AppleOtherServer, ServerID: a.ServerID}
		}
	}
	return out, nil
}

// pagesEstimate is how many GETs the server's device list took the last time it was read (one
// before the first read).
func (c *coordinator) pagesEstimate() int { return max(c.totals.LastListPages, 1) }

// listServer reads every page of the devices assigned to this console's server.
func (c *coordinator) listServer(ctx workflow.Context) (map[string]bool, error) {
	here := map[string]bool{}
	cursor, pages := "", 0
	for {
		var page applebusiness.DevicePage
		err := c.get(ctx, "list the devices of this MDM server", appleActs.AssignedDevicesPage, cursor, &page)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil && retryable(err) {
			c.logger.Warn("device list not read: reading the page again", "error", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		pages++
		c.totals.BulkPages++
		for _, s := range page.Serials {
			here[s] = true
		}
		if page.NextCursor == "" {
			c.totals.LastListPages = pages
			return here, nil
		}
		cursor = page.NextCursor
	}
}

// get runs one GET activity once the GET budget allows it. A 429 holds every GET until its
// Retry-After, then the GET goes again; another failure is returned (after a pause when it may
// pass), for the caller to decide.
func (c *coordinator) get(ctx workflow.Context, summary string, activity, arg, out any) error {
	for {
		if err := c.awaitBudget(ctx, func() Bucket { return c.budget.GET }); err != nil {
			return err
		}
		c.budget.GET = c.budget.GET.take(workflow.Now(ctx))
		c.totals.GETs++
		c.busy++
		err := workflow.ExecuteActivity(onceOptions(ctx, contract.AppleTaskQueue, summary), activity, arg).Get(ctx, out)
		c.busy--
		switch {
		case err == nil || ctx.Err() != nil:
			return err
		case activities.IsType(err, activities.ErrRateLimited):
			c.totals.RateLimited++
			c.budget.GET = c.budget.GET.block(workflow.Now(ctx), retryDelay(err, 1))
			c.logger.Warn("Apple answered 429 to a read: every read waits for its Retry-After", "until", c.budget.GET.BlockedUntil)
		case retryable(err):
			if serr := workflow.Sleep(ctx, 5*time.Second); serr != nil {
				return serr
			}
			return err
		default:
			return err
		}
	}
}

// awaitBudget waits, with a workflow timer, until the bucket lets a request go.
func (c *coordinator) awaitBudget(ctx workflow.Context, bucket func() Bucket) error {
	for {
		now := workflow.Now(ctx)
		at := bucket().ReadyAt(now)
		if !at.After(now) {
			return nil
		}
		if err := workflow.Sleep(ctx, at.Sub(now)); err != nil {
			return err
		}
	}
}

// answerEach answers every request of rs with the answer result gives it.
func (c *coordinator) answerEach(ctx workflow.Context, rs []AppleRequest, result func(AppleRequest) AppleAnswer) {
	answers := make([]AppleAnswer, len(rs))
	for i, r := range rs {
		answers[i] = result(r)
		if answers[i].Outcome == AppleFailed {
			c.totals.Failed++
		}
	}
	c.tell(ctx, rs, answers)
}

// tell sends each request its answer, in one activity that signals them all (sendSignals).
func (c *coordinator) tell(ctx workflow.Context, rs []AppleRequest, answers []AppleAnswer) {
	if len(rs) == 0 {
		return
	}
	c.busy++
	defer func() { c.busy-- }()
	in := activities.SendInput{Name: signalAppleAnswer}
	for i, r := range rs {
		a := answers[i]
		a.RequestID, a.Serial = r.RequestID, r.Serial
		// The same struct always encodes to the same bytes; workflowcheck flags the encoder's type
		// cache (a sync.Map), which holds no state that changes the output.
		arg, err := json.Marshal(a) //workflowcheck:ignore
		if err != nil {
			c.logger.Error("answer not encoded", "serial", r.Serial, "error", err) // cannot happen: strings and numbers
			continue
		}
		in.Signals = append(in.Signals, activities.Signal{WorkflowID: r.WorkflowID, Arg: arg})
	}
	sendSignals(ctx, c.logger, in)
}

func serialsOf(rs []AppleRequest) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Serial
	}
	return out
}

// coordinatorChildOptions start the coordinator as an abandoned child: it outlives whoever
// started it.
func coordinatorChildOptions(id string) workflow.ChildWorkflowOptions {
	return workflow.ChildWorkflowOptions{
		WorkflowID: id, TaskQueue: contract.BatcherTaskQueue, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary: "Apple coordinator: Apple Business Manager's request budget and batched UNASSIGN_DEVICES activities",
	}
}
