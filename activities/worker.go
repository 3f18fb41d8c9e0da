package activities

import "context"

// WorkerInfo is what this worker can do; a workflow reads it once, at pre-flight, so its choices
// are recorded in history and replay the same.
type WorkerInfo struct {
	// ConsoleMode is the worker's default: "automated" or "operator".
	ConsoleMode string `json:"consoleMode"`
	// AppleConfigured: Apple Business credentials are set, so abm-unassign runs through the API.
	AppleConfigured bool `json:"appleConfigured"`
	// AppleServerID is this console's MDM server in Apple Business Manager.
	AppleServerID string `json:"appleServerId,omitempty"`
}

// Worker answers questions about the worker's own configuration.
type Worker struct {
	Info WorkerInfo
}

// Describe returns the worker's capabilities.
func (w *Worker) Describe(context.Context) (WorkerInfo, error) { return w.Info, nil }
