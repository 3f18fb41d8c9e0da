package simulator

import (
	"fmt"
	"time"
)

// Codes of a user's refusal to act, in the ledger and in /sim/devices/{serial}/user-action answers.
const (
	CodeEraseRestricted = "erase-restricted" // a restrictions profile disallows すべてのコンテンツと設定を消去
	CodeNotRemovable    = "not-removable"    // the ADE profile forbids removing the MDM profile
	CodeLostMode        = "lost-mode"        // the device is locked in lost mode: Settings is out of reach
)

// UserNotice is what became of a message to a device's user.
type UserNotice struct {
	Serial string     `json:"serial"`
	Step   string     `json:"step"`
	Result string     `json:"result"` // "scheduled", "already-told" or "ignored"
	ActAt  *time.Time `json:"actAt,omitempty"`
	Detail string     `json:"detail,omitempty"`
}

// UserActionResult is what happened when the user acted.
type UserActionResult struct {
	Serial  string `json:"serial"`
	Step    string `json:"step"`
	Outcome string `json:"outcome"` // applied, refused or noted (nothing to do)
	Code    string `json:"code,omitempty"`
	Detail  string `json:"detail"`
}

// Notify tells the device's user about step (user-wipe or user-remove-mdm-profile), as a message
// to POST /sim/user-inbox does. The user acts after their delay, or never.
func (s *Simulator) Notify(serial, step string) UserNotice {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.advance()
	serial = normalizeSerial(serial)
	n := UserNotice{Serial: serial, Step: step, Result: "ignored"}
	d, ok := s.st.Devices[serial]
	switch {
	case step != StepUserWipe && step != StepUserRemoveMDMProfile:
		n.Detail = "not a step for the device's user"
		return n
	case !ok:
		n.Detail = "no such device"
		return n
	}
	entry := LedgerEntry{Time: now, Serial: serial, Source: SourceUser, Kind: step, Outcome: OutcomeNoted}
	if i, told := d.userTask(step); told {
		n.Result, n.ActAt = "already-told", timePtr(d.User.Tasks[i].ActAt)
		n.Detail = "a reminder: the user acts when they planned to"
	} else if d.User.ActsAfter.IsNever() {
		n.Detail = "the user never acts on messages"
	} else {
		at := now.Add(d.User.ActsAfter.Std())
		d.User.Tasks = append(d.User.Tasks, UserTask{Step: step, ToldAt: now, ActAt: at})
		s.schedule(event{at: at, kind: evUserAct, serial: serial, step: step})
		n.Result, n.ActAt = "scheduled", timePtr(at)
		n.Detail = "the user will act at " + at.Format(time.RFC3339)
	}
	entry.Detail = "message received; " + n.Detail
	s.appendLedger(entry)
	s.changed()
	return n
}

// UserAction makes the device's user act now: action "wipe" (すべてのコンテンツと設定を消去) or
// "remove-mdm-profile" (設定 > 一般 > VPN とデバイス管理 > CLOMO - MDM > 削除).
func (s *Simulator) UserAction(serial, action string) (UserActionResult, error) {
	step := map[string]string{"wipe": StepUserWipe, "remove-mdm-profile": StepUserRemoveMDMProfile,
		StepUserWipe: StepUserWipe, StepUserRemoveMDMProfile: StepUserRemoveMDMProfile}[action]
	if step == "" {
		return UserActionResult{}, fmt.Errorf("simulator: user action %q: want wipe or remove-mdm-profile", action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.advance()
	d, ok := s.st.Devices[normalizeSerial(serial)]
	if !ok {
		return UserActionResult{}, fmt.Errorf("simulator: no device %s", serial)
	}
	if i, told := d.userTask(step); told {
		d.User.Tasks = append(d.User.Tasks[:i], d.User.Tasks[i+1:]...) // done now, not later
	}
	res := s.userActs(d, step, now)
	s.changed()
	return res, nil
}

// userActs is the user carrying out step on the device. A refusal leaves the device as it was; the
// user tries again when told again. The console learns of a success at the next check-in.
func (s *Simulator) userActs(d *DeviceState, step string, at time.Time) UserActionResult {
	res := UserActionResult{Serial: d.Serial, Step: step, Outcome: OutcomeApplied}
	refuse := func(code, detail string) {
		res.Outcome, res.Code, res.Detail = OutcomeRefused, code, detail
	}
	switch {
	case step == StepUserWipe && d.Wiped && !d.MDMProfileInstalled:
		res.Outcome, res.Detail = OutcomeNoted, "the device is already erased"
	case step == StepUserRemoveMDMProfile && !d.MDMProfileInstalled:
		res.Outcome, res.Detail = OutcomeNoted, "the MDM profile is already gone"
	case d.LostMode:
		refuse(CodeLostMode, "the device is locked in lost mode (紛失モード): its user cannot reach Settings")
	case step == StepUserWipe && d.blocksErase():
		refuse(CodeEraseRestricted, "すべてのコンテンツと設定を消去 is not allowed: the restrictions profile (制限設定プロファイル) must be removed first")
	case step == StepUserRemoveMDMProfile && !d.MDMProfileRemovable:
		refuse(CodeNotRemovable, "the ADE profile forbids removing the MDM profile (［MDM構成プロファイル削除］を制限)")
	case step == StepUserWipe:
		d.wipe()
		res.Detail = "erased all content and settings" + s.whenConsoleLearns(d)
	default:
		// Managed profiles, and apps set to uninstall with the MDM profile, go with it.
		d.MDMProfileInstalled = false
		d.Profiles = nil
		res.Detail = "removed the MDM profile (CLOMO - MDM > 削除)" + s.whenConsoleLearns(d)
	}
	s.appendLedger(LedgerEntry{Time: at, Serial: d.Serial, Source: SourceUser, Kind: step,
		Outcome: res.Outcome, Code: res.Code, Detail: res.Detail})
	return res
}

func (s *Simulator) whenConsoleLearns(d *DeviceState) string {
	switch {
	case !d.recordExists() || d.RecordStatus == StatusGreyedOut:
		return ""
	case d.NextCheckIn == nil:
		return "; the device never checks in, so the console will keep showing it managed"
	default:
		return "; the console shows it greyed-out after the next check-in (" + d.NextCheckIn.Format(time.RFC3339) + ")"
	}
}
