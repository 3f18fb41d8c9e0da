package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

// The engine's work a device costs, as counts read from the histories: they do not depend on how
// busy the machine is, where the rates do. Per path (a sample of the fleet's devices), per floor
// child, and for the fleet's own workflows and the Apple coordinator per device.

// costSample is how many workflows of each path (and of the floor) are read event by event.
const costSample = 12

// costs sums the counts of the histories read; value() gives them per workflow.
type costs struct {
	n int // workflows (or, for a side, devices) the sums are divided by
	// The counts, summed.
	events, wfts, wftFailed, activities, attempts, localActs, timers, sigIn, sigOut, sigOutApple, upserts, versionUpserts,
	markers, children, updates float64
}

// add counts one history event.
func (c *costs) add(e *historypb.HistoryEvent) {
	c.events++
	switch e.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		c.wfts++
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
		c.wftFailed++
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		c.activities++
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		// Written once, at the last attempt: a poll's retries are attempts the server ran without
		// an event of their own (each is a dispatch, a start and a failure).
		c.attempts += float64(max(e.GetActivityTaskStartedEventAttributes().GetAttempt(), 1))
	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
			c.localActs++
		} else {
			c.markers++
		}
	case enumspb.EVENT_TYPE_TIMER_STARTED:
		c.timers++
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		c.sigIn++
	case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
		c.sigOut++
		if strings.HasPrefix(e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes().GetWorkflowExecution().GetWorkflowId(), "apple-coordinator-") {
			c.sigOutApple++
		}
	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		c.upserts++
		fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
		if _, ok := fields["TemporalChangeVersion"]; ok && len(fields) == 1 {
			c.versionUpserts++
		}
	case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
		c.children++
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
		c.updates++
	}
}

func (c costs) per(v float64) float64 {
	if c.n == 0 {
		return 0
	}
	return v / float64(c.n)
}

// visibilityWrites are the visibility records a workflow's history writes: its start and its
// close, and every upsert of its search attributes (the SDK's TemporalChangeVersion ones included).
func (c costs) visibilityWrites(workflows float64) float64 { return c.per(2*workflows + c.upserts) }

// costTable is a fleet's: its devices by path, the fleet's own workflows and the Apple
// coordinator, each per device.
type costTable struct {
	byPath      map[string]*costs
	fleetSide   costs // fleet runs and device list, per device of the fleet
	fleetRuns   int
	coordinator costs // the Apple coordinator's events while the fleet ran, per ADE device
}

// readCosts reads a sample of each path's device histories, every history of the fleet's own
// workflows, and the Apple coordinator's events from since.
func (b *bench) readCosts(ctx context.Context, fleetID string, since time.Time, n, ade int) costTable {
	t := costTable{byPath: map[string]*costs{}}
	var byPath = map[string][]string{}
	_ = b.list(ctx, fmt.Sprintf("WorkflowType = '%s' AND FleetID = '%s'", contract.DeviceWorkflowType, fleetID), func(e *workflowInfo) {
		p := e.keyword("OffboardPath")
		byPath[p] = append(byPath[p], e.workflowID)
	})
	for p, ids := range byPath {
		slices.Sort(ids)
		c := &costs{}
		for i := 0; i < len(ids) && c.n < costSample; i += max(len(ids)/costSample, 1) {
			b.eachEvent(ctx, ids[i], "", func(e *historypb.HistoryEvent) bool { c.add(e); return true })
			c.n++
		}
		t.byPath[p] = c
	}
	t.fleetSide.n = n
	_ = b.list(ctx, fmt.Sprintf("WorkflowId = '%s' OR WorkflowId = '%s'", contract.FleetWorkflowID(fleetID), workflows.FleetDeviceListID(fleetID)), func(e *workflowInfo) {
		if e.workflowID == contract.FleetWorkflowID(fleetID) {
			t.fleetRuns++
		}
		b.eachEvent(ctx, e.workflowID, e.runID, func(ev *historypb.HistoryEvent) bool { t.fleetSide.add(ev); return true })
	})
	t.coordinator.n = ade
	_ = b.list(ctx, fmt.Sprintf("WorkflowType = '%s'", workflows.CoordinatorWorkflowType), func(e *workflowInfo) {
		if e.closed() && e.close.Before(since) {
			return
		}
		b.eachEvent(ctx, e.workflowID, e.runID, func(ev *historypb.HistoryEvent) bool {
			if !ev.GetEventTime().AsTime().Before(since) {
				t.coordinator.add(ev)
			}
			return true
		})
	})
	return t
}

// readFloorCosts reads a sample of the floor's children and every run of its parent.
func (b *bench) readFloorCosts(ctx context.Context, parentID string, children []string, n int) (child, parent costs) {
	slices.Sort(children)
	for i := 0; i < len(children) && child.n < costSample; i += max(len(children)/costSample, 1) {
		b.eachEvent(ctx, children[i], "", func(e *historypb.HistoryEvent) bool { child.add(e); return true })
		child.n++
	}
	parent.n = n
	_ = b.list(ctx, fmt.Sprintf("WorkflowId = '%s'", parentID), func(e *workflowInfo) {
		b.eachEvent(ctx, e.workflowID, e.runID, func(ev *historypb.HistoryEvent) bool { parent.add(ev); return true })
	})
	return child, parent
}

// costRow is one line of the cost table: a name and its counts.
type costRow struct {
	name      string
	c         costs
	workflows float64 // workflows per unit (1 for a device; runs per device for a side)
}

// printCosts prints, for the last fleet and floor of each size, what a device costs the engine
// by path next to what a floor child costs, and the fleet's and the coordinator's share.
func printCosts(w io.Writer, results []sizeResult) {
	for _, r := range results {
		fleet := r.fleets[len(r.fleets)-1]
		if fleet.cost.byPath == nil {
			continue
		}
		fmt.Fprintf(w, "\nWhat a device costs the engine, %d devices (counts from the histories, not times: a sample of %d a path; "+
			"sides per device; visibility writes = start + close + upserts)\n", r.n, costSample)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "per device\tevents\tworkflow tasks\tfailed WFTs\tactivities\tattempts\tlocal acts\ttimers\tsignals in\tsignals out\tto coordinator\tSA upserts\tof them versions\tversion markers\tchildren\tupdates\tvisibility writes\t")
		var rows []costRow
		var paths []string
		for p := range fleet.cost.byPath {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		var all costs
		for _, p := range paths {
			c := *fleet.cost.byPath[p]
			rows = append(rows, costRow{name: p, c: c, workflows: 1})
			all = all.plus(c)
		}
		rows = append(rows, costRow{name: "device (mean of paths)", c: all, workflows: 1})
		rows = append(rows, costRow{name: fmt.Sprintf("fleet side (%d runs + list)", fleet.cost.fleetRuns), c: fleet.cost.fleetSide,
			workflows: float64(fleet.cost.fleetRuns+1) / float64(max(fleet.cost.fleetSide.n, 1))})
		if fleet.cost.coordinator.events > 0 {
			rows = append(rows, costRow{name: "Apple coordinator, per ADE device", c: fleet.cost.coordinator})
		}
		total := unit(all, 1).sum(unit(fleet.cost.fleetSide, 1)).sum(unit(fleet.cost.coordinator, float64(fleet.cost.coordinator.n)/float64(max(r.n, 1))))
		rows = append(rows, costRow{name: "device + fleet side + coordinator", c: total,
			workflows: 1 + float64(fleet.cost.fleetRuns+1)/float64(max(r.n, 1))})
		if len(r.floors) > 0 {
			floor := r.floors[len(r.floors)-1]
			rows = append(rows, costRow{name: "floor child", c: floor.child, workflows: 1})
			rows = append(rows, costRow{name: "floor parent, per child", c: floor.parent})
			rows = append(rows, costRow{name: "floor child + parent", c: unit(floor.child, 1).sum(unit(floor.parent, 1)), workflows: 1})
		}
		for _, row := range rows {
			c := row.c
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\t\n", row.name,
				c.per(c.events), c.per(c.wfts), c.per(c.wftFailed), c.per(c.activities), c.per(c.attempts), c.per(c.localActs), c.per(c.timers),
				c.per(c.sigIn), c.per(c.sigOut), c.per(c.sigOutApple), c.per(c.upserts), c.per(c.versionUpserts), c.per(c.markers),
				c.per(c.children), c.per(c.updates), c.visibilityWrites(row.workflows*float64(c.n)))
		}
		_ = tw.Flush()
	}
}

// unit is c per workflow (or device) times k, as a sample of one.
func unit(c costs, k float64) costs {
	if c.n == 0 {
		return costs{n: 1}
	}
	return costs{}.plus(c).scale(k)
}

// scale multiplies every count.
func (c costs) scale(k float64) costs {
	for _, v := range c.fields() {
		*v *= k
	}
	return c
}

// sum adds d's counts to c's (both samples of one).
func (c costs) sum(d costs) costs {
	df := d.fields()
	for i, v := range c.fields() {
		*v += *df[i]
	}
	return c
}

func (c *costs) fields() []*float64 {
	return []*float64{&c.events, &c.wfts, &c.wftFailed, &c.activities, &c.attempts, &c.localActs, &c.timers, &c.sigIn, &c.sigOut,
		&c.sigOutApple, &c.upserts, &c.versionUpserts, &c.markers, &c.children, &c.updates}
}

// plus adds a sample's means to c, as one more workflow: the mean of paths weighs each path
// alike, as the fleet's cycle does.
func (c costs) plus(d costs) costs {
	if d.n == 0 {
		return c
	}
	df := d.fields()
	for i, v := range c.fields() {
		*v += *df[i] / float64(d.n)
	}
	c.n++
	return c
}
