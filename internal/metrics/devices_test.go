package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/contract"
)

// fakeVisibility is the part of a client the watcher uses: a listing of running devices (two to a
// page) and their status queries.
type fakeVisibility struct {
	client.Client
	devices map[string]fakeDevice
	listErr error
	queries []string
}

type fakeDevice struct {
	party, step string
	since       time.Time // the status query's; zero: the query fails
}

func (f *fakeVisibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	if !strings.Contains(req.Query, "WorkflowType = '"+contract.DeviceWorkflowType+"'") || !strings.Contains(req.Query, "ExecutionStatus = 'Running'") {
		return nil, fmt.Errorf("unexpected query %q", req.Query)
	}
	ids := make([]string, 0, len(f.devices))
	for id := range f.devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	from := 0
	if len(req.NextPageToken) > 0 {
		fmt.Sscan(string(req.NextPageToken), &from)
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, id := range ids[from:min(from+2, len(ids))] {
		d := f.devices[id]
		sa := map[string]*commonpb.Payload{}
		if d.party != "" {
			sa[contract.SAWaitingOn] = keyword(d.party)
			sa[contract.SAOffboardStep] = keyword(d.step)
		}
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
			Execution:        &commonpb.WorkflowExecution{WorkflowId: id},
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: sa},
		})
	}
	if from+2 < len(ids) {
		resp.NextPageToken = []byte(fmt.Sprint(from + 2))
	}
	return resp, nil
}

func (f *fakeVisibility) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	f.queries = append(f.queries, id)
	d, ok := f.devices[id]
	if query != contract.QueryStatus || !ok || d.since.IsZero() {
		return nil, errors.New("query failed")
	}
	return jsonValue{status{Current: d.step, WaitingOn: d.party, Since: &d.since}}, nil
}

type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return true }
func (j jsonValue) Get(out any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func keyword(s string) *commonpb.Payload {
	p, err := converter.GetDefaultDataConverter().ToPayload(s)
	if err != nil {
		panic(err)
	}
	return p
}

// gauges is a metrics handler that keeps the last value of each gauge and the count of each
// counter, by name and tags.
type gauges struct {
	mu     *sync.Mutex
	tags   map[string]string
	values map[string]float64
}

func newGauges() gauges {
	return gauges{mu: &sync.Mutex{}, tags: map[string]string{}, values: map[string]float64{}}
}

func (g gauges) key(name string) string {
	keys := make([]string, 0, len(g.tags))
	for k, v := range g.tags {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return name + "{" + strings.Join(keys, ",") + "}"
}

func (g gauges) WithTags(tags map[string]string) client.MetricsHandler {
	t := map[string]string{}
	for k, v := range g.tags {
		t[k] = v
	}
	for k, v := range tags {
		t[k] = v
	}
	return gauges{mu: g.mu, tags: t, values: g.values}
}

func (g gauges) Counter(name string) client.MetricsCounter { return counterOf{g, g.key(name)} }
func (g gauges) Gauge(name string) client.MetricsGauge     { return gaugeOf{g, g.key(name)} }
func (g gauges) Timer(string) client.MetricsTimer          { panic("the watcher records no timer") }

type counterOf struct {
	g   gauges
	key string
}

func (c counterOf) Inc(n int64) { c.g.mu.Lock(); c.g.values[c.key] += float64(n); c.g.mu.Unlock() }

type gaugeOf struct {
	g   gauges
	key string
}

func (c gaugeOf) Update(v float64) { c.g.mu.Lock(); c.g.values[c.key] = v; c.g.mu.Unlock() }

func (g gauges) get(t *testing.T, key string) float64 {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.values[key]
	if !ok {
		t.Fatalf("no %s; have %v", key, g.values)
	}
	return v
}

func TestDeviceWatcherCountsAndAgesWaits(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	fv := &fakeVisibility{devices: map[string]fakeDevice{
		"offboard-A": {party: "operator", step: "console-wipe", since: now.Add(-30 * time.Hour)},
		"offboard-B": {party: "operator", step: "console-wipe", since: now.Add(-2 * time.Hour)},
		"offboard-C": {party: "device", step: "await-greyed-out"}, // its query fails: aged from first sight
		"offboard-D": {party: "console", step: "delete-greyed-out-record", since: now.Add(-time.Hour)},
		"offboard-E": {party: "none", step: "removed"},
		"offboard-F": {}, // no search attributes yet
	}}
	g := newGauges()
	w := &DeviceWatcher{Client: fv, Handler: g, now: func() time.Time { return now }}
	if err := w.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	op := "{party=operator,step=console-wipe}"
	for key, want := range map[string]float64{
		DevicesRunning + "{}":     6,
		DevicesWaiting + op:       2,
		DevicesWaitingOldest + op: 30 * 3600,
		DevicesWaiting + "{party=device,step=await-greyed-out}":       1,
		DevicesWaitingOldest + "{party=device,step=await-greyed-out}": 0,
		// Automated parties are not asked: their age is from the first scan that saw them.
		DevicesWaiting + "{party=console,step=delete-greyed-out-record}":       1,
		DevicesWaitingOldest + "{party=console,step=delete-greyed-out-record}": 0,
		WatcherScans + "{result=ok}":                                           1,
	} {
		if got := g.get(t, key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if len(fv.queries) != 3 || fv.queries[0] != "offboard-A" && fv.queries[0] != "offboard-B" {
		t.Errorf("queries %v: want the operator's two first, then the device's", fv.queries)
	}

	// An hour later: B has moved on, C still waits (asked again: its query failed; until it
	// answers it is aged from the first scan), D is gone, and a wait that emptied shows zero.
	now = now.Add(time.Hour)
	fv.devices["offboard-B"] = fakeDevice{party: "vendor-support", step: "await-greyed-out", since: now.Add(-10 * time.Minute)}
	delete(fv.devices, "offboard-D")
	fv.queries = nil
	if err := w.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]float64{
		DevicesRunning + "{}":     5,
		DevicesWaiting + op:       1,
		DevicesWaitingOldest + op: 31 * 3600,
		DevicesWaitingOldest + "{party=device,step=await-greyed-out}":          3600,
		DevicesWaitingOldest + "{party=vendor-support,step=await-greyed-out}":  600,
		DevicesWaiting + "{party=console,step=delete-greyed-out-record}":       0,
		DevicesWaitingOldest + "{party=console,step=delete-greyed-out-record}": 0,
	} {
		if got := g.get(t, key); got != want {
			t.Errorf("after an hour: %s = %v, want %v", key, got, want)
		}
	}
	if strings.Join(fv.queries, " ") != "offboard-B offboard-C" {
		t.Errorf("queries %v: want B's new wait, then C's again", fv.queries)
	}
	// C is asked three times in all, then aged from first sight for good.
	for range 3 {
		fv.queries = nil
		if err := w.Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(fv.queries) != 0 {
		t.Errorf("queries %v after C's third failure", fv.queries)
	}

	// A listing that fails keeps the gauges and says so.
	errorsBefore := g.values[WatcherScans+"{result=error}"]
	fv.listErr = errors.New("visibility unavailable")
	if err := w.Scan(context.Background()); err == nil {
		t.Fatal("a failed listing is no error")
	}
	if g.get(t, WatcherScans+"{result=error}") != errorsBefore+1 || g.get(t, DevicesWaiting+op) != 1 {
		t.Error("a failed scan should count an error and leave the gauges")
	}
}

func TestDeviceWatcherQueriesWithinItsBudget(t *testing.T) {
	now := time.Now()
	fv := &fakeVisibility{devices: map[string]fakeDevice{}}
	for i := range 5 {
		fv.devices[fmt.Sprintf("offboard-%d", i)] = fakeDevice{party: "device", step: "user-wipe", since: now.Add(-time.Hour)}
	}
	w := &DeviceWatcher{Client: fv, Handler: newGauges(), MaxQueries: 2}
	for range 3 {
		if err := w.Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(fv.queries) != 5 {
		t.Errorf("%d queries over three scans of two each, want each of the 5 waits asked once: %v", len(fv.queries), fv.queries)
	}
	w.MaxQueries = -1
	fv.queries = nil
	fv.devices["offboard-9"] = fakeDevice{party: "operator", step: "console-wipe", since: now}
	if err := w.Scan(context.Background()); err != nil || len(fv.queries) != 0 {
		t.Errorf("MaxQueries < 0 asked %v (%v)", fv.queries, err)
	}
}
