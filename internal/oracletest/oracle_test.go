package oracletest

import (
	"slices"
	"strings"
	"testing"
)

// The space: the raw product of the dimensions, every combination canonical, none of the
// impossible ones left.
func TestSpace(t *testing.T) {
	s := All()
	if s.Raw != 3*2*2*2*2*3*2*3*2*2*3*2 {
		t.Errorf("raw %d", s.Raw)
	}
	for _, c := range s.Combos {
		if k, _ := Canonical(c); k != c {
			t.Errorf("%s is not canonical: %s", c, k)
		}
		switch {
		case !c.Wipe && c.Method != "", c.Wipe && c.Method == "":
			t.Errorf("%s: a wipe method without a wipe, or a wipe without one", c)
		case c.GreyedOut && c.LostMode:
			t.Errorf("%s: greyed-out in lost mode", c)
		case !c.ADEDevice() && c.Apple != AppleUnassigned:
			t.Errorf("%s: a manual device assigned in Apple", c)
		}
	}
	sample := s.Sample(60)
	if len(sample) < 60 || !slices.Equal(sample, s.Sample(60)) {
		t.Errorf("sample of %d, or not deterministic", len(sample))
	}
	t.Log(s.Summary())
}

// A few cells read off the vendor page, to keep the rules honest.
func TestExpectReadsLikeThePage(t *testing.T) {
	plain := Combo{Enrollment: ADE, VPP: VPPNone, User: UserAtOnce, CheckIn: CheckInNormal, Apple: AppleOurs, Mode: Automated}
	with := func(f func(*Combo)) Combo { c := plain; f(&c); k, _ := Canonical(c); return k }

	e := Expect(with(func(c *Combo) { c.LostMode = true })) // keep/ade in lost mode
	if e.Outcome != Removed || !slices.Contains(e.Before, [2]string{AppliedDisableLostMode, Told(StepUserRemoveMDMProfile)}) ||
		!slices.Contains(e.Before, [2]string{CmdPurgeDevice, Unassign}) || !slices.Contains(e.Required, Unassign) {
		t.Errorf("keep/ade, lost mode: %+v", e)
	}
	e = Expect(with(func(c *Combo) { c.Enrollment, c.Wipe, c.Method, c.VPP = Manual, true, MethodConsole, VPPStuck }))
	if e.Describe() != "waiting on vendor-support at delete-greyed-out-record" || slices.Contains(e.Allowed, CmdPurgeDevice) ||
		!slices.Contains(e.Before, [2]string{CmdRefreshLicenseCounts, CmdRevokeVPPLicenses}) || slices.Contains(e.Allowed, Unassign) {
		t.Errorf("wipe/manual, VPP stuck: %+v", e)
	}
	e = Expect(with(func(c *Combo) { c.Enrollment, c.GreyedOut = ADERestricted, true }))
	if e.Outcome != Rejected || e.Reason != "greyed-out" {
		t.Errorf("keep/ade-restricted greyed-out: %s", e.Describe())
	}
	e = Expect(with(func(c *Combo) { c.Enrollment, c.GreyedOut, c.Mode = ADERestricted, true, Operator }))
	if e.Outcome != Waiting || e.Party != PartyOperator || !e.NothingChanged {
		t.Errorf("keep/ade-restricted greyed-out, operator: %s", e.Describe())
	}
	if e := Expect(with(func(c *Combo) { c.Apple = AppleOther })); e.Outcome != Rejected || !e.NothingChanged {
		t.Errorf("another server: %s", e.Describe())
	}
	if e := Expect(with(func(c *Combo) { c.Apple = AppleUnassigned })); e.Outcome != Removed || slices.Contains(e.Allowed, Unassign) {
		t.Errorf("unassigned: %+v", e)
	}
	if e := Expect(with(func(c *Combo) { c.Enrollment = Manual })); slices.Contains(e.Allowed, Unassign) {
		t.Errorf("manual: %+v", e)
	}
	if e := Expect(with(func(c *Combo) { c.User, c.CheckIn = UserNever, CheckInNever })); e.Outcome != Waiting || e.Party != PartyOperator ||
		!slices.Equal(e.Required, []string{CmdRemoveProfile}) || slices.Contains(e.Allowed, CmdPurgeDevice) {
		t.Errorf("never comes back: %+v", e)
	}
	if e := Expect(with(func(c *Combo) { c.WorkSmart = true })); e.Describe() != "waiting on vendor-support at delete-greyed-out-record" ||
		!slices.Contains(e.Required, Told(StepUserRemoveMDMProfile)) {
		t.Errorf("Work Smart: %+v", e)
	}
	if e := Expect(with(func(c *Combo) { c.Wipe, c.Method, c.LostMode = true, MethodConsole, true })); e.Outcome != Removed ||
		slices.Contains(e.Required, AppliedDisableLostMode) || !slices.Contains(e.Before, [2]string{CmdEraseDevice, CmdPurgeDevice}) {
		t.Errorf("console wipe in lost mode: %+v", e)
	}
	if e := Expect(with(func(c *Combo) { c.Wipe, c.Method, c.LostMode = true, MethodDevice, true })); e.Outcome != Rejected || e.Reason != "lost mode" {
		t.Errorf("2-1 in lost mode: %s", e.Describe())
	}
}

// The checks catch what the page forbids.
func TestCheckEvents(t *testing.T) {
	e := Expect(Combo{Enrollment: ADE, VPP: VPPNone, User: UserAtOnce, CheckIn: CheckInNormal, Apple: AppleOurs, Mode: Automated, LostMode: true})
	good := []Event{{Name: CmdRemoveProfile, LostMode: true}, {Name: CmdDisableLostMode, LostMode: true}, {Name: AppliedDisableLostMode},
		{Name: Told(StepUserRemoveMDMProfile)}, {Name: GreyedOutEvent}, {Name: CmdPurgeDevice}, {Name: Unassign}}
	if p := e.Verify(Observed{Outcome: Removed, RecordGone: true}, good); len(p) > 0 {
		t.Errorf("a good run fails: %v", p)
	}
	bad := []Event{{Name: CmdRemoveProfile, LostMode: true}, {Name: Told(StepUserRemoveMDMProfile), LostMode: true},
		{Name: Unassign, LostMode: true}, {Name: CmdPurgeDevice, LostMode: true}, {Name: CmdPurgeDevice, LostMode: true}}
	p := strings.Join(e.CheckEvents(bad), "\n")
	for _, want := range []string{"told (user-remove-mdm-profile) while lost mode", "cmd:purge-device while lost mode", "twice: cmd:purge-device",
		"order: unassign before cmd:purge-device", "missing: applied:disable-lost-mode"} {
		if !strings.Contains(p, want) {
			t.Errorf("not caught: %s\n%s", want, p)
		}
	}
	if msg := e.CheckOutcome(Observed{Outcome: Waiting, Party: PartyOperator, Step: StepAwaitGreyedOut}); msg == "" {
		t.Error("a wrong outcome passes")
	}
}
