// Package evidence is the retirement record of a device (docs/evidence.md): what Offboard did to
// it, who reported what, and how it ended, as canonical JSON, signed with an Ed25519 key and kept
// write-once in a hash-chained archive outside Temporal, so a removed, edited or swapped record is
// detected by Verify. It knows nothing of Temporal.
package evidence

import (
	"bytes"
	"encoding/json"
	"time"
)

// Format names the version of the record's layout; a change of Record's fields changes it.
const Format = "offboard-retirement-record/1"

// EraseReference is Apple's page that says what an erase means: "erasing (or wiping) obliterates
// all the keys in effaceable storage and renders all user data cryptographically inaccessible",
// and an MDM solution "can use the existing EraseDevice command to erase all content and settings".
const EraseReference = "https://support.apple.com/guide/deployment/dep0a819891e/web"

// EraseDeviceReference is Apple's page of the MDM EraseDevice command (2-2): the server erases
// the device "immediately", and the device answers with an acknowledgement.
const EraseDeviceReference = "https://developer.apple.com/documentation/devicemanagement/erase_a_device"

// NoEraseMeaning is what the record says when the run erased nothing.
const NoEraseMeaning = "not erased: this run did not wipe the device, so its user data stays on it (the keep paths, §3)"

// EraseMeaning is what the record says an erase (2-1 or 2-2) means, after EraseReference.
const EraseMeaning = "cryptographic erase: Erase All Content and Settings (2-1, by the user in Settings) and the MDM " +
	"EraseDevice command (2-2, from the console) destroy the keys in effaceable storage, which renders all user " +
	"data cryptographically inaccessible (Apple Platform Deployment, \"Erase Apple devices\")"

// Record is one device's retirement record: one workflow run of DeviceOffboarding, however it
// ended. Its canonical form is Go's encoding/json of this struct (Canonical): the fields in this
// order, no insignificant whitespace, no HTML escaping. Slices keep the workflow's order.
type Record struct {
	Format      string `json:"format"`
	Serial      string `json:"serial"`
	WorkflowID  string `json:"workflowId"`
	RunID       string `json:"runId"`
	FleetID     string `json:"fleetId,omitempty"`
	RequestedBy string `json:"requestedBy,omitempty"`
	ConsoleMode string `json:"consoleMode,omitempty"`
	// Path is the vendor procedure's path; Plan the step IDs as the run ended (inserted steps included).
	Path      string    `json:"path"`
	Plan      []string  `json:"plan"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt"`
	// Outcome is removed, rejected or cancelled; Error says why when it is not removed.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	Steps   []Step `json:"steps"`
	// GreyedOutAt is when the console was seen showing the device greyed-out (取消線): the end of
	// await-greyed-out, or pre-flight when it already was. RecordGoneAt is when the device's
	// record was gone from the console: the end of the delete step.
	GreyedOutAt  *time.Time `json:"greyedOutAt,omitempty"`
	RecordGoneAt *time.Time `json:"recordGoneAt,omitempty"`
	Wipe         *Wipe      `json:"wipe,omitempty"`
	Apple        *Apple     `json:"apple,omitempty"`
	// Reports are every person's report (the complete-step update), in the order received.
	Reports []Report `json:"reports"`
	// Approvals are the second persons who released a destructive step the destruction budget held
	// (absent from the records of runs that needed none).
	Approvals []Approval `json:"approvals,omitempty"`
	Warnings  []string   `json:"warnings"`
	// ActivationLock is the device's Activation Lock status as Offboard knew it.
	ActivationLock string `json:"activationLock"`
	// ActivationLockStatus is what Apple reported of it, when Offboard read it (activation_lock.go).
	ActivationLockStatus *ActivationLock `json:"activationLockStatus,omitempty"`
	// Software is the worker that wrote the record.
	Software Software `json:"software"`
}

// Step is one step of the plan as it ended.
type Step struct {
	ID        string     `json:"id"`
	Section   string     `json:"section,omitempty"`
	Title     string     `json:"title,omitempty"`
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	StartedAt *time.Time `json:"startedAt,omitempty"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	Note      string     `json:"note,omitempty"`
	// CommandIDs are the console's IDs of the commands (and deletes) this step sent.
	CommandIDs []string `json:"commandIds,omitempty"`
	// IdempotencyKeys are the keys the step's console calls carried (offboard-<serial>/<step>/<round>).
	IdempotencyKeys []string `json:"idempotencyKeys,omitempty"`
}

// Wipe is how the device was erased, and what that means.
type Wipe struct {
	// Method: "user-settings" (2-1, Erase All Content and Settings by the user), "console-erase"
	// (2-2, EraseDevice from the console), "none" (a path without a wipe, or a wipe not done).
	Method          string `json:"method"`
	Step            string `json:"step,omitempty"`
	State           string `json:"state,omitempty"`
	RemoveESIM      bool   `json:"removeESIM"`
	ReturnToService bool   `json:"returnToService"`
	Meaning         string `json:"meaning,omitempty"`
	Reference       string `json:"reference,omitempty"`
	// ErasedAt is when the erase was evidenced: for 2-2 the end of console-wipe (the device
	// acknowledged EraseDevice), for 2-1 the device seen greyed-out after its user erased it.
	ErasedAt *time.Time `json:"erasedAt,omitempty"`
	// Confirmation is the typed confirmation the console wipe carried ("YES", as CLOMO PANEL asks).
	Confirmation string `json:"confirmation,omitempty"`
}

// Apple is the Apple Business Manager side: the unassign activity and this serial's line of its log.
type Apple struct {
	ActivityID     string `json:"activityId"`
	ActivityStatus string `json:"activityStatus,omitempty"`
	SubStatus      string `json:"subStatus,omitempty"`
	// LogLine is the serial's line of the activity's log, fetched when the record was written
	// (Apple keeps the log for a limited time). LogNote says why there is none.
	LogLine *LogLine `json:"logLine,omitempty"`
	LogNote string   `json:"logNote,omitempty"`
}

// LogLine is one line of an Apple activity log.
type LogLine struct {
	Serial string `json:"serialNumber"`
	Status string `json:"status"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Report is what a person reported, and when.
type Report struct {
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`
	By      string    `json:"by"`
	Outcome string    `json:"outcome"`
	Note    string    `json:"note,omitempty"`
}

// Approval is a second person's approval of a destructive step past the destruction budget.
type Approval struct {
	Step string `json:"step"`
	// Key is the idempotency key of the command approved; HeldAt when the budget held it.
	Key    string    `json:"key"`
	HeldAt time.Time `json:"heldAt"`
	By     string    `json:"by"`
	Time   time.Time `json:"time"`
	Note   string    `json:"note,omitempty"`
}

// Software names the build that wrote the record.
type Software struct {
	Module    string `json:"module,omitempty"`
	Version   string `json:"version,omitempty"`
	Revision  string `json:"revision,omitempty"`
	GoVersion string `json:"goVersion,omitempty"`
}

// Canonical is the record's canonical bytes: encoding/json of the struct, compact, without HTML
// escaping and without a trailing newline. Encoding a decoded record again gives the same bytes.
func Canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// workflowPart is the record without what the writing activity adds (the software, Apple's log
// line): two attempts of the activity (its retries, perhaps on workers of different versions)
// write the same workflow part, and the archive compares only that to tell a retry from a
// different record.
func (r Record) workflowPart() Record {
	r.Software = Software{}
	if r.Apple != nil {
		a := *r.Apple
		a.LogLine, a.LogNote, a.ActivityStatus, a.SubStatus = nil, "", "", ""
		r.Apple = &a
	}
	return r
}
