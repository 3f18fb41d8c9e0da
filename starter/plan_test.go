package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/procedure"
)

func planText(t *testing.T, args ...string) string {
	t.Helper()
	c, out, _ := testCLI("")
	if err := c.run(context.Background(), append([]string{"plan", "--serial", "f2lxk0a1hg7j"}, args...)); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// The human plan prints the branches of the vendor page after the steps (procedure.md §4-2, §4).
func TestPlanPrintsTheBranches(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{"keep/manual", []string{"--enrollment", "manual", "--no-wipe"}, []string{
			"Branches:",
			"If delete-greyed-out-record answers certificates-remain: remove-certificates, then retry; if it answers it again: CLOMO support (vendor-support)",
			"If delete-greyed-out-record answers vpp-license-remains: refresh-license-counts, revoke-vpp-licenses, then retry; if it answers it again: CLOMO support (vendor-support)",
			"If delete-greyed-out-record answers work-smart: CLOMO support (vendor-support)",
			"If the console finds lost mode (紛失モード) on at delete-greyed-out-record: disable-lost-mode, then retry",
			"If the device shows nothing for 14 days at await-greyed-out, an operator chooses: keep-waiting, console-wipe, delete-anyway, or cancel",
			"keep-waiting: wait another 14 days",
			"console-wipe: erase it from the console (デバイスを初期化)",
			"delete-anyway: delete the managed record now",
		}, []string{
			"at remove-profiles", // the user's removal of the MDM profile removes them anyway: no wait
		}},
		{"keep/ade-restricted in the CLI", []string{"--enrollment", "ade-restricted", "--no-wipe"}, []string{
			"If delete-managed-record answers work-smart: CLOMO support (vendor-support)",
			"If the device shows nothing for 14 days at remove-profiles, an operator chooses: keep-waiting, continue, or cancel",
			"continue: go on without the device's acknowledgement",
			"If the console finds lost mode (紛失モード) on at delete-managed-record: disable-lost-mode, then retry",
		}, []string{
			"delete-managed-record answers certificates-remain", "at await-greyed-out",
		}},
		{"wipe/ade console", []string{"--enrollment", "ade", "--wipe"}, []string{
			"If delete-greyed-out-record answers certificates-remain",
			// The plan erases from the console already: not offered again.
			"If the device shows nothing for 14 days at await-greyed-out, an operator chooses: keep-waiting, delete-anyway, or cancel",
		}, []string{
			"finds lost mode", // the erase clears lost mode
			"console-wipe:",
		}},
		{"wipe/manual by the user", []string{"--enrollment", "manual", "--wipe", "--wipe-method", "device"}, []string{
			"If the device shows nothing for 14 days at remove-restrictions-profile, an operator chooses: keep-waiting, continue, or cancel",
			"If the device shows nothing for 14 days at await-greyed-out, an operator chooses: keep-waiting, console-wipe, delete-anyway, or cancel",
		}, []string{"finds lost mode"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := planText(t, tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("the plan lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(text, w) {
					t.Errorf("the plan has %q:\n%s", w, text)
				}
			}
			steps, branches, warnings := strings.Index(text, "Steps:"), strings.Index(text, "Branches:"), strings.Index(text, "Warnings:")
			if !(steps >= 0 && steps < branches && branches < warnings) {
				t.Errorf("the branches are not between the steps and the warnings:\n%s", text)
			}
		})
	}
}

// In lost mode (found by pre-flight) the wait on disable-lost-mode offers no way past it: never
// delete while lost mode may still be on.
func TestPlanLostModeWaitOnlyWaits(t *testing.T) {
	for _, e := range []procedure.Enrollment{procedure.ADERestricted, procedure.Manual} {
		plan, err := procedure.Plan(procedure.Request{Serial: "ABC123456", Enrollment: e, LostMode: true})
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		printPlanFor(&out, "ABC123456", plan, 48*time.Hour)
		if want := "If the device shows nothing for 2 days at disable-lost-mode, an operator chooses: keep-waiting, or cancel"; !strings.Contains(out.String(), want) {
			t.Errorf("%s: the plan lacks %q:\n%s", plan.Path, want, out.String())
		}
	}
}

// The --json output stays the contract's three fields, whatever the branches.
func TestPlanJSONHasNoBranches(t *testing.T) {
	for _, args := range [][]string{
		{"--enrollment", "manual", "--no-wipe", "--json"},
		{"--enrollment", "ade", "--wipe", "--wipe-method", "device", "--json"},
	} {
		text := planText(t, args...)
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &fields); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, text)
		}
		if len(fields) != 3 || fields["path"] == nil || fields["steps"] == nil || fields["warnings"] == nil {
			t.Errorf("%v: fields %v, want path, steps, warnings", args, fields)
		}
		if strings.Contains(text, "Branches") || strings.Count(text, "\n") != 1 {
			t.Errorf("%v: more than the plan JSON on stdout:\n%s", args, text)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{14 * 24 * time.Hour: "14 days", 24 * time.Hour: "1 day", 90 * time.Minute: "1h30m0s"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
