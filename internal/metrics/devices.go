package metrics

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/temporalclient"
)

// DeviceWatcher sets the fleet gauges (DevicesRunning, DevicesWaiting, DevicesWaitingOldest) from
// visibility: what is waiting now is state, which no counter of one worker process can keep
// across restarts and across the workers a workflow moves between. Each scan lists the running
// device workflows with their WaitingOn and OffboardStep search attributes. A wait's age is the
// device's own "since" (its status query) for the waits on a person or on the device, asked once
// per wait (a failed query is asked again at the next two scans) and at most MaxQueries times a
// scan (the operator's first); any other wait, and one not asked yet, is aged from the scan that
// first saw it.
type DeviceWatcher struct {
	Client  client.Client
	Handler client.MetricsHandler
	Logger  *zap.Logger
	// Every is the time between scans (0: a minute).
	Every time.Duration
	// MaxQueries bounds the status queries of one scan (0: 20; negative: none).
	MaxQueries int

	now   func() time.Time
	waits map[string]wait // by workflow ID
	shown map[waitKey]bool
}

type waitKey struct{ party, step string }

type wait struct {
	waitKey
	since time.Time
	exact bool // since is the device's own, not the time a scan first saw the wait
	asked int  // status queries that failed
}

// maxAsks is how many scans ask a device whose status query fails before its wait is aged from
// first sight for good.
const maxAsks = 3

// parties whose waits are aged from the device's status, in the order they are asked about: a
// person's and the device's waits last hours or days, and the alerts look at them.
var queried = []string{
	string(contract.WaitingOnOperator), string(contract.WaitingOnVendorSupport),
	string(contract.WaitingOnApproval), string(contract.WaitingOnDevice),
}

// Run scans until ctx ends.
func (d *DeviceWatcher) Run(ctx context.Context) {
	every := d.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := d.Scan(ctx); err != nil && ctx.Err() == nil {
			d.logger().Warn("device metrics not read from visibility", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Scan reads visibility once and sets the gauges.
func (d *DeviceWatcher) Scan(ctx context.Context) error {
	if d.now == nil {
		d.now = time.Now
	}
	if d.waits == nil {
		d.waits, d.shown = map[string]wait{}, map[waitKey]bool{}
	}
	running, current, err := d.list(ctx)
	result := ResultOK
	if err != nil {
		result = ResultError
	}
	d.Handler.WithTags(map[string]string{LabelResult: result}).Counter(WatcherScans).Inc(1)
	if err != nil {
		return err // the gauges keep their last values; the scan counter says they are stale
	}
	now := d.now()
	next := map[string]wait{}
	for id, k := range current {
		w, ok := d.waits[id]
		if !ok || w.waitKey != k {
			w = wait{waitKey: k, since: now}
		}
		next[id] = w
	}
	d.waits = next
	d.askSince(ctx)

	count := map[waitKey]int{}
	oldest := map[waitKey]time.Time{}
	for _, w := range d.waits {
		count[w.waitKey]++
		if o, ok := oldest[w.waitKey]; !ok || w.since.Before(o) {
			oldest[w.waitKey] = w.since
		}
	}
	d.Handler.Gauge(DevicesRunning).Update(float64(running))
	for k := range d.shown {
		if count[k] == 0 { // a wait that has emptied shows as zero, not as its last value
			d.gauges(k, 0, 0)
		}
	}
	for k, n := range count {
		d.gauges(k, n, now.Sub(oldest[k]))
		d.shown[k] = true
	}
	return nil
}

func (d *DeviceWatcher) gauges(k waitKey, n int, age time.Duration) {
	h := d.Handler.WithTags(map[string]string{LabelParty: k.party, LabelStep: k.step})
	h.Gauge(DevicesWaiting).Update(float64(n))
	h.Gauge(DevicesWaitingOldest).Update(max(age, 0).Seconds())
}

// list returns the number of running devices and what each one waiting on a party waits on.
func (d *DeviceWatcher) list(ctx context.Context) (int, map[string]waitKey, error) {
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", contract.DeviceWorkflowType)
	waiting := map[string]waitKey{}
	running := 0
	var token []byte
	for {
		resp, err := d.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return 0, nil, err
		}
		for _, e := range resp.GetExecutions() {
			running++
			sa := e.GetSearchAttributes().GetIndexedFields()
			party := temporalclient.Keyword(sa, contract.SAWaitingOn)
			if party == "" || party == string(contract.WaitingOnNone) {
				continue
			}
			step := temporalclient.Keyword(sa, contract.SAOffboardStep)
			waiting[e.GetExecution().GetWorkflowId()] = waitKey{party: party, step: step}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return running, waiting, nil
		}
	}
}

// status is the part of a device's status query the watcher reads.
type status struct {
	Current   string     `json:"current"`
	WaitingOn string     `json:"waitingOn"`
	Since     *time.Time `json:"since"`
}

// askSince asks the devices of the waits not yet aged exactly for their own since, the parties
// of queried in order, within MaxQueries.
func (d *DeviceWatcher) askSince(ctx context.Context) {
	budget := d.MaxQueries
	if budget == 0 {
		budget = 20
	}
	var ids []string
	for id, w := range d.waits {
		if !w.exact && slices.Contains(queried, w.party) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := slices.Index(queried, d.waits[a].party) - slices.Index(queried, d.waits[b].party); c != 0 {
			return c
		}
		return d.waits[a].since.Compare(d.waits[b].since)
	})
	for _, id := range ids[:min(len(ids), max(budget, 0))] {
		w := d.waits[id]
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := d.queryStatus(qctx, id)
		cancel()
		switch {
		case err != nil:
			d.logger().Debug("device status not read for its wait's age", zap.String("workflowId", id), zap.Error(err))
			w.asked++
			w.exact = w.asked >= maxAsks
		case s.WaitingOn == w.party && s.Current == w.step && s.Since != nil:
			w.since, w.exact = *s.Since, true
		default:
			// Moved on since visibility was written: the next scan sees the new wait.
			w.exact = true
		}
		d.waits[id] = w
	}
}

func (d *DeviceWatcher) queryStatus(ctx context.Context, id string) (status, error) {
	v, err := d.Client.QueryWorkflow(ctx, id, "", contract.QueryStatus)
	if err != nil {
		return status{}, err
	}
	var s status
	return s, v.Get(&s)
}

func (d *DeviceWatcher) logger() *zap.Logger {
	if d.Logger == nil {
		return zap.NewNop()
	}
	return d.Logger
}
