// Package applebusiness is a client of Apple's published Apple Business API (the Apple School and
// Business Manager API): OAuth2 client credentials with an ES256 client assertion, device
// assignment, and organization device activities. It knows nothing of Temporal.
package applebusiness

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Activity types and statuses of /v1/orgDeviceActivities.
const (
	ActivityUnassignDevices = "UNASSIGN_DEVICES"

	ActivityInProgress = "IN_PROGRESS"
	ActivityCompleted  = "COMPLETED"
	ActivityFailed     = "FAILED"
	ActivityStopped    = "STOPPED"
)

// Sub-statuses of an activity (OrgDeviceActivity.Attributes.subStatus in Apple's documentation).
// An activity COMPLETED may still have failed for some devices: only COMPLETED_WITH_SUCCESS says
// every device was processed; the others point at the activity log (Activity.DownloadURL).
const (
	SubStatusSubmitted                     = "SUBMITTED"
	SubStatusPreProcessing                 = "PRE_PROCESSING"
	SubStatusPending                       = "PENDING"
	SubStatusProcessing                    = "PROCESSING"
	SubStatusPostProcessing                = "POST_PROCESSING"
	SubStatusStopping                      = "STOPPING"
	SubStatusCompletedWithSuccess          = "COMPLETED_WITH_SUCCESS"
	SubStatusCompletedWithError            = "COMPLETED_WITH_ERROR"
	SubStatusCompletedWithFailure          = "COMPLETED_WITH_FAILURE" // partial failure
	SubStatusCompletedPostProcessingFailed = "COMPLETED_POST_PROCESSING_FAILED"
)

// MaxActivityDevices is how many devices Offboard names in one activity. Apple's documentation
// of POST /v1/orgDeviceActivities (developer.apple.com, "Assign or Unassign Devices to a Device
// Management Service or Release Devices", and OrgDeviceActivityCreateRequest) gives no maximum;
// 1,000 is Offboard's choice, the size of Apple's largest page of devices.
const MaxActivityDevices = 1000

// Activity is an organization device activity as Apple reports it.
type Activity struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	SubStatus         string     `json:"subStatus"`
	CreatedDateTime   time.Time  `json:"createdDateTime"`
	CompletedDateTime *time.Time `json:"completedDateTime,omitempty"`
	// DownloadURL is Apple's presigned URL of the activity log (CSV, one line per device), present
	// once the activity is COMPLETED.
	DownloadURL string `json:"downloadUrl,omitempty"`
}

// Final reports whether the activity will not change any more.
func (a Activity) Final() bool { return a.Status != "" && a.Status != ActivityInProgress }

// Succeeded reports whether Apple processed every device of the activity.
func (a Activity) Succeeded() bool {
	return a.Status == ActivityCompleted && a.SubStatus == SubStatusCompletedWithSuccess
}

// APIError is one of Apple's JSON errors ({"errors":[{"id","status","code","title","detail"}]}), with
// the HTTP status and, for 429, the Retry-After delay. The client fills Op so the message says what
// was being done to which devices; ID is Apple's id of the error instance, for Apple support.
type APIError struct {
	Status     int
	Code       string
	Title      string
	Detail     string
	RetryAfter time.Duration
	ID         string
	Op         string
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("apple business: ")
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	code := e.Code
	if code == "" {
		code = "error"
	}
	fmt.Fprintf(&b, "%s (HTTP %d)", code, e.Status)
	if text := strings.TrimSpace(e.Title + " " + e.Detail); text != "" {
		b.WriteString(": " + text)
	}
	if e.ID != "" {
		fmt.Fprintf(&b, " [Apple error id %s]", e.ID)
	}
	if hint := e.Hint(); hint != "" {
		b.WriteString("; " + hint)
	}
	return b.String()
}

// Hint says in one sentence what a person or the caller can do about the error.
func (e *APIError) Hint() string {
	switch e.Code {
	case "invalid_client", "invalid_grant", "unauthorized_client":
		// OAuth errors of the token endpoint (RFC 6749 §5.2).
		return "Apple refused the client assertion: check APPLE_CLIENT_ID, APPLE_KEY_ID and APPLE_PRIVATE_KEY_FILE belong to the same API account, the key is not revoked, and this host's clock is right"
	case "invalid_request", "unsupported_grant_type":
		return "the token endpoint refused the request's form: check APPLE_TOKEN_URL is Apple's token endpoint (https://account.apple.com/auth/oauth2/token)"
	case "invalid_scope":
		return "Apple refused the scope: an Apple Business Manager API account needs scope business.api (school.api is Apple School Manager's)"
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		return "Apple refused the credentials: check APPLE_CLIENT_ID, APPLE_KEY_ID and APPLE_PRIVATE_KEY_FILE, and that the API account's key is not revoked in Apple Business Manager"
	case e.Status == http.StatusForbidden:
		return "the API account may not do this: check its permissions in Apple Business Manager (Preferences > API)"
	case e.Status == http.StatusNotFound:
		return "Apple Business Manager does not know this device or activity in this organization: check the serial or the id"
	case e.Status == http.StatusConflict:
		return "the request conflicts with Apple's state, for example an unknown MDM server id (APPLE_SERVER_ID) or serial: fix it, the same request will fail again"
	case e.Status == http.StatusTooManyRequests && e.RetryAfter > 0:
		return fmt.Sprintf("Apple is rate limiting: retry after %s", e.RetryAfter)
	case e.Status == http.StatusTooManyRequests:
		return "Apple is rate limiting: retry later"
	case e.Status >= 500:
		return "a passing fault at Apple: retry with back-off"
	case e.Status >= 400:
		return "Apple refused the request: fix it, the same request will fail again"
	}
	return ""
}

// Temporary reports whether the same request may succeed later (429 and 5xx).
func (e *APIError) Temporary() bool { return e.Status == 429 || e.Status >= 500 }

// IsRateLimited reports whether err is Apple's 429: the organization's budget is spent (about 20
// GET requests a minute and 10 POST requests an hour, by what people who automate the API
// report; Apple publishes no figures).
func IsRateLimited(err error) bool {
	ae, ok := AsAPIError(err)
	return ok && ae.Status == http.StatusTooManyRequests
}

// RetryAfter is how long Apple asked to wait before the next request (the Retry-After header of a
// 429 or 503); ok is false when err carries no such delay. The client never waits it out itself.
func RetryAfter(err error) (time.Duration, bool) {
	ae, ok := AsAPIError(err)
	if !ok || ae.RetryAfter <= 0 {
		return 0, false
	}
	return ae.RetryAfter, true
}

// AsAPIError returns err as an *APIError when it is one.
func AsAPIError(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}

// IsNotFound reports whether err is Apple's 404: the serial (or activity id) is unknown to this
// organization. Apple has also been seen answering 404 for a device with no assigned server.
func IsNotFound(err error) bool {
	ae, ok := AsAPIError(err)
	return ok && ae.Status == http.StatusNotFound
}
