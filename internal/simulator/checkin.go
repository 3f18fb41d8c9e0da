package simulator

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// checkIn is the device talking to the console: it runs its queued commands in order, or, if the
// MDM profile is gone from it (wiped, or removed by its user), the console notices and the record
// turns greyed-out. The caller holds s.mu.
func (s *Simulator) checkIn(d *DeviceState, at time.Time) {
	defer s.noteFeed(d.Serial, at)
	d.LastCheckIn = at
	if !d.MDMProfileInstalled {
		s.leftMDM(d, at)
		return
	}
	for _, id := range d.CommandIDs {
		c := s.st.Commands[id]
		if c == nil || c.Status != console.CommandQueued {
			continue
		}
		if !d.MDMProfileInstalled { // an erase earlier in this check-in
			s.fail(d, c, at, console.CodeNotManaged, "the device was erased before it ran this command")
			continue
		}
		s.runQueued(d, c, at)
	}
	d.NextCheckIn = nil
	if d.MDMProfileInstalled && !d.CheckInEvery.IsNever() {
		next := at.Add(d.CheckInEvery.Std())
		d.NextCheckIn = &next
		s.schedule(event{at: next, kind: evCheckIn, serial: d.Serial})
	}
}

// leftMDM greys out the record of a device whose MDM profile is gone; it will not check in again.
func (s *Simulator) leftMDM(d *DeviceState, at time.Time) {
	d.stopCheckIns()
	s.failQueued(d, at, console.CodeNotManaged, "the device left MDM before it ran this command")
	if d.RecordStatus == StatusGreyedOut {
		return
	}
	d.RecordStatus = StatusGreyedOut
	why := "its user removed the MDM profile"
	if d.Wiped {
		why = "it was erased"
	}
	s.appendLedger(LedgerEntry{Time: at, Serial: d.Serial, Source: SourceDevice, Kind: KindCheckIn, Outcome: OutcomeApplied,
		Detail: "the record shows greyed-out (取消線): " + why})
}

// runQueued carries out one queued command on the device and completes it.
func (s *Simulator) runQueued(d *DeviceState, c *storedCommand, at time.Time) {
	var detail string
	switch c.Type {
	case console.CmdRemoveProfile:
		detail = removeProfiles(d, c.Request.ProfileIDs)
	case console.CmdDisableLostMode:
		detail = "lost mode (紛失モード) is off"
		if !d.LostMode {
			detail = "lost mode was already off"
		}
		d.LostMode = false
	case console.CmdEraseDevice:
		profiles := d.Profiles
		d.wipe()
		esim := "eSIM kept"
		if c.Request.RemoveESIM {
			esim = "eSIM removed"
		}
		if c.Request.ReturnToService {
			// Return to Service re-enrolls the device: it is re-kitted, not removed.
			d.MDMProfileInstalled = true
			d.Profiles = profiles
			detail = "erased (" + esim + "); re-enrolled through Return to Service (MDMへの再登録): the record stays managed"
		} else {
			d.RecordStatus = StatusGreyedOut
			d.stopCheckIns()
			detail = "erased (" + esim + "); the record shows greyed-out (取消線)"
		}
	}
	c.Status, c.CompletedAt = console.CommandCompleted, timePtr(at)
	s.appendLedger(LedgerEntry{Time: at, Serial: d.Serial, Source: SourceDevice, Kind: c.Type, CommandID: c.ID,
		IdempotencyKey: c.IdempotencyKey, Outcome: OutcomeApplied, Detail: detail})
}

// removeProfiles removes the listed profiles (all of them when ids is empty) and says which.
func removeProfiles(d *DeviceState, ids []string) string {
	var removed []string
	keep := []console.Profile{}
	for _, p := range d.Profiles {
		if len(ids) == 0 || slices.Contains(ids, p.ID) {
			removed = append(removed, p.ID)
			continue
		}
		keep = append(keep, p)
	}
	d.Profiles = keep
	detail := "removed profiles: none"
	if len(removed) > 0 {
		detail = "removed profiles: " + strings.Join(removed, ", ")
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(removed, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		detail += fmt.Sprintf("; not installed: %s", strings.Join(missing, ", "))
	}
	return detail
}

// failQueued fails every queued command of the device.
func (s *Simulator) failQueued(d *DeviceState, at time.Time, code, msg string) {
	for _, id := range d.CommandIDs {
		if c := s.st.Commands[id]; c != nil && c.Status == console.CommandQueued {
			s.fail(d, c, at, code, msg)
		}
	}
}

func (s *Simulator) fail(d *DeviceState, c *storedCommand, at time.Time, code, msg string) {
	c.Status, c.CompletedAt = console.CommandFailed, timePtr(at)
	c.Error = &console.APIError{Code: code, Message: msg}
	s.appendLedger(LedgerEntry{Time: at, Serial: d.Serial, Source: SourceDevice, Kind: c.Type, CommandID: c.ID,
		IdempotencyKey: c.IdempotencyKey, Outcome: OutcomeFailed, Code: code, Detail: msg})
}
