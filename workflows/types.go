package workflows

import (
	"time"

	"github.com/offboard/offboard/internal/procedure"
)

// DeviceInput starts DeviceOffboarding for one device.
type DeviceInput struct {
	Request procedure.Request `json:"request"`
	// ConsoleMode is "automated" or "operator"; empty takes the worker's CONSOLE_MODE.
	ConsoleMode string `json:"consoleMode,omitempty"`
	// Contact is how to reach the device's user (an e-mail address), for on-device steps.
	Contact string `json:"contact,omitempty"`
	// RequestedBy names the person or system that asked (an HR ticket, an operator).
	RequestedBy string `json:"requestedBy,omitempty"`
	// Confirmed records the typed confirmation (or --yes) for the destructive steps of the plan.
	Confirmed bool   `json:"confirmed"`
	FleetID   string `json:"fleetId,omitempty"`
	Timing    Timing `json:"timing,omitempty"`
	// HoldUnassignUntilUnlocked holds §5 (abm-unassign) of a wiped device whose Activation Lock is
	// on until an operator has turned it off in Apple Business Manager and Apple reports it off
	// (activation_lock.go). The worker's ACTIVATION_LOCK_HOLD turns it on for every device.
	HoldUnassignUntilUnlocked bool `json:"holdUnassignUntilUnlocked,omitempty"`
	// FleetApproval is the second person's approval of the device's fleet (fleet_approval.go), for
	// the device's audit and retirement record; nil when the fleet needed none.
	FleetApproval *AuditEntry `json:"fleetApproval,omitempty"`
}

// Timing holds the waits of a device. Zero fields take the defaults of DefaultTiming; a demo or a
// test shortens them, production keeps the defaults.
type Timing struct {
	// CheckInPoll is how often a wait on the device reads the console (one activity; its retries
	// are the polls, so a poll adds no history event).
	CheckInPoll time.Duration `json:"checkInPoll,omitempty"`
	// CheckInDeadline is how long the device may take to show greyed-out (or to carry out a
	// queued command) before an operator is asked what to do.
	CheckInDeadline time.Duration `json:"checkInDeadline,omitempty"`
	// UserReminders are the times, counted from the start of a wait on the device's user, at which
	// the user is reminded.
	UserReminders []time.Duration `json:"userReminders,omitempty"`
	// OperatorReminder is how often a person who owes a step (an operator, vendor support) is reminded.
	OperatorReminder time.Duration `json:"operatorReminder,omitempty"`
	// ConsolePoll is how often a queued command or a deletion in progress is checked.
	ConsolePoll time.Duration `json:"consolePoll,omitempty"`
	// ApplePoll is how often an Apple Business activity is checked.
	ApplePoll time.Duration `json:"applePoll,omitempty"`
	// SafetyNetPoll is how often a wait on the device reads the console when the console
	// watcher wakes nobody (changeWatchedWait); 0 takes the worker's CONSOLE_SAFETY_NET_POLL,
	// a day by default.
	SafetyNetPoll time.Duration `json:"safetyNetPoll,omitempty"`
}

// DefaultTiming is production's: devices check in within hours, users get a day between reminders.
func DefaultTiming() Timing {
	return Timing{
		CheckInPoll:      10 * time.Minute,
		CheckInDeadline:  14 * 24 * time.Hour,
		UserReminders:    []time.Duration{24 * time.Hour, 3 * 24 * time.Hour, 7 * 24 * time.Hour, 10 * 24 * time.Hour},
		OperatorReminder: 24 * time.Hour,
		ConsolePoll:      time.Minute,
		ApplePoll:        30 * time.Second,
	}
}

// withDefaults fills the zero fields of t.
func (t Timing) withDefaults() Timing {
	d := DefaultTiming()
	if t.CheckInPoll <= 0 {
		t.CheckInPoll = d.CheckInPoll
	}
	if t.CheckInDeadline <= 0 {
		t.CheckInDeadline = d.CheckInDeadline
	}
	if len(t.UserReminders) == 0 {
		t.UserReminders = d.UserReminders
	}
	if t.OperatorReminder <= 0 {
		t.OperatorReminder = d.OperatorReminder
	}
	if t.ConsolePoll <= 0 {
		t.ConsolePoll = d.ConsolePoll
	}
	if t.ApplePoll <= 0 {
		t.ApplePoll = d.ApplePoll
	}
	return t
}

// Step states of the status query.
const (
	StatePending = "pending"
	StateRunning = "running"
	StateWaiting = "waiting"
	StateDone    = "done"
	StateSkipped = "skipped"
	StateFailed  = "failed"
)

// Device outcomes.
const (
	OutcomeRunning   = "running"
	OutcomeRemoved   = "removed"
	OutcomeRejected  = "rejected" // pre-flight or input did not fit: nothing was changed
	OutcomeCancelled = "cancelled"
)

// StepStatus is one step of the plan as the status query shows it.
type StepStatus struct {
	ID        procedure.StepID `json:"id"`
	Section   string           `json:"section"`
	Title     string           `json:"title"`
	State     string           `json:"state"`
	Attempts  int              `json:"attempts"`
	StartedAt *time.Time       `json:"startedAt,omitempty"`
	EndedAt   *time.Time       `json:"endedAt,omitempty"`
	Note      string           `json:"note,omitempty"`
}

// AuditEntry records what a person reported, and when.
type AuditEntry struct {
	Time    time.Time        `json:"time"`
	Step    procedure.StepID `json:"step"`
	By      string           `json:"by"`
	Outcome string           `json:"outcome"`
	Note    string           `json:"note,omitempty"`
}

// DeviceStatus is the answer of the status query: everything an operator needs about one device.
type DeviceStatus struct {
	Serial      string           `json:"serial"`
	Path        string           `json:"path"`
	ConsoleMode string           `json:"consoleMode"`
	FleetID     string           `json:"fleetId,omitempty"`
	Outcome     string           `json:"outcome"`
	Steps       []StepStatus     `json:"steps"`
	Current     procedure.StepID `json:"current,omitempty"`
	WaitingOn   procedure.Party  `json:"waitingOn"`
	WaitingFor  string           `json:"waitingFor,omitempty"` // why, in one line
	Since       *time.Time       `json:"since,omitempty"`
	Instruction string           `json:"instruction,omitempty"` // what the person should do now
	Choices     []string         `json:"choices,omitempty"`     // outcomes complete-step accepts now
	Warnings    []string         `json:"warnings"`
	Audit       []AuditEntry     `json:"audit,omitempty"`
	AppleActID  string           `json:"appleActivityId,omitempty"`
	// AppleActivity is what the Apple coordinator said of the activity that unassigned the device:
	// its final status and the device's line of its log.
	AppleActivity *AppleAnswer `json:"appleActivity,omitempty"`
	Error         string       `json:"error,omitempty"`
	// ActivationLock is what Apple reported of the device's Activation Lock (activation_lock.go).
	ActivationLock *ActivationLockState `json:"activationLock,omitempty"`
	// Destruction is what the destruction budget decided for each destructive command, and who
	// approved the ones it held (approval.go).
	Destruction []DestructiveGrant `json:"destruction,omitempty"`
}

// StepReport is the argument of the complete-step update.
type StepReport struct {
	Step    procedure.StepID `json:"step"`
	By      string           `json:"by"`
	Outcome string           `json:"outcome"`
	Note    string           `json:"note,omitempty"`
	// Confirm carries the typed "YES" that delete-anyway needs, as CLOMO PANEL asks for it.
	Confirm string `json:"confirm,omitempty"`
	// Round is set by a fleet's report for many devices (fleet_steps.go): 1 + the reports the
	// device had for the step when it told the fleet it waits there. The device refuses it once it
	// has left that wait, even if it waits at the same step again.
	Round int `json:"round,omitempty"`
}

// DeviceEvent is the argument of the device-event signal.
type DeviceEvent struct {
	Event  string `json:"event"`
	Source string `json:"source,omitempty"`
}

// DeviceResult is what DeviceOffboarding returns; a fleet reads it from its children.
type DeviceResult struct {
	Serial   string       `json:"serial"`
	Path     string       `json:"path"`
	Outcome  string       `json:"outcome"`
	Warnings []string     `json:"warnings,omitempty"`
	Steps    []StepStatus `json:"steps,omitempty"`
	Error    string       `json:"error,omitempty"`
	// ActivationLock is the device's Activation Lock as the run left it; Reusable is never true
	// for a device Apple reports locked.
	ActivationLock *ActivationLockState `json:"activationLock,omitempty"`
}
