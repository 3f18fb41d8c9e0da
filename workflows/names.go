// Package workflows holds Offboard's deterministic code: DeviceOffboarding (one device through
// the vendor procedure) and FleetRetirement (many devices). Workflows decide; activities act.
package workflows

import (
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Names of contract.md: operators, scripts and dashboards rely on them.
const (
	TaskQueue             = "offboarding"
	ConsoleTaskQueue      = "clomo-console"
	AppleTaskQueue        = "apple-business"
	DeviceWorkflowType    = "DeviceOffboarding"
	FleetWorkflowType     = "FleetRetirement"
	QueryStatus           = "status"
	QueryProgress         = "progress"
	UpdateCompleteStep    = "complete-step"
	SignalDeviceEvent     = "device-event"
	SignalPause           = "pause"
	SignalResume          = "resume"
	signalDeviceFinished  = "device-finished" // child → fleet; internal
	deviceWorkflowPrefix  = "offboard-"
	fleetWorkflowIDPrefix = "fleet-"
)

// BatcherTaskQueue is the workflow task queue of the Apple unassign batcher, internal (not in
// contract.md): one workflow that answers many devices must not wait for its workflow tasks
// behind theirs. Its Apple calls run on AppleTaskQueue like every Apple call; the activity that
// sends its answers (activities.Signals) runs on this queue.
const BatcherTaskQueue = "offboarding-batcher"

// Search attributes (Keyword) of contract.md.
var (
	SADeviceSerial = temporal.NewSearchAttributeKeyKeyword("DeviceSerial")
	SAOffboardPath = temporal.NewSearchAttributeKeyKeyword("OffboardPath")
	SAOffboardStep = temporal.NewSearchAttributeKeyKeyword("OffboardStep")
	SAWaitingOn    = temporal.NewSearchAttributeKeyKeyword("WaitingOn")
	SAFleetID      = temporal.NewSearchAttributeKeyKeyword("FleetID")
)

// SearchAttributeNames lists the search attributes a namespace must have registered.
var SearchAttributeNames = []string{"DeviceSerial", "OffboardPath", "OffboardStep", "WaitingOn", "FleetID"}

// DeviceWorkflowID is the workflow ID of one device: it is the lock that keeps a device from
// being offboarded twice at once, from any fleet or caller.
func DeviceWorkflowID(serial string) string {
	return deviceWorkflowPrefix + strings.ToUpper(strings.TrimSpace(serial))
}

// FleetWorkflowID is the workflow ID of a fleet retirement.
func FleetWorkflowID(fleetID string) string { return fleetWorkflowIDPrefix + fleetID }

// Console modes: who carries out a console step.
const (
	ModeAutomated = "automated" // the console endpoint, through activities
	ModeOperator  = "operator"  // a person in CLOMO PANEL, who confirms through complete-step
)

// Events of the device-event signal.
const (
	EventGreyedOut  = "greyed-out"
	EventCheckedOut = "checked-out"
	EventRecordGone = "record-gone"
)
