package procedure

import (
	"reflect"
	"strings"
	"testing"
)

var groupSerials = []string{"C39XK0ABCD12", "C39XK0ABCD13", "C39XK0ABCD14"}

// Only the two deletes of §4 are multi-select steps on the vendor page.
func TestGroupable(t *testing.T) {
	for _, id := range AllSteps() {
		want := id == DeleteManagedRecord || id == DeleteGreyedOutRecord
		if Groupable(id) != want {
			t.Errorf("Groupable(%s) = %t, want %t", id, !want, want)
		}
		if _, ok := GroupInstructionFor(id, groupSerials, InstructionOptions{}); ok != want {
			t.Errorf("GroupInstructionFor(%s) ok = %t, want %t", id, ok, want)
		}
	}
	if _, ok := GroupInstructionFor(DeleteGreyedOutRecord, nil, InstructionOptions{}); ok {
		t.Errorf("a group instruction for no device")
	}
}

// The multi-select paths, as the vendor page numbers them: 4-1 selects many and goes on as for
// one; 4-2 replaces its step 3 by the note for several devices (コマンドを選択してください → デバイスを削除).
func TestGroupPathsFollowTheVendorPage(t *testing.T) {
	cases := map[StepID][]string{
		DeleteManagedRecord: {"Devices", "管理下から外したいデバイスを選択", "複数選択や一括選択も可能です", "コマンドを選択してください", "デバイスを削除",
			"自動インストールしたアプリを削除する", "実行", "OK", "「YES」と入力", "デバイスを削除", "OK"},
		DeleteGreyedOutRecord: {"Devices", "削除したい iOS デバイスを選択", "複数選択や一括選択も可能です", "コマンドを選択してください", "デバイスを削除",
			"OK", "「YES」と入力", "デバイスを削除", "OK"},
	}
	for id, want := range cases {
		in, _ := GroupInstructionFor(id, groupSerials, InstructionOptions{})
		var got []string
		for _, l := range in.Steps {
			got = append(got, l.JA)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: group path\n got %q\nwant %q", id, got, want)
		}
		if in.Serial != "" || !reflect.DeepEqual(in.Serials, groupSerials) || in.Confirm != ConfirmYES {
			t.Errorf("%s: serial %q, serials %q, confirm %q", id, in.Serial, in.Serials, in.Confirm)
		}
		for _, text := range []string{in.Text("both"), in.Text("ja"), in.Text("en"), in.Markdown()} {
			for _, s := range groupSerials {
				if !strings.Contains(text, s) {
					t.Errorf("%s: the text lacks device %s:\n%s", id, s, text)
				}
			}
		}
		if en := in.Text("en"); !strings.Contains(en, "Devices (3)") || !strings.Contains(en, "once for all of them") {
			t.Errorf("%s: the text does not say it is one report for three devices:\n%s", id, en)
		}
	}
	grey, _ := GroupInstructionFor(DeleteGreyedOutRecord, groupSerials, InstructionOptions{})
	if !hasLabel(grey.Caution, "複数選択時は、[ コマンドを選択してください ] から [ デバイスを削除 ] をクリックします。") {
		t.Errorf("4-2 for many devices lacks the vendor's note on multi-select")
	}
	if !reflect.DeepEqual(grey.Outcomes, []string{OutcomeCertificatesRemain, OutcomeVPPLicenseRemains, OutcomeWorkSmart}) {
		t.Errorf("4-2 group outcomes %q", grey.Outcomes)
	}
	on, _ := GroupInstructionFor(DeleteManagedRecord, groupSerials, InstructionOptions{RemoveAutoInstalledApps: true})
	if !strings.Contains(on.Text("ja"), "［自動インストールしたアプリを削除する］にチェックを入れる") {
		t.Errorf("4-1 for many devices ignores the option:\n%s", on.Text("ja"))
	}
}

// Every Japanese label of the group instructions is on the vendor page, verbatim.
func TestGroupLabelsQuoteTheVendorPage(t *testing.T) {
	page := vendorPage(t)
	for _, id := range GroupableSteps() {
		in, _ := GroupInstructionFor(id, groupSerials, InstructionOptions{})
		for _, l := range in.labels() {
			if l.JA != "" && !l.NotOnVendorPage && !strings.Contains(page, l.JA) {
				t.Errorf("%s (many devices): label %q is not on the vendor page verbatim", id, l.JA)
			}
		}
	}
}
