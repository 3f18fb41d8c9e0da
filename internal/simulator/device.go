package simulator

import (
	"slices"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// Statuses of a device in the simulator. The console shows only the first two: a record being
// deleted keeps answering with its RecordStatus until it is gone.
const (
	StatusManaged   = console.StatusManaged   // 管理中
	StatusGreyedOut = console.StatusGreyedOut // 取消線
	StatusDeleting  = "deleting"
	StatusDeleted   = "deleted"
)

// Steps of the device's user, as the notifications name them (contract.md's step IDs).
const (
	StepUserWipe             = "user-wipe"
	StepUserRemoveMDMProfile = "user-remove-mdm-profile"
)

// DeviceState is everything the simulator knows of one device: the console record, the device
// itself, its user and its assignment in Apple Business Manager. It is also what the state file
// stores.
type DeviceState struct {
	Serial     string `json:"serial"`
	Enrollment string `json:"enrollment,omitempty"`
	// Status is managed, greyed-out, deleting or deleted (filled in copies handed out).
	Status string `json:"status,omitempty"`
	// RecordStatus is what the console shows while the record exists: managed or greyed-out.
	RecordStatus string `json:"recordStatus"`
	// Removal is "", "deleting" or "deleted".
	Removal string `json:"removal,omitempty"`

	ADE                 bool `json:"ade"`
	MDMProfileRemovable bool `json:"mdmProfileRemovable"`
	Supervised          bool `json:"supervised"`
	LostMode            bool `json:"lostMode"`
	// LostModeStuck: the record was deleted while lost mode was on, so lost mode can never be
	// turned off; only a wipe frees the device.
	LostModeStuck bool `json:"lostModeStuck,omitempty"`
	WorkSmart     bool `json:"workSmart"`

	Profiles           []console.Profile `json:"profiles"`
	VPPLicenses        int               `json:"vppLicenses"`
	VPPStuck           bool              `json:"vppStuck,omitempty"`
	LicenseCountsFresh bool              `json:"licenseCountsFresh,omitempty"`
	Certificates       int               `json:"certificates"`

	// The device itself.
	MDMProfileInstalled bool `json:"mdmProfileInstalled"`
	Wiped               bool `json:"wiped,omitempty"`

	// Apple Business Manager.
	InAppleBusiness bool   `json:"inAppleBusiness"`
	AssignedServer  string `json:"assignedServer,omitempty"` // "": unassigned
	// PreRegistered: the record was deleted while Apple still had the device assigned, so it came
	// back in the console as pre-registered (事前予約).
	PreRegistered bool `json:"preRegistered,omitempty"`
	// ActivationLock is "" (none), USER or MDM: what GET /v1/orgDevices/{id}/activationLockStatus
	// answers. A wipe does not change it; turning it off in Apple Business Manager does
	// (POST /sim/devices/{serial}/activation-lock/turn-off).
	ActivationLock string `json:"activationLock,omitempty"`

	CheckInEvery Duration   `json:"checkInEvery"`
	LastCheckIn  time.Time  `json:"lastCheckIn"`
	NextCheckIn  *time.Time `json:"nextCheckIn,omitempty"` // nil: no check-in coming

	DeleteAt   *time.Time `json:"deleteAt,omitempty"`   // when a deleting record is gone
	DeletedAt  *time.Time `json:"deletedAt,omitempty"`  // when it was gone
	ReappearAt *time.Time `json:"reappearAt,omitempty"` // when a still-assigned device comes back

	User UserState `json:"user"`

	// CommandIDs lists the device's console commands, oldest first.
	CommandIDs []string `json:"commandIds,omitempty"`
	// Commands is filled in copies handed out (GET /sim/devices/{serial}), not stored.
	Commands []console.Command `json:"commands,omitempty"`

	CreatedAt time.Time `json:"createdAt"`
}

// UserState is the device's user: how long they take to act on a message, and what they were told
// and have not done yet.
type UserState struct {
	ActsAfter Duration   `json:"actsAfter"` // "never": ignores every message
	Tasks     []UserTask `json:"tasks,omitempty"`
}

// UserTask is a message the user received and will act on at ActAt.
type UserTask struct {
	Step   string    `json:"step"`
	ToldAt time.Time `json:"toldAt"`
	ActAt  time.Time `json:"actAt"`
}

func (d *DeviceState) status() string {
	if d.Removal != "" {
		return d.Removal
	}
	return d.RecordStatus
}

// recordExists reports whether the console still answers for the record.
func (d *DeviceState) recordExists() bool { return d.Removal != StatusDeleted }

// blocksErase reports whether the device refuses すべてのコンテンツと設定を消去: a restrictions
// profile disallows it, and such restrictions bind supervised devices only.
func (d *DeviceState) blocksErase() bool {
	if !d.Supervised || !d.MDMProfileInstalled {
		return false
	}
	return slices.ContainsFunc(d.Profiles, func(p console.Profile) bool { return p.Kind == ProfileRestrictions })
}

// record is the device as the console's Devices screen shows it.
func (d *DeviceState) record() console.Device {
	profiles := slices.Clone(d.Profiles)
	if profiles == nil {
		profiles = []console.Profile{}
	}
	return console.Device{
		Serial:              d.Serial,
		Status:              d.RecordStatus,
		ADE:                 d.ADE,
		MDMProfileRemovable: d.MDMProfileRemovable,
		Supervised:          d.Supervised,
		LostMode:            d.LostMode,
		WorkSmart:           d.WorkSmart,
		Profiles:            profiles,
		VPPLicenses:         d.VPPLicenses,
		Certificates:        d.Certificates,
		LastCheckIn:         d.LastCheckIn,
	}
}

// clone returns a deep copy, safe to hand out of the lock.
func (d *DeviceState) clone() DeviceState {
	c := *d
	c.Status = d.status()
	c.Profiles = slices.Clone(d.Profiles)
	if c.Profiles == nil {
		c.Profiles = []console.Profile{}
	}
	c.User.Tasks = nil
	if len(d.User.Tasks) > 0 {
		c.User.Tasks = slices.Clone(d.User.Tasks)
	}
	c.CommandIDs = slices.Clone(d.CommandIDs)
	c.Commands = nil
	for _, p := range []**time.Time{&c.NextCheckIn, &c.DeleteAt, &c.DeletedAt, &c.ReappearAt} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	return c
}

// wipe erases the device: its MDM profile, every profile and lost mode are gone with its content.
func (d *DeviceState) wipe() {
	d.Wiped = true
	d.MDMProfileInstalled = false
	d.LostMode = false
	d.LostModeStuck = false
	d.Profiles = []console.Profile{}
	d.User.Tasks = nil
}

// stopCheckIns means the device will not check in with this console any more.
func (d *DeviceState) stopCheckIns() { d.NextCheckIn = nil }

func (d *DeviceState) userTask(step string) (int, bool) {
	i := slices.IndexFunc(d.User.Tasks, func(t UserTask) bool { return t.Step == step })
	return i, i >= 0
}

func timePtr(t time.Time) *time.Time { return &t }
