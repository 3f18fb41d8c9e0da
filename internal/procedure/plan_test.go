package procedure

import (
	"slices"
	"strings"
	"testing"
)

// The matrix of the vendor page, one row per cell and wipe method.
func TestPlanMatrix(t *testing.T) {
	P, R, W, U, A, D, DG, DM, X, UM, L := Preflight, RemoveRestrictionsProfile, UserWipe, ABMUnassign, AwaitGreyedOut,
		ConsoleWipe, DeleteGreyedOutRecord, DeleteManagedRecord, RemoveProfiles, UserRemoveMDMProfile, DisableLostMode
	cases := []struct {
		name string
		req  Request
		path string
		want []StepID
	}{
		{"wipe console ade-restricted", Request{Enrollment: ADERestricted, Wipe: true}, "wipe/ade-restricted", []StepID{P, D, A, DG, U}},
		{"wipe console ade", Request{Enrollment: ADE, Wipe: true, WipeMethod: WipeConsole}, "wipe/ade", []StepID{P, D, A, DG, U}},
		{"wipe console manual", Request{Enrollment: Manual, Wipe: true}, "wipe/manual", []StepID{P, D, A, DG}},
		{"wipe device ade-restricted", Request{Enrollment: ADERestricted, Wipe: true, WipeMethod: WipeDevice}, "wipe/ade-restricted", []StepID{P, R, W, A, DG, U}},
		{"wipe device ade", Request{Enrollment: ADE, Wipe: true, WipeMethod: WipeDevice}, "wipe/ade", []StepID{P, R, W, A, DG, U}},
		{"wipe device manual", Request{Enrollment: Manual, Wipe: true, WipeMethod: WipeDevice}, "wipe/manual", []StepID{P, R, W, A, DG}},
		{"keep ade-restricted", Request{Enrollment: ADERestricted}, "keep/ade-restricted", []StepID{P, X, DM, U}},
		{"keep ade", Request{Enrollment: ADE}, "keep/ade", []StepID{P, X, UM, A, DG, U}},
		{"keep manual", Request{Enrollment: Manual}, "keep/manual", []StepID{P, X, UM, A, DG}},
		{"keep ade-restricted in lost mode", Request{Enrollment: ADERestricted, LostMode: true}, "keep/ade-restricted", []StepID{P, X, L, DM, U}},
		{"keep manual in lost mode", Request{Enrollment: Manual, LostMode: true}, "keep/manual", []StepID{P, X, L, UM, A, DG}},
		{"wipe console in lost mode needs no disable", Request{Enrollment: ADE, Wipe: true, LostMode: true}, "wipe/ade", []StepID{P, D, A, DG, U}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Serial = "f2lxk0a1hg7j"
			got, err := Plan(tc.req)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if got.Path != tc.path {
				t.Errorf("path = %q, want %q", got.Path, tc.path)
			}
			if !slices.Equal(got.Steps, tc.want) {
				t.Errorf("steps = %v, want %v", got.Steps, tc.want)
			}
		})
	}
}

func TestPlanWarnings(t *testing.T) {
	has := func(r Result, sub string) bool {
		return slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, sub) })
	}
	keepRestricted, _ := Plan(Request{Serial: "ABC123456", Enrollment: ADERestricted})
	if !has(keepRestricted, "STAYS on the device") {
		t.Errorf("keep/ade-restricted must say the MDM profile stays: %v", keepRestricted.Warnings)
	}
	keepADE, _ := Plan(Request{Serial: "ABC123456", Enrollment: ADE})
	if !has(keepADE, "MDM構成プロファイル削除時に強制アンインストールする") || has(keepADE, "STAYS") {
		t.Errorf("keep/ade must warn of Managed Apps, not of a staying profile: %v", keepADE.Warnings)
	}
	if !has(keepADE, "personal") && !has(keepADE, "own Apple Account") {
		t.Errorf("keep paths must say VPP apps need reinstalling from the user's Apple Account: %v", keepADE.Warnings)
	}
	wipe, _ := Plan(Request{Serial: "ABC123456", Enrollment: Manual, Wipe: true})
	if has(wipe, "own Apple Account") {
		t.Errorf("a wipe path erases the apps anyway: no reinstall warning expected: %v", wipe.Warnings)
	}
	if !has(wipe, "license becomes reusable") || !has(wipe, "nothing to unassign") {
		t.Errorf("license freed / not ADE warnings missing: %v", wipe.Warnings)
	}
	ws, _ := Plan(Request{Serial: "ABC123456", Enrollment: ADE, Wipe: true, WorkSmart: true})
	if !has(ws, "CLOMO サポートセンター") {
		t.Errorf("Work Smart must point at vendor support: %v", ws.Warnings)
	}
}

func TestPlanRejectsContradictions(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{"unknown enrollment", Request{Enrollment: "dep"}, "unknown enrollment"},
		{"return to service", Request{Enrollment: ADE, Wipe: true, ReturnToService: true}, "Return to Service"},
		{"wipe method without wipe", Request{Enrollment: ADE, WipeMethod: WipeDevice}, "not to be wiped"},
		{"unknown wipe method", Request{Enrollment: ADE, Wipe: true, WipeMethod: "remote"}, "unknown wipe method"},
		{"eSIM on device wipe", Request{Enrollment: ADE, Wipe: true, WipeMethod: WipeDevice, RemoveESIM: true}, "eSIM"},
		{"auto-installed apps off 4-1", Request{Enrollment: ADE, RemoveAutoInstalledApps: true}, "4-1"},
		{"device wipe in lost mode", Request{Enrollment: Manual, Wipe: true, WipeMethod: WipeDevice, LostMode: true}, "lost mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Serial = "ABC123456"
			_, err := Plan(tc.req)
			if err == nil {
				t.Fatal("Plan accepted a contradiction")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ABC123456") {
				t.Errorf("error %q should name the device and say %q", err, tc.want)
			}
		})
	}
	if _, err := Plan(Request{Serial: "", Enrollment: ADE}); err == nil || !strings.Contains(err.Error(), "missing serial") {
		t.Errorf("empty serial: %v", err)
	}
	if _, err := Plan(Request{Serial: "AB-12 34", Enrollment: ADE}); err == nil {
		t.Error("a serial with punctuation was accepted")
	}
}

func TestEveryPlannedStepIsDescribed(t *testing.T) {
	for _, e := range Enrollments {
		for _, wipe := range []bool{false, true} {
			r, err := Plan(Request{Serial: "ABC123456", Enrollment: e, Wipe: wipe})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range r.Steps {
				if _, ok := Describe(id); !ok {
					t.Errorf("step %s of %s has no description", id, r.Path)
				}
			}
		}
	}
	if len(AllSteps()) != len(steps) {
		t.Errorf("AllSteps lists %d steps, the table has %d", len(AllSteps()), len(steps))
	}
}

func TestCheckFacts(t *testing.T) {
	base := Facts{ConsoleRead: true, Status: "managed", ADE: true, MDMProfileRemovable: true, AppleRead: true, AppleAssigned: true,
		AppleServerID: "S1", OurAppleServer: "S1"}
	req := Request{Serial: "ABC123456", Enrollment: ADE}
	if _, err := CheckFacts(req, base); err != nil {
		t.Fatalf("matching facts refused: %v", err)
	}
	mismatch := []struct {
		name  string
		req   Request
		facts func(Facts) Facts
		want  string
	}{
		{"manual but ADE", Request{Serial: "ABC123456", Enrollment: Manual}, func(f Facts) Facts { return f }, "enrolled through ADE"},
		{"ade but not ADE", req, func(f Facts) Facts { f.ADE = false; return f }, "not enrolled through ADE"},
		{"ade but restricted", req, func(f Facts) Facts { f.MDMProfileRemovable = false; return f }, "ade-restricted"},
		{"restricted but removable", Request{Serial: "ABC123456", Enrollment: ADERestricted}, func(f Facts) Facts { return f }, "--enrollment ade"},
		{"another MDM server", req, func(f Facts) Facts { f.AppleServerID = "OTHER"; return f }, "OTHER"},
	}
	for _, tc := range mismatch {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckFacts(tc.req, tc.facts(base))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was changed") {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	lost := base
	lost.LostMode = true
	fit, err := CheckFacts(req, lost)
	if err != nil || !fit.Plan.Has(DisableLostMode) {
		t.Errorf("lost mode must add disable-lost-mode: %v %v", fit.Plan.Steps, err)
	}
	grey := base
	grey.Status = "greyed-out"
	grey.AppleAssigned = false
	fit, err = CheckFacts(req, grey)
	if err != nil || !fit.AlreadyGreyedOut || !fit.AlreadyUnassigned {
		t.Errorf("greyed-out and unassigned facts not carried: %+v %v", fit, err)
	}
	// Operator mode reads no console: nothing to compare, the request stands.
	if _, err := CheckFacts(Request{Serial: "ABC123456", Enrollment: Manual}, Facts{}); err != nil {
		t.Errorf("no facts read must not refuse: %v", err)
	}
}
