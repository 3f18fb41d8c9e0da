package evidence

import (
	"encoding/json"
	"time"
)

// extras are the parts of a record that the fleet summary and the certificate read from its JSON
// rather than from Record's fields: the second persons' approvals (the destruction budget) and
// Apple's Activation Lock status are fields added beside this work, and reading them by their
// JSON names (the record's format, which is the contract) keeps this code right before and after
// they are merged.
type extras struct {
	Approvals []struct {
		Step   string    `json:"step"`
		By     string    `json:"by"`
		Time   time.Time `json:"time"`
		HeldAt time.Time `json:"heldAt"`
		Note   string    `json:"note"`
	} `json:"approvals"`
	ActivationLockStatus *struct {
		IsLocked    bool   `json:"isLocked"`
		LockType    string `json:"lockType"`
		Reusable    bool   `json:"reusable"`
		TurnedOffBy string `json:"turnedOffBy"`
	} `json:"activationLockStatus"`
}

func readExtras(raw json.RawMessage) extras {
	var x extras
	_ = json.Unmarshal(raw, &x) // the record parsed already; a part it lacks is simply absent
	return x
}

// Reusability is whether the device can be set up again by the organisation, after Apple's
// Activation Lock status: "reusable", "not reusable" (locked: a USER lock, to a personal Apple
// Account, never is), or "unknown" (Offboard did not read it).
func (x extras) Reusability() string {
	switch s := x.ActivationLockStatus; {
	case s == nil:
		return "unknown"
	case s.Reusable && s.LockType != "USER":
		return "reusable"
	}
	return "not reusable"
}
