// Package activities holds one struct per outside system (console, Apple Business, notifications,
// the worker's own settings). Each method is one outside call: it carries the idempotency key it is
// given, classifies errors (retryable, not retryable, or the benign "not yet" of a poll), and knows
// nothing of the procedure's order, which the workflow owns.
package activities

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/console"
)

// Error types that workflows branch on (temporal.ApplicationError.Type()).
const (
	// ErrNotYet: a poll found the device or activity not there yet. Retried at the poll interval;
	// the retries are the polls, so waiting adds no history events.
	ErrNotYet = "NotYet"
	// ErrLostModeOn: a delete was refused because lost mode is on and the path did not wipe.
	ErrLostModeOn = "LostModeOn"
	// ErrRecordGone: the console has no record with that serial (deleted, or never known).
	ErrRecordGone = "RecordGone"
	// ErrCommandFailed: the device reported a queued command as failed.
	ErrCommandFailed = "CommandFailed"
	// ErrActivityFailed: an Apple Business activity ended without success for the device.
	ErrActivityFailed = "AppleActivityFailed"
	// ErrRefused: the outside system refused the request for good (4xx other than the ones above).
	ErrRefused = "Refused"
	// ErrNotConfigured: the worker has no client for that system.
	ErrNotConfigured = "NotConfigured"
)

// notYet is the benign error of a poll whose condition does not hold yet.
func notYet(format string, a ...any) error {
	// Benign: a poll that is not there yet is the normal state of a wait, not an alert.
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, a...), ErrNotYet,
		temporal.ApplicationErrorOptions{Category: temporal.ApplicationErrorCategoryBenign})
}

// classifyConsole turns a console error into the error a workflow branches on: the console's
// 409 codes keep their code as the type and are not retried; 429 honours Retry-After; 5xx and
// transport errors are retried by the activity's policy.
func classifyConsole(serial, op string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	var ae *console.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("device %s: %s: %w", serial, op, err)
	}
	msg := fmt.Sprintf("device %s: %s: %s", serial, op, ae.Error())
	switch {
	case ae.Status == 429:
		return temporal.NewApplicationErrorWithOptions(msg, console.CodeRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: ae.RetryAfter})
	case ae.Temporary():
		return temporal.NewApplicationError(msg, ae.Code)
	case ae.Code == console.CodeDeviceNotFound:
		return temporal.NewNonRetryableApplicationError(msg+": check the serial in CLOMO PANEL (Devices)", ErrRecordGone, nil)
	case ae.Code == console.CodeUnauthorized:
		return temporal.NewNonRetryableApplicationError(msg+": check CONSOLE_TOKEN_FILE", ErrRefused, nil)
	case ae.Status == 409:
		return temporal.NewNonRetryableApplicationError(msg, ae.Code, nil)
	default:
		return temporal.NewNonRetryableApplicationError(msg, ErrRefused, nil)
	}
}

// classifyApple does the same for Apple Business errors.
func classifyApple(what string, err error) error {
	ae, ok := applebusiness.AsAPIError(err)
	if !ok {
		return fmt.Errorf("apple business: %s: %w", what, err)
	}
	msg := fmt.Sprintf("%s: %s", what, ae.Error())
	switch {
	case ae.Status == 429:
		return temporal.NewApplicationErrorWithOptions(msg, ErrRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: ae.RetryAfter})
	case ae.Temporary():
		return temporal.NewApplicationError(msg, ae.Code)
	default:
		return temporal.NewNonRetryableApplicationError(msg, ErrRefused, nil)
	}
}
