// Package console is the client of the console API (docs/console-api.md): the simulator serves it,
// and so does a customer's adapter in front of CLOMO PANEL. It knows nothing of Temporal.
package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Device status values of the Devices screen.
const (
	StatusManaged   = "managed"    // 管理中
	StatusGreyedOut = "greyed-out" // 取消線 (グレーアウト)
)

// Profile is a configuration profile installed on the device.
type Profile struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"` // "restrictions" or "configuration"
}

// Device is a device record as the console shows it.
type Device struct {
	Serial              string    `json:"serial"`
	Status              string    `json:"status"`
	ADE                 bool      `json:"ade"`
	MDMProfileRemovable bool      `json:"mdmProfileRemovable"`
	Supervised          bool      `json:"supervised"`
	LostMode            bool      `json:"lostMode"`
	WorkSmart           bool      `json:"workSmart"`
	Profiles            []Profile `json:"profiles"`
	VPPLicenses         int       `json:"vppLicenses"`
	Certificates        int       `json:"certificates"`
	LastCheckIn         time.Time `json:"lastCheckIn"`
}

// Command types of the console API.
const (
	CmdRemoveProfile        = "remove-profile"
	CmdEraseDevice          = "erase-device"
	CmdDisableLostMode      = "disable-lost-mode"
	CmdDeleteDevice         = "delete-device"
	CmdPurgeDevice          = "purge-device"
	CmdRemoveCertificates   = "remove-certificates"
	CmdRefreshLicenseCounts = "refresh-license-counts"
	CmdRevokeVPPLicenses    = "revoke-vpp-licenses"
)

// Command status values.
const (
	CommandQueued    = "queued"
	CommandCompleted = "completed"
	CommandFailed    = "failed"
)

// CommandRequest is the body of POST /api/v1/devices/{serial}/commands.
type CommandRequest struct {
	Type                    string   `json:"type"`
	ProfileIDs              []string `json:"profileIds,omitempty"`
	RemoveESIM              bool     `json:"removeESIM,omitempty"`
	ReturnToService         bool     `json:"returnToService,omitempty"`
	RemoveAutoInstalledApps bool     `json:"removeAutoInstalledApps,omitempty"`
	Confirmation            string   `json:"confirmation,omitempty"`
}

// Command is a command as the console stores it.
type Command struct {
	ID             string     `json:"id"`
	Serial         string     `json:"serial"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	IdempotencyKey string     `json:"idempotencyKey"`
	Replayed       bool       `json:"replayed"`
	CreatedAt      time.Time  `json:"createdAt"`
	CompletedAt    *time.Time `json:"completedAt,omitempty"`
	Error          *APIError  `json:"error,omitempty"`
}

// Error codes of the console API.
const (
	CodeBadRequest          = "bad-request"
	CodeUnauthorized        = "unauthorized"
	CodeDeviceNotFound      = "device-not-found"
	CodeCommandNotFound     = "command-not-found"
	CodeNotGreyedOut        = "not-greyed-out"
	CodeNotManaged          = "not-managed"
	CodeCertificatesRemain  = "certificates-remain"
	CodeVPPLicenseRemains   = "vpp-license-remains"
	CodeWorkSmart           = "work-smart"
	CodeIdempotencyConflict = "idempotency-conflict"
	CodeRateLimited         = "rate-limited"
	CodeInternal            = "internal"
	CodeUnavailable         = "unavailable"
)

// APIError is the console's JSON error, with the HTTP status and, for 429, the Retry-After delay.
// The client fills Serial and Op so the message names the device and what was being done; a
// command's own error (Command.Error) carries only Code and Message.
type APIError struct {
	Status     int           `json:"-"`
	Code       string        `json:"code"`
	Message    string        `json:"message"`
	RetryAfter time.Duration `json:"-"`
	Serial     string        `json:"-"` // the device the request was about
	Op         string        `json:"-"` // what the client was doing, e.g. "send purge-device"
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("console: ")
	if e.Serial != "" {
		fmt.Fprintf(&b, "device %s: ", e.Serial)
	}
	if e.Op != "" {
		fmt.Fprintf(&b, "%s: ", e.Op)
	}
	code := e.Code
	if code == "" {
		code = "error"
	}
	b.WriteString(code)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if hint := e.Hint(); hint != "" {
		fmt.Fprintf(&b, "; %s", hint)
	}
	return b.String()
}

// Hint says in one sentence what a person or the caller can do about the error.
func (e *APIError) Hint() string {
	switch e.Code {
	case CodeBadRequest:
		return "the console refused the request as malformed: fix it, the same request will fail again"
	case CodeUnauthorized:
		return "check the console token (CONSOLE_TOKEN_FILE or CONSOLE_TOKEN)"
	case CodeDeviceNotFound:
		return "the console has no record with this serial: check the serial, or the record was already deleted"
	case CodeCommandNotFound:
		return "the console has no such command for this device: check the command id"
	case CodeNotGreyedOut:
		return "the record is still managed (管理中): wait until it shows greyed-out (取消線), or delete it as a managed record (デバイスを削除)"
	case CodeNotManaged:
		return "the record is already greyed-out (取消線): use デバイスの情報を完全に削除 (purge-device) instead"
	case CodeCertificatesRemain:
		return "run remove-certificates (証明書発行済みデバイスを削除), then retry the delete"
	case CodeVPPLicenseRemains:
		return "run refresh-license-counts (アプリケーションライセンス数を更新する) and revoke-vpp-licenses, then retry; if it still fails, ask CLOMO support"
	case CodeWorkSmart:
		return "a Work Smart (ワーク・スマート構成) device cannot be deleted from the console: ask CLOMO support to delete the record"
	case CodeIdempotencyConflict:
		return "this Idempotency-Key was already used for another command or device: use a new key"
	}
	switch {
	case e.Status == http.StatusTooManyRequests && e.RetryAfter > 0:
		return fmt.Sprintf("the console is rate limiting: retry after %s", e.RetryAfter)
	case e.Status == http.StatusTooManyRequests:
		return "the console is rate limiting: retry later"
	case e.Status >= 500:
		return "a passing fault of the console: retry with back-off"
	}
	return ""
}

// Temporary reports whether the same request may succeed later (429 and 5xx).
func (e *APIError) Temporary() bool { return e.Status == 429 || e.Status >= 500 }

// CodeOf returns the console error code of err, or "" when err is not an *APIError.
func CodeOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}
