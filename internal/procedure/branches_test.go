package procedure

import (
	"reflect"
	"strings"
	"testing"
)

// The choice strings are in running workflows' histories and in the docs.
func TestChoiceStrings(t *testing.T) {
	got := []string{ChoiceKeepWaiting, ChoiceConsoleWipe, ChoiceDeleteAnyway, ChoiceContinue, ChoiceRetry}
	want := []string{"keep-waiting", "console-wipe", "delete-anyway", "continue", "retry"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("choices %q, want %q", got, want)
	}
	outcomes := []string{OutcomeDone, OutcomeCertificatesRemain, OutcomeVPPLicenseRemains, OutcomeWorkSmart}
	if want := []string{"done", "certificates-remain", "vpp-license-remains", "work-smart"}; !reflect.DeepEqual(outcomes, want) {
		t.Errorf("outcomes %q, want %q (contract.md)", outcomes, want)
	}
}

func TestOutcomes(t *testing.T) {
	cases := []struct {
		step StepID
		want []string
	}{
		// §4-1 names no error branch but Work Smart.
		{"delete-managed-record", []string{"done", "work-smart"}},
		// §4-2: certificates remain, VPP license still assigned; §4 cautions: Work Smart.
		{"delete-greyed-out-record", []string{"done", "certificates-remain", "vpp-license-remains", "work-smart"}},
		{"preflight", []string{"done"}},
		{"remove-restrictions-profile", []string{"done"}},
		{"user-wipe", []string{"done"}},
		{"console-wipe", []string{"done"}},
		{"remove-profiles", []string{"done"}},
		{"user-remove-mdm-profile", []string{"done"}},
		{"await-greyed-out", []string{"done"}},
		{"disable-lost-mode", []string{"done"}},
		{"remove-certificates", []string{"done"}},
		{"refresh-license-counts", []string{"done"}},
		{"revoke-vpp-licenses", []string{"done"}},
		{"abm-unassign", []string{"done"}},
		{"no-such-step", nil},
	}
	for _, tc := range cases {
		if got := Outcomes(tc.step); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Outcomes(%s) = %q, want %q", tc.step, got, tc.want)
		}
	}
	// Every known step is in the table above.
	if len(cases)-1 != len(AllSteps()) {
		t.Errorf("%d steps tested, %d known", len(cases)-1, len(AllSteps()))
	}
	// The instruction lists the same outcomes, done aside.
	for _, id := range []StepID{DeleteManagedRecord, DeleteGreyedOutRecord} {
		in, _ := InstructionFor(id, InstructionOptions{Serial: "ABC123456"})
		if !reflect.DeepEqual(in.Outcomes, Outcomes(id)[1:]) {
			t.Errorf("%s: the instruction offers %q, Outcomes says %q", id, in.Outcomes, Outcomes(id))
		}
	}
}

func TestBranch(t *testing.T) {
	const (
		DG = DeleteGreyedOutRecord
		DM = DeleteManagedRecord
	)
	cases := []struct {
		name    string
		step    StepID
		outcome string
		earlier []string
		want    Branching // with the exact Why of a hand-over
		why     string    // a part of the Why of a retry, checked apart
	}{
		{"4-2 done", DG, "done", nil, Branching{}, ""},
		{"4-1 done", DM, "done", nil, Branching{}, ""},
		{"done after a retry", DG, "done", []string{"certificates-remain"}, Branching{}, ""},
		{"another step done", AwaitGreyedOut, "done", nil, Branching{}, ""},
		{"certificates remain: remove them, retry", DG, "certificates-remain", nil,
			Branching{Run: []StepID{"remove-certificates"}, Retry: true}, "certificates"},
		{"certificates remain again: vendor support", DG, "certificates-remain", []string{"certificates-remain"},
			Branching{Party: "vendor-support", Why: "the certificates still remain after they were removed"}, ""},
		{"certificates after a VPP retry: still the first time", DG, "certificates-remain", []string{"vpp-license-remains"},
			Branching{Run: []StepID{"remove-certificates"}, Retry: true}, "certificates"},
		{"VPP license remains: refresh counts, revoke, retry", DG, "vpp-license-remains", nil,
			Branching{Run: []StepID{"refresh-license-counts", "revoke-vpp-licenses"}, Retry: true}, "VPP"},
		{"VPP license remains again: vendor support", DG, "vpp-license-remains", []string{"certificates-remain", "vpp-license-remains"},
			Branching{Party: "vendor-support", Why: "a VPP license still remains after the licenses were revoked"}, ""},
		{"Work Smart at 4-2: vendor support at once", DG, "work-smart", nil,
			Branching{Party: "vendor-support", Why: "the device is under a Work Smart configuration (ワーク・スマート構成), which CLOMO PANEL cannot delete"}, ""},
		{"Work Smart at 4-1: vendor support at once", DM, "work-smart", nil,
			Branching{Party: "vendor-support", Why: "the device is under a Work Smart configuration (ワーク・スマート構成), which CLOMO PANEL cannot delete"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Branch(tc.step, tc.outcome, tc.earlier)
			if err != nil {
				t.Fatalf("Branch: %v", err)
			}
			if tc.why != "" {
				if !strings.Contains(got.Why, tc.why) {
					t.Errorf("why %q does not say %q", got.Why, tc.why)
				}
				got.Why = ""
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Branch(%s, %s, %q) = %+v, want %+v", tc.step, tc.outcome, tc.earlier, got, tc.want)
			}
		})
	}
}

// Every branch that runs steps says why; a branch never both hands the step over and retries.
func TestBranchesAreOneOrTheOther(t *testing.T) {
	for _, id := range AllSteps() {
		for _, o := range Outcomes(id) {
			for _, earlier := range [][]string{nil, {o}} {
				b, err := Branch(id, o, earlier)
				if err != nil {
					t.Errorf("Branch(%s, %s): %v", id, o, err)
					continue
				}
				if b.Party != "" && (b.Retry || len(b.Run) > 0) {
					t.Errorf("Branch(%s, %s, %q) hands over and goes on: %+v", id, o, earlier, b)
				}
				if o != OutcomeDone && b.Why == "" {
					t.Errorf("Branch(%s, %s, %q) does not say why", id, o, earlier)
				}
				for _, s := range b.Run {
					if _, ok := Describe(s); !ok {
						t.Errorf("Branch(%s, %s) runs unknown step %s", id, o, s)
					}
				}
			}
		}
	}
}

func TestBranchRefusesOutcomesTheStepCannotAnswer(t *testing.T) {
	cases := []struct {
		step    StepID
		outcome string
		want    string
	}{
		// The vendor page gives these errors for 4-2 only.
		{DeleteManagedRecord, "certificates-remain", "done, work-smart"},
		{DeleteManagedRecord, "vpp-license-remains", "done, work-smart"},
		{AwaitGreyedOut, "work-smart", "done"},
		{DeleteGreyedOutRecord, "", "done, certificates-remain, vpp-license-remains, work-smart"},
		{DeleteGreyedOutRecord, "keep-waiting", "done, certificates-remain"},
		{"no-such-step", "done", "unknown step"},
	}
	for _, tc := range cases {
		_, err := Branch(tc.step, tc.outcome, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Branch(%s, %q) = %v, want an error saying %q", tc.step, tc.outcome, err, tc.want)
		}
	}
}

func TestWaitsOnDevice(t *testing.T) {
	keepRestricted := Result{Steps: []StepID{"preflight", "remove-profiles", "delete-managed-record", "abm-unassign"}}
	keepManual := Result{Steps: []StepID{"preflight", "remove-profiles", "user-remove-mdm-profile", "await-greyed-out", "delete-greyed-out-record"}}
	cases := []struct {
		step StepID
		plan Result
		want bool
	}{
		{"await-greyed-out", keepManual, true},
		{"remove-restrictions-profile", Result{}, true},
		{"disable-lost-mode", keepRestricted, true},
		// Before a managed delete the profiles must be gone; otherwise the user's removal of the
		// MDM profile removes them anyway.
		{"remove-profiles", keepRestricted, true},
		{"remove-profiles", keepManual, false},
		{"console-wipe", Result{}, false}, // its effect is awaited at await-greyed-out
		{"user-remove-mdm-profile", keepManual, false},
		{"delete-greyed-out-record", keepManual, false},
		{"abm-unassign", keepRestricted, false},
	}
	for _, tc := range cases {
		if got := WaitsOnDevice(tc.step, tc.plan); got != tc.want {
			t.Errorf("WaitsOnDevice(%s, %v) = %t, want %t", tc.step, tc.plan.Steps, got, tc.want)
		}
	}
}

func TestEscalations(t *testing.T) {
	userWipe := Result{Steps: []StepID{"preflight", "remove-restrictions-profile", "user-wipe", "await-greyed-out", "delete-greyed-out-record"}}
	consoleWipe := Result{Steps: []StepID{"preflight", "console-wipe", "await-greyed-out", "delete-greyed-out-record"}}
	keepManual := Result{Steps: []StepID{"preflight", "remove-profiles", "user-remove-mdm-profile", "await-greyed-out", "delete-greyed-out-record"}}
	cases := []struct {
		name string
		step StepID
		plan Result
		want []string
	}{
		{"greyed-out on a keep path", "await-greyed-out", keepManual, []string{"keep-waiting", "console-wipe", "delete-anyway"}},
		{"greyed-out after the user's wipe", "await-greyed-out", userWipe, []string{"keep-waiting", "console-wipe", "delete-anyway"}},
		{"greyed-out after a console wipe", "await-greyed-out", consoleWipe, []string{"keep-waiting", "delete-anyway"}},
		{"greyed-out after a console wipe was inserted", "await-greyed-out", keepManual.With(ConsoleWipe, AwaitGreyedOut),
			[]string{"keep-waiting", "delete-anyway"}},
		{"restrictions profile acknowledged", "remove-restrictions-profile", userWipe, []string{"keep-waiting", "continue"}},
		{"profiles acknowledged", "remove-profiles", keepManual, []string{"keep-waiting", "continue"}},
		// Never delete while lost mode may still be on.
		{"lost mode off acknowledged", "disable-lost-mode", keepManual, []string{"keep-waiting"}},
		{"no wait", "delete-greyed-out-record", keepManual, nil},
		{"no wait at the user's step", "user-wipe", userWipe, nil},
	}
	for _, tc := range cases {
		if got := Escalations(tc.step, tc.plan); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Escalations(%s) = %q, want %q", tc.name, tc.step, got, tc.want)
		}
	}
	// Every wait of every plan has escalations, keep-waiting first, each with a meaning.
	for _, r := range allPlans(t) {
		for _, id := range r.Steps {
			if !WaitsOnDevice(id, r) {
				continue
			}
			esc := Escalations(id, r)
			if len(esc) == 0 || esc[0] != ChoiceKeepWaiting {
				t.Errorf("%s: wait %s escalates to %q", r.Path, id, esc)
			}
			for _, c := range esc {
				if ChoiceMeaning(c) == "" {
					t.Errorf("choice %s has no meaning", c)
				}
			}
		}
	}
}

func TestChoiceMeaning(t *testing.T) {
	// The workflow's texts, byte for byte.
	cases := map[string]string{
		"console-wipe": "erase it from the console (デバイスを初期化)",
		"delete-anyway": "delete the managed record now: the device keeps its MDM profile and restrictions until it is wiped; " +
			"needs the typed confirmation \"YES\" (--confirm YES)",
		"continue": "go on without the device's acknowledgement",
	}
	for c, want := range cases {
		if got := ChoiceMeaning(c); got != want {
			t.Errorf("ChoiceMeaning(%s) = %q, want %q", c, got, want)
		}
	}
	for _, c := range []string{"keep-waiting", "retry"} {
		if ChoiceMeaning(c) == "" {
			t.Errorf("%s has no meaning", c)
		}
	}
	if ChoiceMeaning("explode") != "" {
		t.Error("an unknown choice has a meaning")
	}
}

// allPlans plans every cell of the matrix, with and without lost mode, each wipe method.
func allPlans(t *testing.T) []Result {
	t.Helper()
	var out []Result
	for _, e := range Enrollments {
		for _, r := range []Request{
			{Enrollment: e}, {Enrollment: e, LostMode: true},
			{Enrollment: e, Wipe: true}, {Enrollment: e, Wipe: true, LostMode: true},
			{Enrollment: e, Wipe: true, WipeMethod: WipeDevice},
		} {
			r.Serial = "ABC123456"
			p, err := Plan(r)
			if err != nil {
				t.Fatalf("Plan(%+v): %v", r, err)
			}
			out = append(out, p)
		}
	}
	return out
}
