package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/console"
)

func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("%v is not an application error", err)
	}
	return ae
}

func TestConsoleErrorsAreClassified(t *testing.T) {
	cases := []struct {
		in           *console.APIError
		typ          string
		nonRetryable bool
		delay        time.Duration
	}{
		{&console.APIError{Status: 429, Code: console.CodeRateLimited, RetryAfter: 9 * time.Second}, console.CodeRateLimited, false, 9 * time.Second},
		{&console.APIError{Status: 503, Code: console.CodeUnavailable}, console.CodeUnavailable, false, 0},
		{&console.APIError{Status: 409, Code: console.CodeVPPLicenseRemains}, console.CodeVPPLicenseRemains, true, 0},
		{&console.APIError{Status: 409, Code: console.CodeWorkSmart}, console.CodeWorkSmart, true, 0},
		{&console.APIError{Status: 404, Code: console.CodeDeviceNotFound}, ErrRecordGone, true, 0},
		{&console.APIError{Status: 401, Code: console.CodeUnauthorized}, ErrRefused, true, 0},
		{&console.APIError{Status: 400, Code: console.CodeBadRequest}, ErrRefused, true, 0},
	}
	for _, tc := range cases {
		ae := appErr(t, classifyConsole("ABC123456", "op", tc.in))
		if ae.Type() != tc.typ || ae.NonRetryable() != tc.nonRetryable || ae.NextRetryDelay() != tc.delay {
			t.Errorf("%d %s → type %s nonRetryable %t delay %s; want %s %t %s", tc.in.Status, tc.in.Code,
				ae.Type(), ae.NonRetryable(), ae.NextRetryDelay(), tc.typ, tc.nonRetryable, tc.delay)
		}
	}
	// A transport error stays retryable (a plain error).
	if err := classifyConsole("ABC123456", "op", errors.New("connection refused")); errors.As(err, new(*temporal.ApplicationError)) {
		t.Errorf("a transport error must stay a plain, retryable error: %v", err)
	}
}

func TestAppleErrorsAreClassified(t *testing.T) {
	ae := appErr(t, classifyApple("x", &applebusiness.APIError{Status: 429, Code: "RATE_LIMIT_EXCEEDED", RetryAfter: 3 * time.Second}))
	if ae.NonRetryable() || ae.NextRetryDelay() != 3*time.Second {
		t.Errorf("429: %v %s", ae.NonRetryable(), ae.NextRetryDelay())
	}
	if ae := appErr(t, classifyApple("x", &applebusiness.APIError{Status: 403, Code: "FORBIDDEN"})); !ae.NonRetryable() {
		t.Error("403 must not be retried")
	}
}

type lostModeConsole struct {
	sent []console.CommandRequest
}

func (l *lostModeConsole) Device(context.Context, string) (console.Device, error) {
	return console.Device{Serial: "ABC123456", Status: console.StatusManaged, LostMode: true}, nil
}
func (l *lostModeConsole) SendCommand(_ context.Context, _, _ string, req console.CommandRequest) (console.Command, error) {
	l.sent = append(l.sent, req)
	return console.Command{ID: "c-1", Type: req.Type, Status: console.CommandCompleted}, nil
}
func (l *lostModeConsole) Command(context.Context, string, string) (console.Command, error) {
	return console.Command{}, nil
}

// The delete re-reads lost mode and refuses while it is on, unless the path wiped the device.
func TestDeleteRefusesInLostMode(t *testing.T) {
	api := &lostModeConsole{}
	c := &Console{API: api}
	_, err := c.DeleteRecord(context.Background(), DeleteInput{Serial: "ABC123456", IdempotencyKey: "k"})
	if !IsType(err, ErrLostModeOn) || len(api.sent) != 0 {
		t.Fatalf("got %v with %d commands sent; want LostModeOn and nothing sent", err, len(api.sent))
	}
	cmd, err := c.DeleteRecord(context.Background(), DeleteInput{Serial: "ABC123456", IdempotencyKey: "k", GreyedOut: true, WipedFirst: true})
	if err != nil || len(api.sent) != 1 || api.sent[0].Type != console.CmdPurgeDevice || api.sent[0].Confirmation != "YES" || cmd.ID != "c-1" {
		t.Fatalf("after a wipe the purge must go out with YES: %v %+v", err, api.sent)
	}
}

func TestUnconfiguredSystemsSayWhatToSet(t *testing.T) {
	if _, err := (&Console{}).ReadDevice(context.Background(), "ABC123456"); !IsType(err, ErrNotConfigured) {
		t.Errorf("console: %v", err)
	}
	if _, err := (&Apple{}).AssignedServer(context.Background(), "ABC123456"); !IsType(err, ErrNotConfigured) {
		t.Errorf("apple: %v", err)
	}
}
