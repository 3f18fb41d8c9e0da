package procedure

import (
	"fmt"
	"strings"
)

// Facts is what the pre-flight check read from the outside systems. A system that was not read
// (the console in operator mode, Apple without credentials) leaves its Read flag false and is not
// compared.
type Facts struct {
	ConsoleRead         bool   `json:"consoleRead"`
	Status              string `json:"status,omitempty"` // "managed" or "greyed-out"
	ADE                 bool   `json:"ade,omitempty"`
	MDMProfileRemovable bool   `json:"mdmProfileRemovable,omitempty"`
	Supervised          bool   `json:"supervised,omitempty"`
	LostMode            bool   `json:"lostMode,omitempty"`
	WorkSmart           bool   `json:"workSmart,omitempty"`
	// LostModeUnknown: the console was not read, and lost mode is to be checked by a person.
	LostModeUnknown bool `json:"lostModeUnknown,omitempty"`

	AppleRead      bool   `json:"appleRead"`
	AppleAssigned  bool   `json:"appleAssigned,omitempty"`
	AppleServerID  string `json:"appleServerId,omitempty"`
	OurAppleServer string `json:"ourAppleServer,omitempty"`
}

// Fit is a request checked against the facts: the request with the facts that change the plan
// filled in, the plan for it, and the steps the facts show are already done.
type Fit struct {
	Request Request `json:"request"`
	Plan    Result  `json:"plan"`
	// AlreadyGreyedOut: the console already shows the record greyed-out, so every step before
	// await-greyed-out has happened (a half-finished manual procedure, or a device wiped earlier).
	AlreadyGreyedOut bool `json:"alreadyGreyedOut,omitempty"`
	// AlreadyUnassigned: Apple Business Manager shows the device assigned to no MDM server.
	AlreadyUnassigned bool `json:"alreadyUnassigned,omitempty"`
}

// CheckFacts compares a request with what the console and Apple Business Manager say about the
// device. Every difference that would make the requested path wrong is reported at once, with
// what to change, so nothing destructive starts on a wrong path.
func CheckFacts(r Request, f Facts) (Fit, error) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	fit := Fit{Request: r}
	if f.ConsoleRead {
		switch {
		case r.Enrollment.IsADE() && !f.ADE:
			add("the console shows it was not enrolled through ADE: use --enrollment manual")
		case r.Enrollment == Manual && f.ADE:
			add("the console shows it was enrolled through ADE: use --enrollment ade or ade-restricted")
		case r.Enrollment == ADERestricted && f.MDMProfileRemovable:
			add("its ADE profile allows removing the MDM profile: use --enrollment ade")
		case r.Enrollment == ADE && !f.MDMProfileRemovable:
			add("its ADE profile forbids removing the MDM profile (［MDM構成プロファイル削除］を制限): use --enrollment ade-restricted")
		}
		if f.Status == "greyed-out" {
			if !r.Wipe && r.Enrollment == ADERestricted {
				add("the record is already greyed-out (取消線), but path keep/ade-restricted deletes a managed record: check the device in CLOMO PANEL")
			}
			fit.AlreadyGreyedOut = true
		}
		fit.Request.LostMode = f.LostMode
		fit.Request.WorkSmart = f.WorkSmart
	} else {
		fit.Request.LostModeUnknown = f.LostModeUnknown
	}
	if f.AppleRead && r.Enrollment.IsADE() {
		switch {
		case !f.AppleAssigned:
			fit.AlreadyUnassigned = true
		case f.OurAppleServer != "" && f.AppleServerID != f.OurAppleServer:
			add("Apple Business Manager assigns it to MDM server %s, not to this console's server %s: check the serial, or unassign it by hand",
				f.AppleServerID, f.OurAppleServer)
		}
	}
	if len(problems) > 0 {
		return Fit{}, fmt.Errorf("device %s does not fit path %s: %s; nothing was changed", r.Serial,
			PathName(r.Wipe, r.Enrollment), strings.Join(problems, "; "))
	}
	plan, err := Plan(fit.Request)
	if err != nil {
		return Fit{}, err
	}
	fit.Plan = plan
	return fit, nil
}
