// Package metrics serves the worker's Prometheus metrics: the Temporal SDK's own (through the SDK's
// tally contrib package and tally's Prometheus reporter) and Offboard's, which the workflows and
// activities emit through the SDK's metrics handler (so they share one reporter, and a workflow's
// metrics are suppressed while it replays), plus the fleet gauges that DeviceWatcher reads from
// visibility. docs/metrics.md explains every metric and the alerts built on them.
//
// Labels never carry a serial, a name or anything else about one device: only the path, the
// outcome, the step, the step's state, the party waited on, a console command's type and an
// Apple endpoint, so the number of series stays small whatever the fleet.
package metrics

import (
	"slices"

	"github.com/offboard/offboard/internal/console"
)

// Offboard's metric names, as Prometheus shows them (the names already carry the _total and
// _seconds suffixes the SDK contrib's Prometheus naming scope would add).
const (
	// DevicesStarted counts devices whose procedure began (label path).
	DevicesStarted = "offboard_devices_started_total"
	// DevicesFinished counts devices that ended (labels path, outcome: removed, rejected, cancelled).
	DevicesFinished = "offboard_devices_finished_total"
	// DeviceDuration is a histogram of a device's time from start to end (labels path, outcome).
	DeviceDuration = "offboard_device_duration_seconds"
	// StepDuration is a histogram of a step's time from its start to its end (labels step, state:
	// done, skipped, failed). A step skipped before it started is not recorded.
	StepDuration = "offboard_step_duration_seconds"
	// WaitsStarted and WaitsEnded count the waits of devices on a party at a step (labels party,
	// step); a wait starts when the step or the party waited on changes, and ends at the next
	// change. Summed over the workers, started minus ended is the number of open waits only
	// until a worker restarts (counters start again from zero): DevicesWaiting is the gauge.
	WaitsStarted = "offboard_waits_started_total"
	WaitsEnded   = "offboard_waits_ended_total"
	// WaitDuration is a histogram of how long waits lasted, recorded when they end (labels party,
	// step).
	WaitDuration = "offboard_wait_duration_seconds"
	// DestructiveCommands counts the destructive console commands sent (labels command, result:
	// ok, error): a wipe, a delete or purge of a record, the removal of profiles, certificates or
	// VPP licences.
	DestructiveCommands = "offboard_destructive_commands_total"
	// AppleRequests counts the Apple Business API requests sent (labels method, endpoint, result:
	// ok, rate_limited, error); AppleRateLimited counts those Apple answered with 429 (labels
	// method, endpoint).
	AppleRequests    = "offboard_apple_requests_total"
	AppleRateLimited = "offboard_apple_rate_limited_total"

	// The gauges DeviceWatcher sets from visibility, every worker with metrics on alike (take
	// their max across instances, not their sum).

	// DevicesRunning is the number of running device workflows.
	DevicesRunning = "offboard_devices_running"
	// DevicesWaiting is the number of running devices waiting on a party at a step (labels party,
	// step), as the search attributes show them.
	DevicesWaiting = "offboard_devices_waiting"
	// DevicesWaitingOldest is the age of the oldest of those waits (labels party, step): from the
	// device's own status (its "since") when the watcher could ask, otherwise from when this
	// worker first saw the wait.
	DevicesWaitingOldest = "offboard_devices_waiting_oldest_seconds"
	// WatcherScans counts the watcher's reads of visibility (label result: ok, error), so a
	// watcher that cannot read is seen, not mistaken for an idle fleet.
	WatcherScans = "offboard_watcher_scans_total"
)

// Label keys.
const (
	LabelPath     = "path"
	LabelOutcome  = "outcome"
	LabelStep     = "step"
	LabelState    = "state"
	LabelParty    = "party"
	LabelCommand  = "command"
	LabelResult   = "result"
	LabelMethod   = "method"
	LabelEndpoint = "endpoint"
)

// Results of a request or command.
const (
	ResultOK          = "ok"
	ResultError       = "error"
	ResultRateLimited = "rate_limited"
)

// Metric is one of Offboard's metrics: its name, its kind and its labels (besides the ones the
// SDK adds to everything a workflow or activity emits: namespace, task_queue, workflow_type,
// activity_type and the like).
type Metric struct {
	Name   string
	Kind   string // counter, gauge or histogram
	Labels []string
}

// Metric kinds.
const (
	Counter   = "counter"
	Gauge     = "gauge"
	Histogram = "histogram"
)

// All lists every metric Offboard emits.
func All() []Metric {
	return []Metric{
		{DevicesStarted, Counter, []string{LabelPath}},
		{DevicesFinished, Counter, []string{LabelPath, LabelOutcome}},
		{DeviceDuration, Histogram, []string{LabelPath, LabelOutcome}},
		{StepDuration, Histogram, []string{LabelStep, LabelState}},
		{WaitsStarted, Counter, []string{LabelParty, LabelStep}},
		{WaitsEnded, Counter, []string{LabelParty, LabelStep}},
		{WaitDuration, Histogram, []string{LabelParty, LabelStep}},
		{DestructiveCommands, Counter, []string{LabelCommand, LabelResult}},
		{AppleRequests, Counter, []string{LabelMethod, LabelEndpoint, LabelResult}},
		{AppleRateLimited, Counter, []string{LabelMethod, LabelEndpoint}},
		{DevicesRunning, Gauge, nil},
		{DevicesWaiting, Gauge, []string{LabelParty, LabelStep}},
		{DevicesWaitingOldest, Gauge, []string{LabelParty, LabelStep}},
		{WatcherScans, Counter, []string{LabelResult}},
	}
}

// SDKLabels are the labels the SDK adds to the metrics of its own and to everything a workflow or
// an activity emits through its handler.
var SDKLabels = []string{"namespace", "task_queue", "workflow_type", "activity_type", "worker_type", "client_name", "failure_reason", "operation"}

// SDK lists the SDK's metrics the dashboard shows (it emits many more: the SDK's documentation
// lists them), with the names its tally contrib's Prometheus naming gives them. A run of one
// device emits every one of them (integration/metrics_test.go).
func SDK() []Metric {
	return []Metric{
		{"temporal_workflow_completed_total", Counter, nil},
		{"temporal_workflow_canceled_total", Counter, nil},
		{"temporal_workflow_task_schedule_to_start_latency_seconds", Histogram, nil},
		{"temporal_activity_schedule_to_start_latency_seconds", Histogram, nil},
		{"temporal_worker_task_slots_available", Gauge, nil},
	}
}

// Series are the names of the series Prometheus stores for Offboard's metrics: a counter's or a
// gauge's own name, a histogram's _bucket, _sum and _count (its own name is only the family's).
func Series() []string {
	var out []string
	for _, m := range All() {
		if m.Kind == Histogram {
			out = append(out, m.Name+"_bucket", m.Name+"_sum", m.Name+"_count")
		} else {
			out = append(out, m.Name)
		}
	}
	return out
}

// destructive are the console commands that change or remove something of the device or its
// record for good (internal/console's command types).
var destructive = []string{console.CmdEraseDevice, console.CmdDeleteDevice, console.CmdPurgeDevice,
	console.CmdRemoveProfile, console.CmdRemoveCertificates, console.CmdRevokeVPPLicenses}

// Destructive reports whether a console command is one DestructiveCommands counts.
func Destructive(command string) bool { return slices.Contains(destructive, command) }
