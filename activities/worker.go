package activities

import (
	"context"
	"time"
)

// WorkerInfo is what this worker can do; a workflow reads it once, at pre-flight, so its choices
// are recorded in history and replay the same.
type WorkerInfo struct {
	// ConsoleMode is the worker's default: "automated" or "operator".
	ConsoleMode string `json:"consoleMode"`
	// AppleConfigured: Apple Business credentials are set, so abm-unassign runs through the API.
	AppleConfigured bool `json:"appleConfigured"`
	// AppleServerID is this console's MDM server in Apple Business Manager.
	AppleServerID string `json:"appleServerId,omitempty"`
	// AppleOrg names the organisation's Apple Business API account (its client ID): the key of
	// its one Apple coordinator.
	AppleOrg string `json:"appleOrg,omitempty"`
	// AppleGetPerMinute and ApplePostPerHour are Apple's request budget for the organisation
	// (APPLE_GET_PER_MINUTE, APPLE_POST_PER_HOUR); 0 takes Apple's observed 20 and 10.
	AppleGetPerMinute int `json:"appleGetPerMinute,omitempty"`
	ApplePostPerHour  int `json:"applePostPerHour,omitempty"`
	// AppleBudgetTimeScale divides the budget's minute and hour (a simulator faster than real
	// time); 0 or 1 against Apple.
	AppleBudgetTimeScale float64 `json:"appleBudgetTimeScale,omitempty"`
	// ActivationLockHold holds §5 of every wiped device whose Activation Lock is on until an
	// operator has turned it off (ACTIVATION_LOCK_HOLD); a device's HoldUnassignUntilUnlocked
	// does it for one device.
	ActivationLockHold bool `json:"activationLockHold,omitempty"`
	// FleetApprovalWipes: a fleet with more wipes than this waits for a second person's approval
	// before any device starts (FLEET_APPROVAL_WIPES); 0: no fleet does.
	FleetApprovalWipes int `json:"fleetApprovalWipes,omitempty"`
	// ConsoleID names the console the worker talks to (the console URL's host and path): the key of
	// its one destruction budget.
	ConsoleID string `json:"consoleId,omitempty"`
	// DestructiveBudget and DestructiveBudgetWindow are the organisation's budget of destructive
	// console commands (DESTRUCTIVE_BUDGET, DESTRUCTIVE_BUDGET_WINDOW); 0 takes 50 in 10 minutes.
	DestructiveBudget       int           `json:"destructiveBudget,omitempty"`
	DestructiveBudgetWindow time.Duration `json:"destructiveBudgetWindow,omitempty"`
	// ConsoleWatcher is the workflow ID of the console's watcher (workflows.ConsoleWatcher),
	// which a waiting device starts when none runs; "" without a console endpoint.
	ConsoleWatcher string `json:"consoleWatcher,omitempty"`
	// ConsoleSafetyNetPoll is how often a waiting device reads the console when the watcher wakes
	// it for nothing (CONSOLE_SAFETY_NET_POLL); 0: a day.
	ConsoleSafetyNetPoll time.Duration `json:"consoleSafetyNetPoll,omitempty"`
}

// The default destruction budget: 50 wipes and deletes in any 10 minutes.
const (
	DefaultDestructiveBudget       = 50
	DefaultDestructiveBudgetWindow = 10 * time.Minute
)

// DestructionBudget is the number of destructive console commands let through in any window.
func (i WorkerInfo) DestructionBudget() (n int, window time.Duration) {
	n, window = i.DestructiveBudget, i.DestructiveBudgetWindow
	if n <= 0 {
		n = DefaultDestructiveBudget
	}
	if window <= 0 {
		window = DefaultDestructiveBudgetWindow
	}
	return n, window
}

// Apple's observed budget: Apple publishes none; people who automate it report these.
const (
	DefaultAppleGetPerMinute = 20
	DefaultApplePostPerHour  = 10
)

// AppleBudgetWindows are the budget's minute and hour, divided by the time scale of a simulator.
func (i WorkerInfo) AppleBudgetWindows() (minute, hour time.Duration) {
	scale := max(i.AppleBudgetTimeScale, 1)
	return time.Duration(float64(time.Minute) / scale), time.Duration(float64(time.Hour) / scale)
}

// AppleBudget is the organisation's budget: GETs a minute and POSTs an hour.
func (i WorkerInfo) AppleBudget() (getPerMinute, postPerHour int) {
	getPerMinute, postPerHour = i.AppleGetPerMinute, i.ApplePostPerHour
	if getPerMinute <= 0 {
		getPerMinute = DefaultAppleGetPerMinute
	}
	if postPerHour <= 0 {
		postPerHour = DefaultApplePostPerHour
	}
	return getPerMinute, postPerHour
}

// Worker answers questions about the worker's own configuration.
type Worker struct {
	Info WorkerInfo
}

// Describe returns the worker's capabilities.
func (w *Worker) Describe(context.Context) (WorkerInfo, error) { return w.Info, nil }
