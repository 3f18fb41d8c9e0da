// Package procedure is the vendor procedure for removing an iOS device from CLOMO MDM, as data and
// one pure function. It imports nothing from Temporal: the workflow, the `starter plan` command and
// the docs all read the same matrix from here.
package procedure

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Enrollment says how the device came under management, which picks the column of the matrix.
type Enrollment string

const (
	// ADERestricted is an ADE device whose ADE profile forbids removing the MDM profile
	// (［MDM構成プロファイル削除］を制限).
	ADERestricted Enrollment = "ade-restricted"
	// ADE is an ADE device whose MDM profile may be removed.
	ADE Enrollment = "ade"
	// Manual is a device that was not enrolled through ADE.
	Manual Enrollment = "manual"
)

// Enrollments lists the valid enrollments, in the order of the vendor's table.
var Enrollments = []Enrollment{ADERestricted, ADE, Manual}

// IsADE reports whether the device is known to Apple Business Manager and must be unassigned there.
func (e Enrollment) IsADE() bool { return e == ADERestricted || e == ADE }

// ParseEnrollment turns user input into an Enrollment, or says which values are valid.
func ParseEnrollment(s string) (Enrollment, error) {
	e := Enrollment(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range Enrollments {
		if e == v {
			return e, nil
		}
	}
	return "", fmt.Errorf("unknown enrollment %q: use ade-restricted (ADE, MDM profile removal restricted), ade (ADE, not restricted) or manual (not ADE)", s)
}

// WipeMethod chooses between the two wipe procedures of §2.
type WipeMethod string

const (
	// WipeConsole is 2-2: the console sends デバイスを初期化 (EraseDevice).
	WipeConsole WipeMethod = "console"
	// WipeDevice is 2-1: the restrictions profile is removed, then the device's user erases it in Settings.
	WipeDevice WipeMethod = "device"
)

// ParseWipeMethod turns user input into a WipeMethod; empty means the console wipe.
func ParseWipeMethod(s string) (WipeMethod, error) {
	switch m := WipeMethod(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return WipeConsole, nil
	case WipeConsole, WipeDevice:
		return m, nil
	}
	return "", fmt.Errorf("unknown wipe method %q: use console (2-2, EraseDevice from CLOMO PANEL) or device (2-1, the user erases it in Settings)", s)
}

// Request is what an operator or a pipeline asks for one device. LostMode and WorkSmart are facts
// the pre-flight check reads from the console; a plan made before pre-flight leaves them false.
type Request struct {
	Serial                  string     `json:"serial"`
	Enrollment              Enrollment `json:"enrollment"`
	Wipe                    bool       `json:"wipe"`
	WipeMethod              WipeMethod `json:"wipeMethod,omitempty"`
	RemoveESIM              bool       `json:"removeESIM,omitempty"`
	RemoveAutoInstalledApps bool       `json:"removeAutoInstalledApps,omitempty"`
	ReturnToService         bool       `json:"returnToService,omitempty"`
	LostMode                bool       `json:"lostMode,omitempty"`
	// LostModeUnknown: nobody could read whether lost mode is on (operator mode reads nothing
	// from the console), so the operator checks it, and turns it off, where it would matter.
	LostModeUnknown bool `json:"lostModeUnknown,omitempty"`
	WorkSmart       bool `json:"workSmart,omitempty"`
}

// Result is a plan: the path through the matrix, the ordered steps and what a person should know.
type Result struct {
	Path     string   `json:"path"`
	Steps    []StepID `json:"steps"`
	Warnings []string `json:"warnings"`
}

// Has reports whether the plan contains the step.
func (r Result) Has(id StepID) bool {
	for _, s := range r.Steps {
		if s == id {
			return true
		}
	}
	return false
}

var serialPattern = regexp.MustCompile(`^[A-Z0-9]{6,20}$`)

// NormalizeSerial upper-cases a serial and checks its shape, so that `offboard-<SERIAL>` is one
// workflow ID for one device whatever the caller typed.
func NormalizeSerial(s string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(s))
	if n == "" {
		return "", errors.New("missing serial: give the device's serial number as shown in CLOMO PANEL")
	}
	if !serialPattern.MatchString(n) {
		return "", fmt.Errorf("serial %q is not a serial number: use 6 to 20 letters and digits, as shown in CLOMO PANEL", s)
	}
	return n, nil
}

// PathName is the OffboardPath search attribute value, e.g. "wipe/ade".
func PathName(wipe bool, e Enrollment) string {
	if wipe {
		return "wipe/" + string(e)
	}
	return "keep/" + string(e)
}

// Plan returns the ordered steps of the vendor procedure for one device, and the warnings the vendor
// page gives for that path, or an error that names the device and what to change.
func Plan(r Request) (Result, error) {
	serial, err := NormalizeSerial(r.Serial)
	if err != nil {
		return Result{}, err
	}
	fail := func(format string, a ...any) (Result, error) {
		return Result{}, fmt.Errorf("device %s: "+format, append([]any{serial}, a...)...)
	}
	if _, err := ParseEnrollment(string(r.Enrollment)); err != nil {
		return fail("%v", err)
	}
	method, err := ParseWipeMethod(string(r.WipeMethod))
	if err != nil {
		return fail("%v", err)
	}
	if !r.Wipe && r.WipeMethod != "" {
		return fail("a wipe method was given but the device is not to be wiped: add --wipe, or drop --wipe-method")
	}
	if r.ReturnToService {
		return fail("Return to Service (MDMへの再登録) re-enrolls the device after the wipe, which contradicts removing it: " +
			"drop --return-to-service to retire the device, or re-kit it in CLOMO PANEL instead of offboarding it")
	}
	if r.RemoveESIM && (!r.Wipe || method != WipeConsole) {
		return fail("eSIMを削除 (remove eSIM) is an option of the console wipe (2-2) only: drop --remove-esim, or use --wipe --wipe-method console")
	}
	path := PathName(r.Wipe, r.Enrollment)
	deletesManaged := !r.Wipe && r.Enrollment == ADERestricted
	if r.RemoveAutoInstalledApps && !deletesManaged {
		return fail("自動インストールしたアプリを削除する (remove auto-installed apps) is an option of deleting a managed record (4-1), "+
			"which path %s does not use: drop --remove-auto-installed-apps", path)
	}
	cautions, err := Cautions(r)
	if err != nil {
		return fail("%v", err)
	}

	steps := []StepID{Preflight}
	steps = append(steps, matrixPath(r.Wipe, method, r.Enrollment)...)
	for _, c := range cautions {
		steps = insertBefore(steps, c.Insert, c.Before)
	}
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s) }
	if r.LostModeUnknown && !r.LostMode && slices.Contains(steps, DisableLostMode) {
		warn("The console was not read (operator mode): check in CLOMO PANEL whether lost mode (紛失モード) is on, " +
			"and turn it off before the device's user is asked to act or the record is deleted.")
	}

	switch {
	case r.Wipe && method == WipeConsole:
		if r.LostMode {
			warn("The device is in lost mode (紛失モード): the console wipe erases it, so its record may be deleted afterwards.")
		}
		if !r.RemoveESIM {
			warn("eSIMを削除 (remove eSIM) is not selected: the eSIM stays on the device after the wipe.")
		}
	case r.Wipe && method == WipeDevice:
		warn("If the device refuses the wipe, its restrictions profile (制限設定プロファイル) still disallows " +
			"\"すべてのコンテンツと設定を消去\" (Erase All Content and Settings): remove that profile, then ask the user again.")
	case deletesManaged:
		warn("The MDM configuration profile STAYS on the device: its ADE profile forbids removing it " +
			"(［MDM構成プロファイル削除］を制限). Only the console record and the installed profiles are removed.")
		if r.RemoveAutoInstalledApps {
			warn("自動インストールしたアプリを削除する is selected: apps auto-installed from CLOMO PANEL are uninstalled from the device.")
		} else {
			warn("自動インストールしたアプリを削除する is not selected: auto-installed apps stay on the device.")
		}
	default: // keep/ade, keep/manual
		warn("Apps with the Managed Apps option 「MDM構成プロファイル削除時に強制アンインストールする」 are uninstalled " +
			"when the user removes the MDM profile.")
	}
	if !r.Wipe {
		warn("Deleting the record revokes the device's VPP app licenses: apps installed through VPP or auto-installed " +
			"must be uninstalled and reinstalled from the user's own Apple Account to keep them outside MDM; " +
			"apps installed one by one without VPP stay as they are.")
	}
	if r.WorkSmart {
		warn("The device is under a Work Smart configuration (ワーク・スマート構成): CLOMO PANEL cannot delete it, " +
			"so the delete will be handed to CLOMO support (CLOMO サポートセンター).")
	}
	warn("The device's license becomes reusable once its record is deleted (or once it shows greyed-out, 取消線).")
	if r.Enrollment.IsADE() {
		steps = append(steps, ABMUnassign)
	} else {
		warn("Not an ADE device: there is nothing to unassign in Apple Business Manager.")
	}
	return Result{Path: path, Steps: steps, Warnings: warnings}, nil
}
