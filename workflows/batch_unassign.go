package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/applebusiness"
)

// The Apple Business unassign batcher: ADE devices of fleets that reach abm-unassign close together
// share ONE UNASSIGN_DEVICES activity, so Apple sees one POST and a few polls for up to
// MaxUnassignBatch devices instead of a read, a POST and polls for each. Device workflows reach it
// by signal (starting it when none runs); it answers each device by signal with its own result,
// the signals of a batch sent by one activity (activities.Signals).
const (
	BatcherWorkflowType = "AppleUnassignBatcher"
	// BatcherWorkflowID is the one batcher of a namespace: every fleet's devices share it.
	BatcherWorkflowID = "abm-unassign-batcher"
	// QueryBatches shows the batcher's pending devices, its activities in flight and its totals.
	QueryBatches          = "batches"
	signalUnassignRequest = "unassign-request" // device → batcher
	signalUnassignResult  = "unassign-result"  // batcher → device
	// MaxUnassignBatch is as many devices as Apple takes in one activity.
	MaxUnassignBatch = 1000
)

// Outcomes of a batched unassign, for one device.
const (
	UnassignDone       = "unassigned"  // the activity unassigned the device
	UnassignFailed     = "failed"      // the activity did not unassign this device (the log says why)
	UnassignUnknown    = "unknown"     // no clear answer (the POST's answer was lost, or the log is silent): verify
	UnassignNotCreated = "not-created" // Apple refused the batch's POST: no activity exists
)

// UnassignRequest asks the batcher to unassign one device.
type UnassignRequest struct {
	Serial     string `json:"serial"`
	WorkflowID string `json:"workflowId"`
	// RequestID is the device's run and round: an answer to an older request is ignored.
	RequestID string `json:"requestId"`
	// Gather is how long the device lets the batch wait for others; Poll how often the batch's
	// activity is checked. A batch takes the shortest of its devices'.
	Gather time.Duration `json:"gather"`
	Poll   time.Duration `json:"poll"`
}

// UnassignResult is the batcher's answer to one device.
type UnassignResult struct {
	RequestID  string `json:"requestId"`
	Serial     string `json:"serial"`
	Outcome    string `json:"outcome"`
	ActivityID string `json:"activityId,omitempty"`
	BatchSize  int    `json:"batchSize,omitempty"`
	Code       string `json:"code,omitempty"`
	Detail     string `json:"detail,omitempty"`
	// RetryAfter is how long to wait before the device reads its assignment again: after an
	// ambiguous POST, long enough for an activity that may exist to finish.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
}

// UnassignBatch is one activity in flight. Its ActivityID is in the batcher's state before the
// activity is polled, so a continue-as-new or a worker restart polls it again instead of posting
// again: Apple's POST is not idempotent.
type UnassignBatch struct {
	ActivityID string            `json:"activityId"`
	Requests   []UnassignRequest `json:"requests"`
	Poll       time.Duration     `json:"poll"`
	Created    time.Time         `json:"created"`
}

// BatcherTotals count the batcher's work over all its runs.
type BatcherTotals struct {
	Runs       int `json:"runs"`
	Batches    int `json:"batches"`
	Devices    int `json:"devices"`
	Unassigned int `json:"unassigned"`
	Failed     int `json:"failed"`
	Unknown    int `json:"unknown"`
	NotCreated int `json:"notCreated"`
}

// BatcherInput starts a batcher run; a continue-as-new carries the devices still waiting and the
// activities in flight.
type BatcherInput struct {
	Pending  []UnassignRequest `json:"pending,omitempty"`
	InFlight []UnassignBatch   `json:"inFlight,omitempty"`
	// MaxBatch bounds a batch (0: MaxUnassignBatch).
	MaxBatch int `json:"maxBatch,omitempty"`
	// MaxBatchesPerRun forces a continue-as-new after this many batches (tests); 0: when the
	// server suggests it.
	MaxBatchesPerRun int           `json:"maxBatchesPerRun,omitempty"`
	Totals           BatcherTotals `json:"totals"`
}

// BatcherStatus is the answer of the batches query.
type BatcherStatus struct {
	Pending  int             `json:"pending"`
	InFlight []UnassignBatch `json:"inFlight,omitempty"`
	Totals   BatcherTotals   `json:"totals"`
}

type batcher struct {
	in       BatcherInput
	max      int
	logger   log.Logger
	requests workflow.ReceiveChannel

	pending  []UnassignRequest
	gatherAt time.Time        // when the pending batch goes out at the latest
	lateAt   time.Time        // a gathering time after gatherAt: the timer is late (see run)
	inflight []*UnassignBatch // in the order they were created
	busy     int              // batches posting or answering: a continue-as-new waits for them
	started  int              // batches started by this run
	totals   BatcherTotals
}

// AppleUnassignBatcher collects unassign requests for a short while (or until a batch is full),
// creates one UNASSIGN_DEVICES activity per batch, polls it, reads its log, and tells each device
// its own result. It runs until cancelled, continuing as new when the server suggests it.
func AppleUnassignBatcher(ctx workflow.Context, in BatcherInput) error {
	b := &batcher{in: in, max: in.MaxBatch, logger: workflow.GetLogger(ctx),
		requests: workflow.GetSignalChannel(ctx, signalUnassignRequest), totals: in.Totals}
	if b.max <= 0 || b.max > MaxUnassignBatch {
		b.max = MaxUnassignBatch
	}
	b.totals.Runs++
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryBatches, b.status,
		workflow.QueryHandlerOptions{Description: "devices waiting for a batch, activities in flight, totals"}); err != nil {
		return err
	}
	for _, r := range in.Pending {
		b.add(ctx, r)
	}
	for _, batch := range in.InFlight {
		b.resume(ctx, batch)
	}
	pump(ctx, b.requests, func() bool { return b.take(ctx) })
	return b.run(ctx)
}

func (b *batcher) status() (BatcherStatus, error) {
	st := BatcherStatus{Pending: len(b.pending), Totals: b.totals}
	for _, batch := range b.inflight {
		st.InFlight = append(st.InFlight, *batch)
	}
	return st, nil
}

func (b *batcher) run(ctx workflow.Context) error {
	for {
		var err error
		if len(b.pending) == 0 {
			err = workflow.Await(ctx, func() bool { return len(b.pending) > 0 || b.shouldContinueAsNew(ctx) })
		} else {
			wait := b.gatherAt.Sub(workflow.Now(ctx))
			if wait > 0 {
				// The server's timers lag when it is loaded (a 0.5 s timer has fired 19 s late): a
				// request that comes a whole gathering time after the batch was due sends it at
				// once. Not any request after gatherAt: the lag also lets a batch grow, and a batch
				// sent the moment it is due is smaller (more Apple calls a device).
				_, err = workflow.AwaitWithTimeout(ctx, wait, func() bool {
					return len(b.pending) >= b.max || !workflow.Now(ctx).Before(b.lateAt) || b.shouldContinueAsNew(ctx)
				})
			}
		}
		if err != nil {
			return err
		}
		if b.shouldContinueAsNew(ctx) {
			return b.continueAsNew(ctx)
		}
		if len(b.pending) > 0 && (len(b.pending) >= b.max || !workflow.Now(ctx).Before(b.gatherAt)) {
			b.flush(ctx)
		}
	}
}

func (b *batcher) shouldContinueAsNew(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() || (b.in.MaxBatchesPerRun > 0 && b.started >= b.in.MaxBatchesPerRun)
}

// continueAsNew waits until no batch is posting or answering (each batch in flight then has its
// activity ID), takes in every request already signalled, and carries both into the next run.
func (b *batcher) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return b.busy == 0 }); err != nil {
		return err
	}
	for b.take(ctx) {
	}
	next := BatcherInput{Pending: b.pending, MaxBatch: b.in.MaxBatch, MaxBatchesPerRun: b.in.MaxBatchesPerRun, Totals: b.totals}
	for _, batch := range b.inflight {
		next.InFlight = append(next.InFlight, *batch)
	}
	b.logger.Info("batcher continues as new", "pending", len(next.Pending), "inFlight", len(next.InFlight))
	return workflow.NewContinueAsNewError(ctx, AppleUnassignBatcher, next)
}

// take takes one request signal in, if one is there.
func (b *batcher) take(ctx workflow.Context) bool {
	return takeOne(b.requests, func(r UnassignRequest) { b.add(ctx, r) })
}

// add takes a request in. A device already waiting (pending or in flight) is not added twice:
// its newest request replaces the older one, so the answer goes to the request it waits on.
func (b *batcher) add(ctx workflow.Context, r UnassignRequest) {
	if i := slices.IndexFunc(b.pending, func(p UnassignRequest) bool { return p.Serial == r.Serial }); i >= 0 {
		b.pending[i] = r
		return
	}
	for _, batch := range b.inflight {
		if i := slices.IndexFunc(batch.Requests, func(p UnassignRequest) bool { return p.Serial == r.Serial }); i >= 0 {
			batch.Requests[i] = r
			return
		}
	}
	at := workflow.Now(ctx).Add(max(r.Gather, 0))
	if len(b.pending) == 0 || at.Before(b.gatherAt) {
		b.gatherAt, b.lateAt = at, at.Add(max(r.Gather, 0))
	}
	b.pending = append(b.pending, r)
}

// flush sends the first max pending devices as one batch.
func (b *batcher) flush(ctx workflow.Context) {
	n := min(len(b.pending), b.max)
	batch := &UnassignBatch{Requests: slices.Clone(b.pending[:n]), Created: workflow.Now(ctx)}
	b.pending = slices.Delete(b.pending, 0, n)
	if len(b.pending) > 0 {
		b.gatherAt = workflow.Now(ctx) // the rest has waited as long already
		b.lateAt = b.gatherAt
	}
	for _, r := range batch.Requests {
		if batch.Poll <= 0 || (r.Poll > 0 && r.Poll < batch.Poll) {
			batch.Poll = r.Poll
		}
	}
	if batch.Poll <= 0 {
		batch.Poll = DefaultTiming().ApplePoll
	}
	b.inflight = append(b.inflight, batch)
	b.started++
	b.busy++ // posting: released by post
	b.totals.Batches++
	b.totals.Devices += n
	workflow.Go(ctx, func(ctx workflow.Context) {
		// An activity just created is in progress: the first read waits a poll interval (inside
		// the poll activity, as do the reads after it: see Apple.AwaitBatch), which saves an
		// Apple call a batch.
		if b.post(ctx, batch) {
			b.poll(ctx, batch, batch.Poll)
		}
	})
}

// resume polls an activity a previous run created.
func (b *batcher) resume(ctx workflow.Context, batch UnassignBatch) {
	b.inflight = append(b.inflight, &batch)
	workflow.Go(ctx, func(ctx workflow.Context) { b.poll(ctx, &batch, 0) })
}

func (b *batcher) serials(batch *UnassignBatch) []string {
	out := make([]string, len(batch.Requests))
	for i, r := range batch.Requests {
		out[i] = r.Serial
	}
	return out
}

// post creates the batch's activity and reports whether it exists. The POST is not idempotent, so
// it runs once: after an ambiguous failure the devices re-read their assignment (after the
// activity that may exist has had time to finish) and ask again if still assigned; after a
// refusal each goes on alone.
func (b *batcher) post(ctx workflow.Context, batch *UnassignBatch) bool {
	defer func() { b.busy-- }()
	n := len(batch.Requests)
	var act applebusiness.Activity
	err := workflow.ExecuteActivity(onceOptions(ctx, contract.AppleTaskQueue, fmt.Sprintf("UNASSIGN_DEVICES: %d devices", n)),
		appleActs.Unassign, b.serials(batch)).Get(ctx, &act)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		outcome, delay := UnassignUnknown, max(retryDelay(err, 1), ambiguousSettle(batch.Poll))
		if !retryable(err) {
			outcome, delay = UnassignNotCreated, 0
		}
		b.logger.Warn("batch not created", "devices", n, "outcome", outcome, "error", err)
		b.answerAll(ctx, batch, func(UnassignRequest) UnassignResult {
			return UnassignResult{Outcome: outcome, Detail: errMessage(err), RetryAfter: delay}
		})
		return false
	}
	batch.ActivityID = act.ID // in state before the first poll
	b.logger.Info("batch created", "activity", act.ID, "devices", n)
	return true
}

// poll waits for the activity (its first read firstAfter after the poll starts), then tells each
// device what it did for that device.
func (b *batcher) poll(ctx workflow.Context, batch *UnassignBatch, firstAfter time.Duration) {
	var out activities.BatchOutcome
	err := workflow.ExecuteActivity(longPollOptions(ctx, contract.AppleTaskQueue, "await Apple activity "+batch.ActivityID, batch.Poll, 0),
		appleActs.AwaitBatch, batch.ActivityID, firstAfter, batch.Poll).Get(ctx, &out)
	if ctx.Err() != nil {
		return
	}
	b.busy++
	defer func() { b.busy-- }()
	succeeded := map[string]bool{}
	for _, s := range out.Succeeded {
		succeeded[s] = true
	}
	failed := map[string]int{}
	for i, f := range out.Failed {
		failed[f.Serial] = i
	}
	act := out.Activity
	b.answerAll(ctx, batch, func(r UnassignRequest) UnassignResult {
		res := UnassignResult{ActivityID: batch.ActivityID}
		i, isFailed := failed[r.Serial]
		switch {
		case err != nil:
			res.Outcome, res.Detail = UnassignUnknown, "the activity could not be read: "+errMessage(err)
		case act.Succeeded() || succeeded[r.Serial]:
			res.Outcome = UnassignDone
		case isFailed:
			res.Outcome, res.Code, res.Detail = UnassignFailed, out.Failed[i].Code, out.Failed[i].Detail
		case out.LogRead:
			res.Outcome, res.Detail = UnassignUnknown, "the activity log does not list the device"
		default:
			res.Outcome, res.Code = UnassignFailed, act.SubStatus
			res.Detail = fmt.Sprintf("activity %s ended %s %s without a log", batch.ActivityID, act.Status, act.SubStatus)
		}
		return res
	})
}

// answerAll tells every device of the batch its result, in one activity that signals them all
// (activities.Signals), and forgets the batch. Signalled from the workflow, each answer would
// come back as a confirmation event and nearly always a workflow task of the batcher's own.
func (b *batcher) answerAll(ctx workflow.Context, batch *UnassignBatch, result func(UnassignRequest) UnassignResult) {
	in := activities.SendInput{Name: signalUnassignResult}
	for _, r := range batch.Requests {
		res := result(r)
		res.RequestID, res.Serial, res.BatchSize = r.RequestID, r.Serial, len(batch.Requests)
		switch res.Outcome {
		case UnassignDone:
			b.totals.Unassigned++
		case UnassignFailed:
			b.totals.Failed++
		case UnassignNotCreated:
			b.totals.NotCreated++
		default:
			b.totals.Unknown++
		}
		// The same struct always encodes to the same bytes; workflowcheck flags the encoder's type
		// cache (a sync.Map), which holds no state that changes the output.
		arg, err := json.Marshal(res) //workflowcheck:ignore
		if err != nil {
			// Cannot happen: a struct of strings and numbers.
			b.logger.Error("unassign result not encoded", "serial", r.Serial, "error", err)
			continue
		}
		in.Signals = append(in.Signals, activities.Signal{WorkflowID: r.WorkflowID, Arg: arg})
	}
	sendSignals(ctx, b.logger, in)
	b.inflight = slices.DeleteFunc(b.inflight, func(x *UnassignBatch) bool { return x == batch })
}

// ambiguousSettle is how long a batch whose POST got no clear answer waits before its devices read
// their assignment again: an activity that may exist must have finished first, or a device still
// assigned would be sent again.
func ambiguousSettle(poll time.Duration) time.Duration { return 20 * poll }
