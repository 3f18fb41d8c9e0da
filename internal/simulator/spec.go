package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// Enrollments of procedure.md's matrix.
const (
	EnrollmentADERestricted = "ade-restricted" // ADE, the ADE profile forbids removing the MDM profile
	EnrollmentADE           = "ade"            // ADE, removal allowed
	EnrollmentManual        = "manual"         // not ADE
)

// Profile kinds. A restrictions profile on a supervised device blocks すべてのコンテンツと設定を消去.
const (
	ProfileRestrictions  = "restrictions"
	ProfileConfiguration = "configuration"
)

// Defaults of a DeviceSpec, in simulated time.
const (
	DefaultCheckInEvery  = 4 * time.Hour
	DefaultUserActsAfter = 2 * time.Hour
	DefaultVPPLicenses   = 2
)

// DefaultProfiles are installed on a device unless its spec says otherwise.
func DefaultProfiles() []console.Profile {
	return []console.Profile{
		{ID: "restrictions", Name: "制限設定プロファイル", Kind: ProfileRestrictions},
		{ID: "wifi-corp", Name: "Wi-Fi", Kind: ProfileConfiguration},
	}
}

// DeviceSpec describes a device to add. Start from DeviceSpecFor and change what the test needs;
// in JSON (POST /sim/devices) every field left out keeps DeviceSpecFor's value for the spec's
// serial and enrollment.
type DeviceSpec struct {
	Serial     string `json:"serial"`
	Enrollment string `json:"enrollment"` // ade-restricted, ade or manual
	Status     string `json:"status"`     // managed (default) or greyed-out

	ADE                 bool `json:"ade"`
	MDMProfileRemovable bool `json:"mdmProfileRemovable"`
	Supervised          bool `json:"supervised"`
	LostMode            bool `json:"lostMode"`
	WorkSmart           bool `json:"workSmart"`

	Profiles     []console.Profile `json:"profiles"`
	VPPLicenses  int               `json:"vppLicenses"`
	VPPStuck     bool              `json:"vppStuck"` // Apple never releases its licenses: vendor support
	Certificates int               `json:"certificates"`

	// Assigned: Apple Business Manager has the device assigned to AssignedServer (empty: the
	// configured server). Apple knows a device that is ADE or assigned.
	Assigned       bool   `json:"assigned"`
	AssignedServer string `json:"assignedServer"`
	// ActivationLock is the device's Activation Lock as Apple reports it (apple_activation_lock.go):
	// "" or NONE (the default), USER (its user left a personal Apple Account signed in with Find
	// My), MDM (the MDM turned organisation-linked Activation Lock on).
	ActivationLock string `json:"activationLock"`

	// CheckInEvery is the check-in interval (0: DefaultCheckInEvery; Never: the device never
	// checks in again). UserActsAfter is how long the device's user takes to act on a message
	// (0: DefaultUserActsAfter; Never: the user never acts).
	CheckInEvery  Duration `json:"checkInEvery"`
	UserActsAfter Duration `json:"userActsAfter"`
}

// DeviceSpecFor returns the spec of a managed, supervised device with a restrictions and a
// configuration profile, 2 VPP licenses and no certificates, enrolled as enrollment:
// "ade-restricted" (ADE, MDM profile not removable, assigned), "ade" (ADE, removable, assigned) or
// "manual" (not ADE, removable, unknown to Apple).
func DeviceSpecFor(serial, enrollment string) DeviceSpec {
	spec := DeviceSpec{
		Serial:              serial,
		Enrollment:          enrollment,
		Status:              console.StatusManaged,
		MDMProfileRemovable: true,
		Supervised:          true,
		Profiles:            DefaultProfiles(),
		VPPLicenses:         DefaultVPPLicenses,
		CheckInEvery:        Duration(DefaultCheckInEvery),
		UserActsAfter:       Duration(DefaultUserActsAfter),
	}
	switch enrollment {
	case EnrollmentADERestricted:
		spec.ADE, spec.MDMProfileRemovable, spec.Assigned = true, false, true
	case EnrollmentADE:
		spec.ADE, spec.Assigned = true, true
	}
	return spec
}

var serialPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,63}$`)

// normalizeSerial upper-cases a serial: serials are compared without regard to case everywhere.
func normalizeSerial(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func (spec DeviceSpec) validate() error {
	if !serialPattern.MatchString(spec.Serial) {
		return fmt.Errorf("serial %q: want 1 to 64 letters, digits or dashes", spec.Serial)
	}
	switch spec.Enrollment {
	case "", EnrollmentADERestricted, EnrollmentADE, EnrollmentManual:
	default:
		return fmt.Errorf("device %s: enrollment %q: want ade-restricted, ade or manual", spec.Serial, spec.Enrollment)
	}
	switch spec.Status {
	case "", console.StatusManaged, console.StatusGreyedOut:
	default:
		return fmt.Errorf("device %s: status %q: a new device is managed or greyed-out", spec.Serial, spec.Status)
	}
	if err := validActivationLock(spec.Serial, spec.ActivationLock); err != nil {
		return err
	}
	if spec.VPPLicenses < 0 || spec.Certificates < 0 {
		return fmt.Errorf("device %s: vppLicenses and certificates cannot be negative", spec.Serial)
	}
	seen := map[string]bool{}
	for _, p := range spec.Profiles {
		if p.ID == "" || seen[p.ID] {
			return fmt.Errorf("device %s: profile ids must be present and unique (got %q)", spec.Serial, p.ID)
		}
		seen[p.ID] = true
		if p.Kind != ProfileRestrictions && p.Kind != ProfileConfiguration {
			return fmt.Errorf("device %s: profile %s: kind %q: want restrictions or configuration", spec.Serial, p.ID, p.Kind)
		}
	}
	return nil
}

// newDevice builds the state of a device from its spec, enrolled at now.
func newDevice(spec DeviceSpec, cfg Config, now time.Time) *DeviceState {
	status := spec.Status
	if status == "" {
		status = console.StatusManaged
	}
	d := &DeviceState{
		Serial:              spec.Serial,
		Enrollment:          spec.Enrollment,
		RecordStatus:        status,
		ADE:                 spec.ADE,
		MDMProfileRemovable: spec.MDMProfileRemovable,
		Supervised:          spec.Supervised,
		LostMode:            spec.LostMode,
		WorkSmart:           spec.WorkSmart,
		Profiles:            slices.Clone(spec.Profiles),
		VPPLicenses:         spec.VPPLicenses,
		VPPStuck:            spec.VPPStuck,
		Certificates:        spec.Certificates,
		MDMProfileInstalled: status == console.StatusManaged,
		InAppleBusiness:     spec.ADE || spec.Assigned,
		CheckInEvery:        orDefault(spec.CheckInEvery, DefaultCheckInEvery),
		LastCheckIn:         now,
		User:                UserState{ActsAfter: orDefault(spec.UserActsAfter, DefaultUserActsAfter)},
		CreatedAt:           now,
		ActivationLock:      activationLockOf(spec.ActivationLock),
	}
	if spec.Assigned {
		d.AssignedServer = spec.AssignedServer
		if d.AssignedServer == "" {
			d.AssignedServer = cfg.AppleServerID
		}
	}
	if d.Profiles == nil {
		d.Profiles = []console.Profile{}
	}
	if status == console.StatusManaged && !d.CheckInEvery.IsNever() {
		next := now.Add(d.CheckInEvery.Std())
		d.NextCheckIn = &next
	}
	return d
}

func orDefault(d Duration, def time.Duration) Duration {
	if d == 0 {
		return Duration(def)
	}
	return d
}

// DecodeDeviceSpecs reads one spec or a list of specs: the body of POST /sim/devices, or a seed
// file. Each spec starts from DeviceSpecFor its serial and enrollment (default manual), so a field
// left out keeps its default; an unknown field is an error, so a typo does not become a default.
func DecodeDeviceSpecs(body []byte) ([]DeviceSpec, error) {
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("device specs: %w", err)
		}
	} else {
		raws = []json.RawMessage{body}
	}
	specs := make([]DeviceSpec, 0, len(raws))
	for i, raw := range raws {
		var head struct {
			Serial     string `json:"serial"`
			Enrollment string `json:"enrollment"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("device spec %d: %w", i, err)
		}
		if head.Enrollment == "" {
			head.Enrollment = EnrollmentManual
		}
		spec := DeviceSpecFor(head.Serial, head.Enrollment)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return nil, fmt.Errorf("device spec %d (%s): %w", i, head.Serial, err)
		}
		specs = append(specs, spec)
	}
	return specs, nil
}
