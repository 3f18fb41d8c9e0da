// Package contract holds the names of docs/contract.md: the task queues, workflow types and IDs,
// search attributes, queries, updates, signals and WaitingOn values that operators, scripts and
// dashboards rely on. Workflows, activities, the starter and the tests all import them from here,
// so a name is typed once. It imports nothing, so every package may import it.
package contract

import "strings"

// Task queues. Activities that call an outside system have queues of their own, each rate-limited
// by the server across every worker.
const (
	TaskQueue        = "offboarding"
	ConsoleTaskQueue = "clomo-console"
	AppleTaskQueue   = "apple-business"
	// BatcherTaskQueue is internal (not in contract.md): the Apple coordinator's workflow tasks,
	// so the one workflow that answers many devices never waits behind theirs.
	BatcherTaskQueue = "offboarding-batcher"
)

// Workflow types.
const (
	DeviceWorkflowType = "DeviceOffboarding"
	FleetWorkflowType  = "FleetRetirement"
)

// Queries, updates and signals.
const (
	QueryStatus        = "status"        // on a device
	QueryProgress      = "progress"      // on a fleet
	UpdateCompleteStep = "complete-step" // on a device: a person reports a step
	SignalDeviceEvent  = "device-event"  // on a device: an outside source wakes a waiting step
	SignalPause        = "pause"         // on a fleet
	SignalResume       = "resume"        // on a fleet
	// UpdateApprove, on a device: a second person approves the destructive step it holds
	// (WaitingOn=approval). On a fleet: a second person approves a fleet whose wipes are past
	// the threshold, before any device starts. The approver is never the person who started it.
	UpdateApprove = "approve"
	// UpdateCompleteFleetStep, on a fleet: a person reports one step for every device of the
	// fleet waiting at it (CLOMO PANEL's multi-select), naming the exceptions; each device still
	// records its own outcome.
	UpdateCompleteFleetStep = "complete-step"
)

// Search attributes (Keyword).
const (
	SADeviceSerial = "DeviceSerial"
	SAOffboardPath = "OffboardPath"
	SAOffboardStep = "OffboardStep"
	SAWaitingOn    = "WaitingOn"
	SAFleetID      = "FleetID"
)

// SearchAttributeNames lists the search attributes a namespace must have registered.
var SearchAttributeNames = []string{SADeviceSerial, SAOffboardPath, SAOffboardStep, SAWaitingOn, SAFleetID}

// WaitingOn is who a device waits on: the values of the WaitingOn search attribute.
type WaitingOn string

const (
	WaitingOnConsole       WaitingOn = "console"
	WaitingOnDevice        WaitingOn = "device"
	WaitingOnOperator      WaitingOn = "operator"
	WaitingOnApple         WaitingOn = "apple"
	WaitingOnVendorSupport WaitingOn = "vendor-support"
	WaitingOnApproval      WaitingOn = "approval" // a second person must approve a destructive step
	WaitingOnNone          WaitingOn = "none"
)

// NeedsPerson reports whether a device waiting on w waits on a person who should act.
func (w WaitingOn) NeedsPerson() bool {
	return w == WaitingOnOperator || w == WaitingOnVendorSupport || w == WaitingOnApproval
}

// Console modes: who carries out a console step.
const (
	ModeAutomated = "automated" // the console endpoint, through activities
	ModeOperator  = "operator"  // a person in CLOMO PANEL, who reports through complete-step
)

// Events of the device-event signal.
const (
	EventGreyedOut  = "greyed-out"
	EventCheckedOut = "checked-out"
	EventRecordGone = "record-gone"
	// EventConsoleChanged: the console watcher saw the device change in the console's feed.
	EventConsoleChanged = "console-changed"
)

const (
	deviceWorkflowPrefix = "offboard-"
	fleetWorkflowPrefix  = "fleet-"
)

// DeviceWorkflowID is the workflow ID of one device: it is the lock that keeps a device from
// being offboarded twice at once, from any fleet or caller.
func DeviceWorkflowID(serial string) string {
	return deviceWorkflowPrefix + strings.ToUpper(strings.TrimSpace(serial))
}

// FleetWorkflowID is the workflow ID of a fleet retirement.
func FleetWorkflowID(fleetID string) string { return fleetWorkflowPrefix + fleetID }
