package evidence

import "time"

// ActivationLock is the device's Activation Lock as Apple reported it
// (GET /v1/orgDevices/{id}/activationLockStatus), and whether the device can be set up again.
type ActivationLock struct {
	IsLocked bool `json:"isLocked"`
	// LockType is Apple's: MDM (organisation-linked), USER (a personal Apple Account), NONE.
	LockType string     `json:"lockType"`
	ReadAt   *time.Time `json:"readAt,omitempty"`
	// Reusable: Apple reported no lock at ReadAt. A device locked to a personal Apple Account
	// (USER) is never reusable.
	Reusable bool `json:"reusable"`
	// TurnedOffBy names who reported turning it off in Apple Business Manager, when someone did
	// (Apple then reported it off before the record was written).
	TurnedOffBy string `json:"turnedOffBy,omitempty"`
	// Reference is Apple's page of the organisation's steps to turn it off.
	Reference string `json:"reference,omitempty"`
}
