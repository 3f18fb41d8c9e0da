package procedure

import (
	"errors"
	"slices"
)

// Cautions of the vendor page that add a step to a path: what must happen before a step can work.
// Plan applies them to the path of the matrix; the workflow asks LostModeAtDelete when the console
// finds lost mode on later.

// Names of the cautions.
const (
	// CautionLostMode: lost mode (紛失モード) is on. Its user cannot reach Settings, and a delete
	// while it is on makes it impossible to turn off (§4, "Facts around the page").
	CautionLostMode = "lost-mode"
	// CautionRestrictionsProfile: the restrictions profile (制限設定プロファイル) may disallow the
	// user's erase, so it is removed first (2-1).
	CautionRestrictionsProfile = "restrictions-profile"
)

// Caution says that step Insert runs right before step Before, and why.
type Caution struct {
	Name   string // CautionLostMode, CautionRestrictionsProfile
	Insert StepID
	Before StepID
	Why    string // one line for people
}

const (
	whyLostModeUser = "lost mode (紛失モード) is on: the device's user cannot reach Settings until it is off, " +
		"and the console cannot turn it off once the MDM profile is gone"
	whyLostModeDelete = "lost mode (紛失モード) is on: deleting the record while it is on makes it impossible to turn off, " +
		"and the device would then need a wipe"
	whyLostModeUnknown = "the console was not read (operator mode): lost mode (紛失モード) may be on, which locks Settings " +
		"and must not be on at a delete: check it in CLOMO PANEL and turn it off if it is on"
	whyRestrictions = "the restrictions profile (制限設定プロファイル) may disallow \"すべてのコンテンツと設定を消去\" " +
		"(Erase All Content and Settings): it must be gone before the user can erase the device"
)

// errLostModeUserWipe refuses 2-1 on a device in lost mode; Plan prefixes the device.
var errLostModeUserWipe = errors.New("the device is in lost mode (紛失モード), so its user cannot reach Settings to erase it (2-1): " +
	"use --wipe-method console (2-2), which erases it from CLOMO PANEL")

// Cautions lists the steps the cautions insert into the request's path, in the order Plan applies
// them, or an error when a caution forbids the path:
//   - 2-1 (wipe, method device): remove-restrictions-profile before user-wipe.
//   - lost mode on a keep path: disable-lost-mode before the first step that needs the user or
//     the delete (keep/ade, keep/manual: before user-remove-mdm-profile; keep/ade-restricted:
//     before delete-managed-record).
//   - lost mode with 2-1: refused, its user cannot reach Settings (use the console wipe).
//   - lost mode with 2-2: nothing, the erase clears lost mode.
//   - lost mode unknown (operator mode): disable-lost-mode, as a check, where lost mode would go,
//     on every path but 2-2; 2-1 included, since the user can erase once lost mode is off.
func Cautions(r Request) ([]Caution, error) {
	if _, err := ParseEnrollment(string(r.Enrollment)); err != nil {
		return nil, err
	}
	method, err := ParseWipeMethod(string(r.WipeMethod))
	if err != nil {
		return nil, err
	}
	base := matrixPath(r.Wipe, method, r.Enrollment)
	var out []Caution
	if slices.Contains(base, UserWipe) {
		out = append(out, Caution{Name: CautionRestrictionsProfile, Insert: RemoveRestrictionsProfile, Before: UserWipe, Why: whyRestrictions})
	}
	if r.LostModeUnknown && !r.LostMode && !(r.Wipe && method == WipeConsole) {
		// Nobody read the console: the operator checks lost mode where it would stop the path,
		// and turns it off if it is on (a device in lost mode may still take 2-1 once it is off).
		for _, id := range base {
			if needsLostModeOff(id) {
				out = append(out, Caution{Name: CautionLostMode, Insert: DisableLostMode, Before: id, Why: whyLostModeUnknown})
				break
			}
		}
	}
	if r.LostMode {
		switch {
		case r.Wipe && method == WipeDevice:
			return nil, errLostModeUserWipe
		case r.Wipe:
			// The console wipe erases the device, which clears lost mode: nothing to insert.
		default:
			for _, id := range base {
				if needsLostModeOff(id) {
					why := whyLostModeUser
					if isDelete(id) {
						why = whyLostModeDelete
					}
					out = append(out, Caution{Name: CautionLostMode, Insert: DisableLostMode, Before: id, Why: why})
					break
				}
			}
		}
	}
	return out, nil
}

// LostModeAtDelete says where disable-lost-mode goes when the console refuses a delete because
// lost mode is on: right before that delete. ok is false when delete is not a delete step, or
// when the device was wiped first (the erase cleared lost mode, so there is nothing to turn off).
func LostModeAtDelete(delete StepID, wiped bool) (Caution, bool) {
	if !isDelete(delete) || wiped {
		return Caution{}, false
	}
	return Caution{Name: CautionLostMode, Insert: DisableLostMode, Before: delete, Why: whyLostModeDelete}, true
}

// With returns a copy of the plan with step id inserted right before step before (at the end when
// before is not in the plan); the plan is returned unchanged when it has id already. The workflow
// keeps the plan as it stands with it, for Escalations.
func (r Result) With(id, before StepID) Result {
	if r.Has(id) {
		return r
	}
	r.Steps = insertBefore(slices.Clone(r.Steps), id, before)
	return r
}

func insertBefore(steps []StepID, id, before StepID) []StepID {
	at := slices.Index(steps, before)
	if at < 0 {
		at = len(steps)
	}
	return slices.Insert(steps, at, id)
}

func isDelete(id StepID) bool { return id == DeleteManagedRecord || id == DeleteGreyedOutRecord }

// needsLostModeOff: the steps that cannot happen while lost mode is on, a user's step or a delete.
func needsLostModeOff(id StepID) bool {
	return id == UserWipe || id == UserRemoveMDMProfile || isDelete(id)
}

// matrixPath is the path of the matrix (procedure.md) before any caution, preflight and §5 aside.
func matrixPath(wipe bool, method WipeMethod, e Enrollment) []StepID {
	switch {
	case wipe && method == WipeDevice:
		return []StepID{UserWipe, AwaitGreyedOut, DeleteGreyedOutRecord}
	case wipe:
		return []StepID{ConsoleWipe, AwaitGreyedOut, DeleteGreyedOutRecord}
	case e == ADERestricted:
		// The MDM profile cannot be removed: the managed record is deleted (4-1).
		return []StepID{RemoveProfiles, DeleteManagedRecord}
	default: // keep/ade, keep/manual
		return []StepID{RemoveProfiles, UserRemoveMDMProfile, AwaitGreyedOut, DeleteGreyedOutRecord}
	}
}
