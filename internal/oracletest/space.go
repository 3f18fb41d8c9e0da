package oracletest

import (
	"fmt"
	"sort"
	"strings"
)

// Values of the dimensions, as contract.md, the README and the issue name them.
const (
	ADERestricted = "ade-restricted"
	ADE           = "ade"
	Manual        = "manual"

	MethodConsole = "console" // 2-2
	MethodDevice  = "device"  // 2-1

	VPPNone  = "none"
	VPPLeft  = "left"  // the first 4-2 answers "VPP license still assigned"; refresh + revoke free it
	VPPStuck = "stuck" // Apple never releases the license: still failing after the revoke

	UserAtOnce = "at-once" // acts on the first message
	UserLate   = "late"    // acts only after reminders
	UserNever  = "never"

	CheckInNormal = "normal"
	CheckInNever  = "never"

	AppleOurs       = "ours"
	AppleOther      = "other-server"
	AppleUnassigned = "unassigned"

	Automated = "automated"
	Operator  = "operator"
)

// Combo is one situation: the request (enrollment, wipe, method, console mode) and the facts of
// the console, the device, its user and Apple Business Manager.
type Combo struct {
	Enrollment   string
	Wipe         bool
	Method       string // "" without a wipe
	LostMode     bool
	WorkSmart    bool
	VPP          string
	Certificates bool
	User         string
	CheckIn      string
	GreyedOut    bool
	Apple        string
	Mode         string
}

// Dimensions of the issue, in its order.
var (
	Enrollments = []string{ADERestricted, ADE, Manual}
	Wipes       = []bool{true, false}
	Methods     = []string{MethodConsole, MethodDevice}
	Bools       = []bool{false, true}
	VPPs        = []string{VPPNone, VPPLeft, VPPStuck}
	Users       = []string{UserAtOnce, UserLate, UserNever}
	CheckIns    = []string{CheckInNormal, CheckInNever}
	Apples      = []string{AppleOurs, AppleOther, AppleUnassigned}
	Modes       = []string{Automated, Operator}
)

// ADEDevice: the device is known to Apple Business Manager through ADE.
func (c Combo) ADEDevice() bool { return c.Enrollment == ADERestricted || c.Enrollment == ADE }

// Path is the OffboardPath of contract.md: "<wipe|keep>/<enrollment>".
func (c Combo) Path() string {
	if c.Wipe {
		return "wipe/" + c.Enrollment
	}
	return "keep/" + c.Enrollment
}

// NeedsUser: the path has a step of the device's user (2-1 user wipe, 3-2 MDM profile removal).
func (c Combo) NeedsUser() bool {
	if c.Wipe {
		return c.Method == MethodDevice
	}
	return c.Enrollment != ADERestricted
}

// DeletesManaged: the path deletes the managed record (4-1) rather than the greyed-out one (4-2).
func (c Combo) DeletesManaged() bool { return !c.Wipe && c.Enrollment == ADERestricted }

// String names the combination: the path, then every fact that differs from the plain case.
func (c Combo) String() string {
	parts := []string{strings.ReplaceAll(c.Path(), "/", "-")}
	if c.Wipe {
		parts[0] += "-" + c.Method
	}
	add := func(on bool, s string) {
		if on {
			parts = append(parts, s)
		}
	}
	add(c.LostMode, "lost")
	add(c.WorkSmart, "worksmart")
	add(c.VPP != VPPNone, "vpp-"+c.VPP)
	add(c.Certificates, "certs")
	add(c.User != UserAtOnce, "user-"+c.User)
	add(c.CheckIn != CheckInNormal, "checkin-"+c.CheckIn)
	add(c.GreyedOut, "greyed")
	add(c.ADEDevice() && c.Apple != AppleOurs, "apple-"+c.Apple)
	add(c.Mode != Automated, c.Mode)
	return strings.Join(parts, "/")
}

// A collapse folds a dimension that cannot apply to a combination into one canonical value, so
// the impossible and the indistinguishable are generated once, never skipped silently. Each rests
// on a sentence of procedure.md (or the README's pre-flight), quoted in page.
type collapse struct {
	name string
	page string
	when func(Combo) bool
	fold func(*Combo)
}

var collapses = []collapse{
	{"wipe method only with a wipe", `§2 Wipe — "one of two methods"; without a wipe there is no method`,
		func(c Combo) bool { return !c.Wipe }, func(c *Combo) { c.Method = "" }},
	{"Apple only for ADE", `§5 ADE unassign "(ADE devices only)": a manual device has nothing of ours in Apple Business Manager`,
		func(c Combo) bool { return !c.ADEDevice() }, func(c *Combo) { c.Apple = AppleUnassigned }},
	{"greyed-out without lost mode", `"An erase (2-1 or 2-2) clears lost mode"; "lost mode locks the device: its user cannot reach Settings", ` +
		`so a record that turned greyed-out (the device erased, or its user removed the MDM profile) is not in lost mode`,
		func(c Combo) bool { return c.GreyedOut }, func(c *Combo) { c.LostMode = false }},
	{"greyed-out: nothing waits on the device or its user", `README: "A device already greyed-out skips to the delete": ` +
		`every step of the device and its user has happened`,
		func(c Combo) bool { return c.GreyedOut }, func(c *Combo) { c.User, c.CheckIn = UserAtOnce, CheckInNormal }},
	{"no user step", `the matrix: 2-2 and keep/ade-restricted (3-1 → 4-1) have no step of the device's user`,
		func(c Combo) bool { return !c.NeedsUser() }, func(c *Combo) { c.User = UserAtOnce }},
	{"VPP and certificates only at 4-2", `4-2 "Error branches" (certificates, VPP); 4-1 has none: "Deleting revokes the device's VPP app licenses"`,
		func(c Combo) bool { return c.DeletesManaged() }, func(c *Combo) { c.VPP, c.Certificates = VPPNone, false }},
	{"Work Smart: no delete from the console", `"Devices under a Work Smart configuration cannot be deleted from the console": ` +
		`the delete never gets as far as certificates or licenses, vendor support deletes the record`,
		func(c Combo) bool { return c.WorkSmart }, func(c *Combo) { c.VPP, c.Certificates = VPPNone, false }},
	{"another MDM server: rejected before any step", `README "Pre-flight": Apple Business Manager's assignment must fit the request; ` +
		`a mismatch ends the workflow before anything destructive (what the device, its user and the delete would do never comes)`,
		func(c Combo) bool { return c.ADEDevice() && c.Apple == AppleOther }, foldAfterPreflight},
	{"rejected at pre-flight on the console's facts (automated)", `README "Pre-flight" as above; these facts are read from the console, ` +
		`which only the automated mode reads ("In operator mode nothing can be read from the console")`,
		func(c Combo) bool { return c.Mode == Automated && preflightRejectsOnConsoleFacts(c) }, foldAfterPreflight},
}

func foldAfterPreflight(c *Combo) {
	c.WorkSmart, c.VPP, c.Certificates, c.User, c.CheckIn = false, VPPNone, false, UserAtOnce, CheckInNormal
}

// preflightRejectsOnConsoleFacts: the facts of the console contradict the request (see the rules
// "lost mode, 2-1" and "greyed-out, 4-1" in oracle.go).
func preflightRejectsOnConsoleFacts(c Combo) bool {
	return (c.Wipe && c.Method == MethodDevice && c.LostMode) || (c.DeletesManaged() && c.GreyedOut)
}

// Canonical folds c by every collapse that applies, and names them.
func Canonical(c Combo) (Combo, []string) {
	var applied []string
	for _, r := range collapses {
		if r.when(c) {
			before := c
			r.fold(&c)
			if c != before {
				applied = append(applied, r.name)
			}
		}
	}
	return c, applied
}

// Space is the whole space of the issue: the raw cross product and its distinct canonical combinations.
type Space struct {
	Raw       int
	Combos    []Combo        // distinct, in generation order
	Collapsed map[string]int // collapse → raw combinations it changed
}

// All generates the cross product of every dimension, canonically.
func All() Space {
	s := Space{Collapsed: map[string]int{}}
	seen := map[Combo]bool{}
	for _, enr := range Enrollments {
		for _, wipe := range Wipes {
			for _, method := range Methods {
				for _, lost := range Bools {
					for _, ws := range Bools {
						for _, vpp := range VPPs {
							for _, certs := range Bools {
								for _, user := range Users {
									for _, checkin := range CheckIns {
										for _, greyed := range Bools {
											for _, apple := range Apples {
												for _, mode := range Modes {
													s.Raw++
													c, applied := Canonical(Combo{enr, wipe, method, lost, ws, vpp, certs, user, checkin, greyed, apple, mode})
													for _, a := range applied {
														s.Collapsed[a]++
													}
													if !seen[c] {
														seen[c] = true
														s.Combos = append(s.Combos, c)
													}
												}
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return s
}

// Summary is the line the tests print: "N combinations (M distinct after collapsing …)".
func (s Space) Summary() string {
	names := make([]string, 0, len(s.Collapsed))
	for n := range s.Collapsed {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprintf("%d combinations (%d distinct after collapsing: %s)", s.Raw, len(s.Combos), strings.Join(names, "; "))
}

// Sample picks at least n combinations deterministically: first, for every path (with its wipe
// method), every caution and each console mode, the first combination in generation order that
// has them; then a stride through the rest until n are chosen. Cautions are each non-default value
// of a dimension (and "plain", none of them).
func (s Space) Sample(n int) []Combo {
	cautions := []struct {
		name string
		has  func(Combo) bool
	}{
		{"plain", func(c Combo) bool { return strings.TrimSuffix(c.String(), "/"+Operator) == pathName(c) }},
		{"lost mode", func(c Combo) bool { return c.LostMode }},
		{"Work Smart", func(c Combo) bool { return c.WorkSmart }},
		{"VPP left", func(c Combo) bool { return c.VPP == VPPLeft }},
		{"VPP stuck", func(c Combo) bool { return c.VPP == VPPStuck }},
		{"certificates", func(c Combo) bool { return c.Certificates }},
		{"user late", func(c Combo) bool { return c.User == UserLate }},
		{"user never", func(c Combo) bool { return c.User == UserNever }},
		{"check-in never", func(c Combo) bool { return c.CheckIn == CheckInNever }},
		{"greyed-out", func(c Combo) bool { return c.GreyedOut }},
		{"another server", func(c Combo) bool { return c.Apple == AppleOther }},
		{"unassigned", func(c Combo) bool { return c.ADEDevice() && c.Apple == AppleUnassigned }},
	}
	chosen := map[Combo]bool{}
	var out []Combo
	take := func(c Combo) {
		if !chosen[c] {
			chosen[c] = true
			out = append(out, c)
		}
	}
	var paths []string
	byPath := map[string][]Combo{}
	for _, c := range s.Combos {
		p := pathName(c)
		if _, ok := byPath[p]; !ok {
			paths = append(paths, p)
		}
		byPath[p] = append(byPath[p], c)
	}
	for _, p := range paths {
		for _, mode := range Modes {
			for _, k := range cautions {
				for _, c := range byPath[p] {
					if c.Mode == mode && k.has(c) {
						take(c)
						break
					}
				}
			}
		}
	}
	if rest := n - len(out); rest > 0 {
		stride := max(1, len(s.Combos)/rest)
		for pass := 0; pass < stride && len(out) < n; pass++ {
			for i := (stride/2 + pass) % stride; i < len(s.Combos) && len(out) < n; i += stride {
				take(s.Combos[i])
			}
		}
	}
	return out
}

func pathName(c Combo) string {
	p := strings.ReplaceAll(c.Path(), "/", "-")
	if c.Wipe {
		p += "-" + c.Method
	}
	return p
}
