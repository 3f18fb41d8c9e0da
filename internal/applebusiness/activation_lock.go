package applebusiness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Activation Lock, as Apple's API reports it: GET /v1/orgDevices/{id}/activationLockStatus
// (developer.apple.com/documentation/applebusinessapi/get-the-activation-lock-status-information-for-an-orgdevice),
// which answers an ActivationLockStatusResponse:
//
//	{"data": {"type": "activationLockStatus", "id": "C39J8W1H3VG5",
//	          "attributes": {"isLocked": true, "lockType": "MDM"}},
//	 "links": {"self": ".../v1/orgDevices/C39J8W1H3VG5/activationLockStatus"}}
//
// Apple documents it for one device a request; no list endpoint returns it, so reading many
// devices costs one GET each, against the organisation's budget of about 20 GETs a minute.
// Apple notes the request "can also fail with an unexpected server error if the device reports an
// internal-only lock state that isn't valid for a managed device": such a 5xx is returned as any
// other (Temporary), and the caller decides how often to try again.

// Lock types of ActivationLockType (developer.apple.com/documentation/applebusinessapi/activationlocktype).
const (
	LockTypeMDM  = "MDM"  // Activation Locked by its device management service (organisation-linked)
	LockTypeUser = "USER" // Activation Locked to a personal Apple Account (Find My)
	LockTypeNone = "NONE" // not Activation Locked
)

// ActivationLockReader reads a device's Activation Lock status. *Client implements it; it is
// apart from API so that fakes of API keep compiling (callers type-assert, as for BulkReader).
type ActivationLockReader interface {
	ActivationLockStatus(ctx context.Context, serial string) (ActivationLock, error)
}

var _ ActivationLockReader = (*Client)(nil)

// ActivationLock is a device's Activation Lock status.
type ActivationLock struct {
	Serial   string `json:"serial"`
	IsLocked bool   `json:"isLocked"`
	// LockType is LockTypeMDM, LockTypeUser or LockTypeNone (or a type Apple adds later, kept as
	// Apple spells it).
	LockType string `json:"lockType"`
	// ReadAt is when the client read it (Config.Now).
	ReadAt time.Time `json:"readAt"`
}

// Reusable reports whether the organisation (or whoever receives the device) can set it up
// again: Apple reports no lock. A device locked to a personal Apple Account (USER) never is,
// nor one whose organisation lock is still on (MDM), nor a lock of a type Apple adds later.
func (l ActivationLock) Reusable() bool {
	return !l.IsLocked && (l.LockType == LockTypeNone || l.LockType == "")
}

// ActivationLockStatus reads the Activation Lock status of an organisation device (one GET). A
// serial Apple does not know in this organisation is an *APIError with Status 404 (IsNotFound).
func (c *Client) ActivationLockStatus(ctx context.Context, serial string) (ActivationLock, error) {
	if strings.TrimSpace(serial) == "" {
		return ActivationLock{}, errors.New("apple business: read Activation Lock status: no serial")
	}
	op := "read the Activation Lock status of device " + serial
	var answer struct {
		Data *struct {
			Type       string `json:"type"`
			ID         string `json:"id"`
			Attributes struct {
				IsLocked *bool  `json:"isLocked"`
				LockType string `json:"lockType"`
			} `json:"attributes"`
		} `json:"data"`
	}
	path := "/v1/orgDevices/" + url.PathEscape(serial) + "/activationLockStatus"
	if err := c.do(ctx, op, http.MethodGet, path, nil, &answer); err != nil {
		return ActivationLock{}, err
	}
	d := answer.Data
	switch {
	case d == nil:
		return ActivationLock{}, fmt.Errorf("apple business: %s: the answer holds no activationLockStatus; check APPLE_API_URL", op)
	case d.Type != "" && d.Type != "activationLockStatus":
		return ActivationLock{}, fmt.Errorf("apple business: %s: the answer is a %q, not an activationLockStatus", op, d.Type)
	case d.Attributes.IsLocked == nil:
		// Without isLocked the device's state is unknown: never guess "not locked".
		return ActivationLock{}, fmt.Errorf("apple business: %s: the answer has no isLocked attribute", op)
	}
	l := ActivationLock{Serial: serial, IsLocked: *d.Attributes.IsLocked, LockType: d.Attributes.LockType, ReadAt: c.cfg.Now().UTC()}
	if l.LockType == "" {
		l.LockType = LockTypeNone
		if l.IsLocked {
			l.LockType = "UNKNOWN" // locked, type not said: not reusable (Reusable)
		}
	}
	return l, nil
}
