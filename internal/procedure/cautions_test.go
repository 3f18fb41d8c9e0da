package procedure

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestCautions(t *testing.T) {
	type placed struct {
		name           string
		insert, before StepID
	}
	cases := []struct {
		name string
		req  Request
		want []placed
	}{
		{"keep ade-restricted", Request{Enrollment: ADERestricted}, nil},
		{"keep ade", Request{Enrollment: ADE}, nil},
		{"keep manual", Request{Enrollment: Manual}, nil},
		{"wipe console", Request{Enrollment: ADE, Wipe: true}, nil},
		// 2-1: the restrictions profile may disallow the user's erase.
		{"wipe device ade-restricted", Request{Enrollment: ADERestricted, Wipe: true, WipeMethod: WipeDevice},
			[]placed{{"restrictions-profile", "remove-restrictions-profile", "user-wipe"}}},
		{"wipe device manual", Request{Enrollment: Manual, Wipe: true, WipeMethod: WipeDevice},
			[]placed{{"restrictions-profile", "remove-restrictions-profile", "user-wipe"}}},
		// Lost mode: the user cannot reach Settings, so it goes off before the user's step.
		{"keep ade in lost mode", Request{Enrollment: ADE, LostMode: true},
			[]placed{{"lost-mode", "disable-lost-mode", "user-remove-mdm-profile"}}},
		{"keep manual in lost mode", Request{Enrollment: Manual, LostMode: true},
			[]placed{{"lost-mode", "disable-lost-mode", "user-remove-mdm-profile"}}},
		// No user step on keep/ade-restricted: it goes off before the delete.
		{"keep ade-restricted in lost mode", Request{Enrollment: ADERestricted, LostMode: true},
			[]placed{{"lost-mode", "disable-lost-mode", "delete-managed-record"}}},
		// The erase clears lost mode.
		{"wipe console in lost mode", Request{Enrollment: Manual, Wipe: true, LostMode: true}, nil},
		{"wipe console ade-restricted in lost mode", Request{Enrollment: ADERestricted, Wipe: true, WipeMethod: WipeConsole, LostMode: true}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := Cautions(tc.req)
			if err != nil {
				t.Fatalf("Cautions: %v", err)
			}
			var got []placed
			for _, c := range cs {
				got = append(got, placed{c.Name, c.Insert, c.Before})
				if c.Why == "" {
					t.Errorf("caution %s does not say why", c.Name)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("cautions %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCautionsRefuse(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{"user wipe in lost mode", Request{Enrollment: ADE, Wipe: true, WipeMethod: WipeDevice, LostMode: true}, "lost mode"},
		{"unknown enrollment", Request{Enrollment: "dep"}, "unknown enrollment"},
		{"unknown wipe method", Request{Enrollment: ADE, Wipe: true, WipeMethod: "remote"}, "unknown wipe method"},
	}
	for _, tc := range cases {
		if _, err := Cautions(tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// Plan applies every caution: each inserted step stands right before its step.
func TestPlanAppliesTheCautions(t *testing.T) {
	for _, e := range Enrollments {
		for _, r := range []Request{
			{Enrollment: e}, {Enrollment: e, LostMode: true}, {Enrollment: e, Wipe: true, LostMode: true},
			{Enrollment: e, Wipe: true, WipeMethod: WipeDevice},
		} {
			r.Serial = "ABC123456"
			p, err := Plan(r)
			if err != nil {
				t.Fatal(err)
			}
			cs, _ := Cautions(r)
			for _, c := range cs {
				i := slices.Index(p.Steps, c.Insert)
				if i < 0 || i+1 >= len(p.Steps) || p.Steps[i+1] != c.Before {
					t.Errorf("%s: %s is not right before %s: %v", p.Path, c.Insert, c.Before, p.Steps)
				}
			}
		}
	}
}

func TestLostModeAtDelete(t *testing.T) {
	for _, id := range []StepID{"delete-managed-record", "delete-greyed-out-record"} {
		c, ok := LostModeAtDelete(id, false)
		want := Caution{Name: "lost-mode", Insert: "disable-lost-mode", Before: id}
		if c.Why == "" {
			t.Errorf("%s: no why", id)
		}
		c.Why = ""
		if !ok || c != want {
			t.Errorf("LostModeAtDelete(%s) = %+v %t, want %+v", id, c, ok, want)
		}
		// The erase cleared lost mode: nothing to turn off.
		if _, ok := LostModeAtDelete(id, true); ok {
			t.Errorf("LostModeAtDelete(%s, wiped) asks for disable-lost-mode", id)
		}
	}
	for _, id := range []StepID{"await-greyed-out", "abm-unassign", "remove-profiles"} {
		if _, ok := LostModeAtDelete(id, false); ok {
			t.Errorf("LostModeAtDelete(%s): not a delete", id)
		}
	}
}

func TestResultWith(t *testing.T) {
	plan := Result{Path: "keep/manual", Steps: []StepID{"preflight", "await-greyed-out", "delete-greyed-out-record"}, Warnings: []string{"w"}}
	got := plan.With(ConsoleWipe, AwaitGreyedOut)
	if want := []StepID{"preflight", "console-wipe", "await-greyed-out", "delete-greyed-out-record"}; !slices.Equal(got.Steps, want) {
		t.Errorf("With = %v, want %v", got.Steps, want)
	}
	if len(plan.Steps) != 3 {
		t.Errorf("With changed the original plan: %v", plan.Steps)
	}
	if again := got.With(ConsoleWipe, DeleteGreyedOutRecord); !slices.Equal(again.Steps, got.Steps) {
		t.Errorf("a step already in the plan was inserted again: %v", again.Steps)
	}
	if end := plan.With(ABMUnassign, "no-such-step"); end.Steps[len(end.Steps)-1] != ABMUnassign {
		t.Errorf("a step before a missing one goes at the end: %v", end.Steps)
	}
	if got.Path != plan.Path || !slices.Equal(got.Warnings, plan.Warnings) {
		t.Errorf("With lost the path or the warnings: %+v", got)
	}
}

// In operator mode nobody reads lost mode from the console: the operator checks it, and turns it
// off, before the first step lost mode would stop (procedure.md, "Facts around the page"), on every
// path but the console wipe, whose erase clears it.
func TestLostModeUnknownIsCheckedByThePerson(t *testing.T) {
	cases := []struct {
		enrollment Enrollment
		wipe       bool
		method     WipeMethod
		before     StepID // "" for none
	}{
		{ADE, false, "", UserRemoveMDMProfile},
		{Manual, false, "", UserRemoveMDMProfile},
		{ADERestricted, false, "", DeleteManagedRecord},
		{ADE, true, WipeDevice, UserWipe},
		{Manual, true, WipeConsole, ""},
	}
	for _, c := range cases {
		r := Request{Serial: "F2LXK0A1HG7J", Enrollment: c.enrollment, Wipe: c.wipe, WipeMethod: c.method, LostModeUnknown: true}
		plan, err := Plan(r)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		at := slices.Index(plan.Steps, DisableLostMode)
		switch {
		case c.before == "" && at >= 0:
			t.Errorf("%s: disable-lost-mode on a console wipe: %v", plan.Path, plan.Steps)
		case c.before != "" && (at < 0 || plan.Steps[at+1] != c.before):
			t.Errorf("%s: want disable-lost-mode right before %s: %v", plan.Path, c.before, plan.Steps)
		}
	}
}
