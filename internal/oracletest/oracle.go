package oracletest

import "strings"

// Step IDs of contract.md.
const (
	StepPreflight                 = "preflight"
	StepRemoveRestrictionsProfile = "remove-restrictions-profile"
	StepUserWipe                  = "user-wipe"
	StepConsoleWipe               = "console-wipe"
	StepRemoveProfiles            = "remove-profiles"
	StepUserRemoveMDMProfile      = "user-remove-mdm-profile"
	StepAwaitGreyedOut            = "await-greyed-out"
	StepDeleteManagedRecord       = "delete-managed-record"
	StepDeleteGreyedOutRecord     = "delete-greyed-out-record"
	StepDisableLostMode           = "disable-lost-mode"
	StepRemoveCertificates        = "remove-certificates"
	StepRefreshLicenseCounts      = "refresh-license-counts"
	StepRevokeVPPLicenses         = "revoke-vpp-licenses"
	StepABMUnassign               = "abm-unassign"
)

// DeviceWaits are the steps at which a run waits for the device to check in: a queued command's
// effect (removing profiles, erasing, turning lost mode off) or the record turning greyed-out.
var DeviceWaits = []string{StepRemoveRestrictionsProfile, StepConsoleWipe, StepRemoveProfiles, StepDisableLostMode, StepAwaitGreyedOut}

// Events of a run, as check.go reads them. Console commands are named as docs/console-api.md does.
const (
	// Commands the console accepted: "cmd:" + the command type. A replay under the same
	// idempotency key is not a new command and is not an event.
	CmdRemoveProfile        = "cmd:remove-profile"
	CmdEraseDevice          = "cmd:erase-device"
	CmdDisableLostMode      = "cmd:disable-lost-mode"
	CmdDeleteDevice         = "cmd:delete-device" // 4-1
	CmdPurgeDevice          = "cmd:purge-device"  // 4-2
	CmdRemoveCertificates   = "cmd:remove-certificates"
	CmdRefreshLicenseCounts = "cmd:refresh-license-counts"
	CmdRevokeVPPLicenses    = "cmd:revoke-vpp-licenses"
	// Queued commands the device carried out at a check-in: "applied:" + the command type.
	AppliedRemoveProfile   = "applied:remove-profile"
	AppliedDisableLostMode = "applied:disable-lost-mode"
	AppliedEraseDevice     = "applied:erase-device"
	// GreyedOutEvent: the console shows the record greyed-out (取消線).
	GreyedOutEvent = "greyed-out"
	// Unassign: an UNASSIGN_DEVICES activity for the device was accepted by Apple.
	Unassign = "unassign"
	// ReturnToService: an erase was sent with MDMへの再登録 ticked.
	ReturnToService = "return-to-service"
	// RecordGone: the record disappeared from the console.
	RecordGone = "record-gone"
)

// Told is the event of a message to the device's user about step.
func Told(step string) string { return "told:" + step }

// Destructive events: each may happen at most once for a device.
var Destructive = []string{CmdEraseDevice, CmdDeleteDevice, CmdPurgeDevice, CmdRemoveProfile, CmdRemoveCertificates, CmdRevokeVPPLicenses, Unassign}

// Outcomes and parties.
const (
	Removed  = "removed"
	Rejected = "rejected"
	Waiting  = "waiting"

	PartyOperator      = "operator"
	PartyVendorSupport = "vendor-support"
)

// Expectation is what the vendor page says must happen to a combination.
type Expectation struct {
	Outcome string   // Removed, Rejected or Waiting
	Reason  string   // Rejected: a substring of the error
	Party   string   // Waiting: who
	AtSteps []string // Waiting: the step it waits at, one of these; empty: any
	// Required events must happen; destructive events not in Allowed must not; Before {a, b}: b
	// happens only after a has.
	Required []string
	Allowed  []string
	Before   [][2]string
	// NothingChanged: no command at all may reach the console or Apple.
	NothingChanged bool
	// Rules are the page's sentences that decided it, for a failure message.
	Rules []string
	// Alternatives are other runs the page allows as well (Verify accepts any of them).
	Alternatives []Expectation
}

// Describe is the expectation in one line.
func (e Expectation) Describe() string {
	switch e.Outcome {
	case Rejected:
		return "rejected at pre-flight (" + e.Reason + ")"
	case Waiting:
		at := "any step"
		if len(e.AtSteps) > 0 {
			at = strings.Join(e.AtSteps, "|")
		}
		return "waiting on " + e.Party + " at " + at
	}
	return e.Outcome
}

// stage is one step of the page in a run: its events happen after every event of the stages
// before it (in any order among themselves, but for the order pairs of the stage).
type stage struct {
	step   string
	events []string
	order  [][2]string
	device bool // its events need the device to check in
	user   bool // its events need the device's user to act
	vendor bool // the console cannot do it: vendor support must
}

// plan is the walk of the page for one combination that the rules build.
type plan struct {
	c        Combo
	stages   []stage
	end      *Expectation // a rule decided the outcome before any step
	rules    []string
	deleteAt int // index of the delete's stage
}

func (p *plan) add(s stage) { p.stages = append(p.stages, s) }
func (p *plan) first() *stage {
	return &p.stages[0]
}
func (p *plan) delete() *stage { return &p.stages[p.deleteAt] }

// rule is one sentence of the page, as code.
type rule struct {
	page string // quoted from ../shared/docs/procedure.md, or the README where the page leaves it to the product
	when func(Combo) bool
	then func(*plan)
}

func reject(reason string) func(*plan) {
	return func(p *plan) { p.end = &Expectation{Outcome: Rejected, Reason: reason, NothingChanged: true} }
}

var (
	wipeConsole = func(c Combo) bool { return c.Wipe && c.Method == MethodConsole }
	wipeDevice  = func(c Combo) bool { return c.Wipe && c.Method == MethodDevice }
	keepADER    = func(c Combo) bool { return c.DeletesManaged() }
	keepOther   = func(c Combo) bool { return !c.Wipe && c.Enrollment != ADERestricted }
)

// rules is the vendor page, in its order. A rule that sets end stops the walk.
var rules = []rule{
	// --- pre-flight (README "Pre-flight": the facts must fit the request before anything destructive) ---
	{`README "Pre-flight": "Apple Business Manager's assignment must fit the request; a mismatch ends the workflow before anything destructive"; ` +
		`§5 unassigns "from the current MDM", which here is another server's`,
		func(c Combo) bool { return c.ADEDevice() && c.Apple == AppleOther }, reject("assigns it to MDM server")},
	{`"Lost mode locks the device: its user cannot reach Settings, so neither the user's wipe (2-1) ... can happen until lost mode is off ... ` +
		`or, for 2-1, uses the console wipe instead"; README: "A device-side wipe (2-1) of a device in lost mode is refused at pre-flight"`,
		func(c Combo) bool { return c.Mode == Automated && wipeDevice(c) && c.LostMode }, reject("lost mode")},
	{`keep/ade-restricted is "§3-1 remove installed profiles → §4-1 delete the *managed* record": a greyed-out record does not fit ` +
		`(README: "a mismatch ends the workflow before anything destructive")`,
		func(c Combo) bool { return c.Mode == Automated && keepADER(c) && c.GreyedOut }, reject("greyed-out")},
	{`README: "In operator mode nothing can be read from the console": the person finds the greyed-out record that 4-1 cannot delete, ` +
		`and the device waits on them; nothing is deleted`,
		func(c Combo) bool { return c.Mode == Operator && keepADER(c) && c.GreyedOut },
		func(p *plan) { p.end = &Expectation{Outcome: Waiting, Party: PartyOperator, NothingChanged: true} }},

	// --- the matrix ---
	{`"§2-2 console wipe: command デバイスを初期化 (EraseDevice) ... Afterwards the device shows struck-through / greyed-out"`,
		func(c Combo) bool { return wipeConsole(c) && !c.GreyedOut }, func(p *plan) {
			p.add(stage{step: StepConsoleWipe, events: []string{CmdEraseDevice}})
			p.add(stage{step: StepAwaitGreyedOut, events: []string{GreyedOutEvent}, device: true})
		}},
	{`"2-1 device-side wipe: console command 構成プロファイルを削除 for the restrictions profile, then the device's user wipes it in Settings"; ` +
		`the removal reaches the device at its check-in, and "if the wipe is refused ... it must be removed first"`,
		func(c Combo) bool { return wipeDevice(c) && !c.GreyedOut }, func(p *plan) {
			p.add(stage{step: StepRemoveRestrictionsProfile, events: []string{AppliedRemoveProfile}, device: true})
			p.add(stage{step: StepUserWipe, events: []string{Told(StepUserWipe)}})
			p.add(stage{step: StepAwaitGreyedOut, events: []string{GreyedOutEvent}, device: true, user: true})
		}},
	{`keep/ade-restricted: "§3-1 remove installed profiles → §4-1 delete the managed record"; "Deleting in the console alone leaves every ` +
		`restriction set in the console applied to the device", so the removal has reached the device before the delete`,
		func(c Combo) bool { return keepADER(c) && !c.GreyedOut }, func(p *plan) {
			p.add(stage{step: StepRemoveProfiles, events: []string{AppliedRemoveProfile}, device: true})
		}},
	{`keep/ade, keep/manual: "§3 (3-1 then 3-2)": remove installed profiles, then the user removes the MDM profile; ` +
		`"Then the device shows greyed-out after it checks in"`,
		func(c Combo) bool { return keepOther(c) && !c.GreyedOut }, func(p *plan) {
			p.add(stage{step: StepRemoveProfiles, events: []string{CmdRemoveProfile}})
			p.add(stage{step: StepUserRemoveMDMProfile, events: []string{Told(StepUserRemoveMDMProfile)}})
			p.add(stage{step: StepAwaitGreyedOut, events: []string{GreyedOutEvent}, device: true, user: true})
		}},
	{`README: "A device already greyed-out skips to the delete": every step before 4-2 has happened`,
		func(c Combo) bool { return c.GreyedOut }, func(*plan) {}},

	// --- lost mode ---
	{`"Never delete while lost mode is on, unless the path wipes the device first"; "A path that needs the user and finds lost mode on ` +
		`turns it off first (DisableLostMode from the console, applied at the next check-in)": before the user's step and the delete`,
		func(c Combo) bool { return c.LostMode && !c.GreyedOut && (!c.Wipe || wipeDevice(c)) }, func(p *plan) {
			s := p.first()
			s.events = append(s.events, AppliedDisableLostMode)
			s.device = true
		}},
	{`"An erase (2-1 or 2-2) clears lost mode on the device": the console wipe needs no DisableLostMode, and the delete follows the wipe`,
		func(c Combo) bool { return c.LostMode && wipeConsole(c) }, func(*plan) {}},

	// --- §4 delete the record ---
	{`"4-1 delete a *managed* (管理中) record: command デバイスを削除"`,
		keepADER, func(p *plan) {
			p.deleteAt = len(p.stages)
			p.add(stage{step: StepDeleteManagedRecord, events: []string{CmdDeleteDevice}})
		}},
	{`"4-2 delete a *greyed-out* record: デバイスの情報を完全に削除"`,
		func(c Combo) bool { return !keepADER(c) }, func(p *plan) {
			p.deleteAt = len(p.stages)
			p.add(stage{step: StepDeleteGreyedOutRecord, events: []string{CmdPurgeDevice}})
		}},
	{`"Devices under a Work Smart configuration cannot be deleted from the console ... the vendor's support must delete it: ` +
		`a terminal "needs vendor support" outcome, not a retry loop"`,
		func(c Combo) bool { return c.WorkSmart }, func(p *plan) {
			d := p.delete()
			d.events, d.vendor = nil, true
		}},
	{`4-2: ""certificates remain" → run the procedure that removes certificate-issued devices, then retry"`,
		func(c Combo) bool { return c.Certificates && !keepADER(c) && !c.WorkSmart }, func(p *plan) {
			d := p.delete()
			d.events = append(d.events, CmdRemoveCertificates)
			d.order = append(d.order, [2]string{CmdRemoveCertificates, CmdPurgeDevice})
		}},
	{`4-2: ""VPP license still assigned" → update the app license counts, revoke the device's VPP licenses, retry the delete"`,
		func(c Combo) bool { return c.VPP == VPPLeft && !keepADER(c) && !c.WorkSmart }, func(p *plan) {
			d := p.delete()
			d.events = append(d.events, CmdRefreshLicenseCounts, CmdRevokeVPPLicenses)
			d.order = append(d.order, [2]string{CmdRefreshLicenseCounts, CmdRevokeVPPLicenses}, [2]string{CmdRevokeVPPLicenses, CmdPurgeDevice})
		}},
	{`4-2: "... retry the delete; if it still fails → vendor support"`,
		func(c Combo) bool { return c.VPP == VPPStuck && !keepADER(c) && !c.WorkSmart }, func(p *plan) {
			d := p.delete()
			d.events = append(without(d.events, CmdPurgeDevice), CmdRefreshLicenseCounts, CmdRevokeVPPLicenses)
			d.order = [][2]string{{CmdRefreshLicenseCounts, CmdRevokeVPPLicenses}}
			d.vendor = true
		}},

	// --- §5 ---
	{`"§5 ADE unassign (ADE devices only) ... 現在のMDMから割り当てを解除 ... Without it the device reappears in the console as pre-registered"; after §4`,
		func(c Combo) bool { return c.ADEDevice() && c.Apple == AppleOurs }, func(p *plan) {
			p.add(stage{step: StepABMUnassign, events: []string{Unassign}})
		}},
	{`§5 unassigns "from the current MDM": Apple shows none, so there is nothing to unassign (README: unassigned in Apple is fine at pre-flight)`,
		func(c Combo) bool { return c.ADEDevice() && c.Apple == AppleUnassigned }, func(*plan) {}},

	// --- the device side ---
	{`"The device side (user taps, check-in) is never under our control: waits are long, reminders and escalation matter"; ` +
		`a user who acts late acts after reminders (README: "reminded at 1, 3, 7 and 10 days")`,
		func(c Combo) bool { return c.User == UserLate }, func(*plan) {}},
	{`""the device never came back" is a normal outcome that needs a clear state" (README: "at the deadline (14 days) an operator is asked"): ` +
		`a user who never acts leaves the run at the user's step, waiting on an operator`,
		func(c Combo) bool { return c.User == UserNever }, func(*plan) {}},
	{`the same for a device that never checks in: the run stops at the first step that needs the device, waiting on an operator`,
		func(c Combo) bool { return c.CheckIn == CheckInNever }, func(*plan) {}},
}

func without(list []string, drop string) []string {
	var out []string
	for _, v := range list {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

// Expect is what must happen to c: the rules walk the page, then the walk stops at the first stage
// that cannot complete (the device never checks in, the user never acts, only the vendor can delete).
func Expect(c Combo) Expectation {
	p := &plan{c: c}
	for _, r := range rules {
		if !r.when(c) {
			continue
		}
		p.rules = append(p.rules, r.page)
		r.then(p)
		if p.end != nil {
			e := *p.end
			e.Rules = p.rules
			return e
		}
	}
	e := Expectation{Outcome: Removed, Rules: p.rules}
	if c.Mode == Operator && wipeDevice(c) && c.LostMode && !c.GreyedOut {
		// "... turns it off first (DisableLostMode ...), or, for 2-1, uses the console wipe
		// instead": in operator mode no pre-flight refuses it, so either way is the page's.
		alt := c
		alt.Method = MethodConsole
		e.Alternatives = append(e.Alternatives, Expect(alt))
		e.Rules = append(e.Rules, `"or, for 2-1, uses the console wipe instead": the run of 2-2 is accepted as well`)
	}
	checkInNever, userNever := c.CheckIn == CheckInNever, c.User == UserNever
	stop := len(p.stages)
walk:
	for i, s := range p.stages {
		switch {
		case checkInNever && s.device:
			e.Outcome, e.Party, e.AtSteps = Waiting, PartyOperator, DeviceWaits
		case userNever && s.user:
			e.Outcome, e.Party, e.AtSteps = Waiting, PartyOperator, []string{StepAwaitGreyedOut}
		case s.vendor:
			e.Outcome, e.Party, e.AtSteps = Waiting, PartyVendorSupport, []string{s.step}
		default:
			continue
		}
		stop = i
		break walk
	}
	for i, s := range p.stages {
		if i > stop {
			break
		}
		// Before the stop every event must happen, and at a vendor stop the stage's own. With a
		// device that never checks in only the console commands of the steps before the first
		// that needs the device are required: the product (or the operator, who reports a step
		// once the device has carried it out) may wait for the device earlier than the page does,
		// so what may happen up to the stop, and its order, is checked.
		required := i < stop || s.vendor
		for _, ev := range s.events {
			e.Allowed = append(e.Allowed, ev)
			if strings.HasPrefix(ev, "applied:") {
				e.Allowed = append(e.Allowed, "cmd:"+strings.TrimPrefix(ev, "applied:"))
			}
			if required && (!checkInNever || strings.HasPrefix(ev, "cmd:")) {
				e.Required = append(e.Required, ev)
			}
		}
		e.Before = append(e.Before, s.order...)
		for _, earlier := range p.stages[:i] {
			for _, a := range earlier.events {
				for _, b := range s.events {
					e.Before = append(e.Before, [2]string{a, b})
				}
			}
		}
	}
	return e
}
