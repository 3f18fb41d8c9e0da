package procedure

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

const seedName = "000_a702d2cd4a5daa51.txt"

// vendorPage returns the vendor page's text, or skips the test without it: shared/seed lives
// beside the clone in this project's CI only, not in a user's clone.
func vendorPage(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	page, found, err := findVendorPage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Skip("vendor page not found (../shared/seed is only in this project's CI): skipping the check of instruction labels against it")
	}
	return page
}

// findVendorPage walks up from dir to a directory that holds shared/seed/*.txt and returns the
// page (or, without the seed's own name, every page there).
func findVendorPage(dir string) (page string, found bool, _ error) {
	for {
		seed := filepath.Join(dir, "shared", "seed")
		if b, err := os.ReadFile(filepath.Join(seed, seedName)); err == nil {
			return string(b), true, nil
		}
		if matches, _ := filepath.Glob(filepath.Join(seed, "*.txt")); len(matches) > 0 {
			var all strings.Builder
			for _, m := range matches {
				b, err := os.ReadFile(m)
				if err != nil {
					return "", false, err
				}
				all.Write(b)
				all.WriteString("\n")
			}
			return all.String(), true, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false, nil
		}
		dir = parent
	}
}

func TestFindVendorPage(t *testing.T) {
	// A clone without shared/ beside it: not found, no error (the checks skip).
	if _, found, err := findVendorPage(t.TempDir()); found || err != nil {
		t.Errorf("findVendorPage in an empty tree = %t, %v", found, err)
	}
	root := t.TempDir()
	seed := filepath.Join(root, "shared", "seed")
	deep := filepath.Join(root, "main", "internal", "procedure")
	for _, d := range []string{seed, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(seed, "other.txt"), []byte("ページ"), 0o644); err != nil {
		t.Fatal(err)
	}
	if page, found, err := findVendorPage(deep); !found || err != nil || !strings.Contains(page, "ページ") {
		t.Errorf("findVendorPage above the working directory = %q, %t, %v", page, found, err)
	}
}

var allOptions = []InstructionOptions{
	{Serial: "C39XK0ABCD12"},
	{Serial: "C39XK0ABCD12", RemoveESIM: true, RemoveAutoInstalledApps: true, ProfileName: "Restrictions-2024"},
}

// personSteps are the steps a person performs, by the kinds of steps.go.
func personSteps(t *testing.T) []StepID {
	t.Helper()
	var out []StepID
	for _, id := range AllSteps() {
		d, ok := Describe(id)
		if !ok {
			t.Fatalf("step %s has no description", id)
		}
		switch d.Kind {
		case KindConsole, KindUser, KindApple:
			out = append(out, id)
		}
	}
	return out
}

func mustInstruction(t *testing.T, id StepID, opts InstructionOptions) Instruction {
	t.Helper()
	in, ok := InstructionFor(id, opts)
	if !ok {
		t.Fatalf("no instruction for %s", id)
	}
	return in
}

func TestEveryLabelHasBothLanguages(t *testing.T) {
	for _, id := range personSteps(t) {
		for _, opts := range allOptions {
			for _, l := range mustInstruction(t, id, opts).labels() {
				if l.JA == "" {
					t.Errorf("%s: label %q has no Japanese text", id, l.EN)
				}
				if l.EN == "" {
					t.Errorf("%s: label %q has no English gloss", id, l.JA)
				}
			}
		}
	}
}

func TestLabelsQuoteTheVendorPage(t *testing.T) {
	page := vendorPage(t)
	checked := 0
	for _, id := range personSteps(t) {
		for _, opts := range allOptions {
			in := mustInstruction(t, id, opts)
			for _, l := range in.labels() {
				if l.JA == "" || l.NotOnVendorPage {
					continue
				}
				checked++
				if !strings.Contains(page, l.JA) {
					t.Errorf("%s: label %q is not on the vendor page verbatim: fix it, or mark it NotOnVendorPage", id, l.JA)
				}
			}
		}
	}
	for _, o := range []string{OutcomeCertificatesRemain, OutcomeVPPLicenseRemains, OutcomeWorkSmart} {
		l, ok := OutcomeLabel(o)
		if !ok || !strings.Contains(page, l.JA) {
			t.Errorf("outcome %s: label %q is not on the vendor page verbatim", o, l.JA)
		}
	}
	if checked < 50 {
		t.Errorf("only %d labels checked against the vendor page", checked)
	}
}

func TestOffPageLabelsAreMarked(t *testing.T) {
	// The Settings path of the user's wipe and the console path that turns lost mode off are not
	// on the vendor page: they must be marked, and the labels the page lacks must really be absent.
	for _, id := range []StepID{UserWipe, DisableLostMode} {
		in := mustInstruction(t, id, allOptions[0])
		for _, l := range in.Steps {
			if !l.NotOnVendorPage {
				t.Errorf("%s: step label %q is not marked NotOnVendorPage", id, l.JA)
			}
		}
		if !strings.Contains(in.Text("both"), words["en"]["offpage"]) {
			t.Errorf("%s: the text does not say its labels are not from the vendor page", id)
		}
	}
	wipe := mustInstruction(t, UserWipe, allOptions[0])
	if !hasLabel(wipe.Caution, "\"すべてのコンテンツと設定を消去\"を許可(監視対象のみ)") {
		t.Errorf("user-wipe lacks the vendor's note on a refused erase")
	}
	lost := mustInstruction(t, DisableLostMode, allOptions[0])
	if !hasLabel(lost.Caution, "紛失モード設定中にデバイス情報を削除すると、紛失モードを解除できなくなります") {
		t.Errorf("disable-lost-mode lacks the vendor's lost mode caution")
	}
	if strings.Contains(mustInstruction(t, ConsoleWipe, allOptions[0]).Text("both"), words["en"]["offpage"]) {
		t.Errorf("console-wipe says its labels are not from the vendor page")
	}
}

// The labels marked NotOnVendorPage for the Settings path of the wipe really are not on it.
func TestOffPageLabelsAreNotOnTheVendorPage(t *testing.T) {
	page := vendorPage(t)
	if strings.Contains(page, "転送またはiPhoneをリセット") {
		t.Errorf("the vendor page gives the Settings path of the wipe: quote it as such")
	}
}

func hasLabel(ls []Label, ja string) bool {
	for _, l := range ls {
		if strings.Contains(l.JA, ja) {
			return true
		}
	}
	return false
}

func TestEveryPersonStepHasAnInstruction(t *testing.T) {
	person := map[StepID]bool{}
	for _, id := range personSteps(t) {
		person[id] = true
	}
	if len(person) != 12 {
		t.Errorf("expected 12 steps a person performs, got %d", len(person))
	}
	for _, id := range AllSteps() {
		in, ok := InstructionFor(id, allOptions[0])
		if !person[id] {
			if ok {
				t.Errorf("%s: no person performs it, but it has an instruction", id)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: a person performs it, but it has no instruction", id)
			continue
		}
		d, _ := Describe(id)
		want := map[Kind][2]string{
			KindConsole: {AudienceOperator, WhereConsole},
			KindUser:    {AudienceUser, WhereDevice},
			KindApple:   {AudienceOperator, WhereApple},
		}[d.Kind]
		if in.Step != id || in.Audience != want[0] || in.Where != want[1] || in.Section != d.Section {
			t.Errorf("%s: step %s, audience %q, where %q, section %q; want audience %q, where %q, section %q",
				id, in.Step, in.Audience, in.Where, in.Section, want[0], want[1], d.Section)
		}
		if len(in.Steps) == 0 || in.Title.JA == "" || in.Expect.JA == "" {
			t.Errorf("%s: missing steps, title or expectation", id)
		}
		if in.Serial != allOptions[0].Serial || !strings.Contains(in.Text("en"), in.Serial) || !strings.Contains(in.Markdown(), in.Serial) {
			t.Errorf("%s: the serial is missing", id)
		}
	}
	for _, id := range []StepID{Preflight, AwaitGreyedOut, "no-such-step"} {
		if _, ok := InstructionFor(id, allOptions[0]); ok {
			t.Errorf("%s has an instruction", id)
		}
	}
}

func TestPathsFollowTheVendorPage(t *testing.T) {
	path := func(id StepID, opts InstructionOptions) []string {
		var out []string
		for _, l := range mustInstruction(t, id, opts).Steps {
			out = append(out, l.JA)
		}
		return out
	}
	cases := map[StepID][]string{
		RemoveRestrictionsProfile: {"Devices", "該当のデバイスを選択", "コマンドを選択してください", "構成プロファイルを削除", "選択してください", "構成プロファイル(制限設定プロファイル)", "実行"},
		ConsoleWipe: {"Devices", "初期化したい iOS デバイスを選択", "コマンドを選択してください", "デバイスを初期化", "次へ", "eSIMを削除",
			"MDMへの再登録(Return to Service)", "OK", "「YES」と入力", "デバイスを初期化", "OK"},
		UserRemoveMDMProfile:  {"設定", "一般", "VPN とデバイス管理", "CLOMO - MDM", "削除", "デバイスにパスコードを設定している場合は、パスコードの入力を求められます", "削除"},
		DeleteManagedRecord:   {"Devices", "管理下から外したいデバイスを選択", "コマンドを選択してください", "デバイスを削除", "自動インストールしたアプリを削除する", "実行", "OK", "「YES」と入力", "デバイスを削除", "OK"},
		DeleteGreyedOutRecord: {"Devices", "削除したい iOS デバイスを選択", "デバイスの情報を完全に削除", "OK", "「YES」と入力", "デバイスを削除", "OK"},
		ABMUnassign:           {"ABM にログイン", "デバイス", "解除したいデバイスを選択", "MDM サーバを編集", "現在のMDMから割り当てを解除", "続ける", "確認"},
		UserWipe:              {"設定", "一般", "転送またはiPhoneをリセット", "すべてのコンテンツと設定を消去", "画面の案内に従ってパスコードを入力し、消去を確定する"},
	}
	for id, want := range cases {
		if got := path(id, allOptions[0]); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: path\n got %q\nwant %q", id, got, want)
		}
	}
	for _, id := range []StepID{ConsoleWipe, DeleteManagedRecord, DeleteGreyedOutRecord} {
		if in := mustInstruction(t, id, allOptions[0]); in.Confirm != ConfirmYES {
			t.Errorf("%s: confirmation %q, want %q", id, in.Confirm, ConfirmYES)
		}
	}
	for _, id := range []StepID{RemoveProfiles, UserWipe, ABMUnassign} {
		if in := mustInstruction(t, id, allOptions[0]); in.Confirm != "" {
			t.Errorf("%s: unexpected confirmation %q", id, in.Confirm)
		}
	}
	if e := mustInstruction(t, ConsoleWipe, allOptions[0]).Expect.JA; !strings.Contains(e, "取消線(グレーアウト)") {
		t.Errorf("console-wipe expects %q", e)
	}
	if e := mustInstruction(t, DeleteManagedRecord, allOptions[0]).Expect.JA; !strings.Contains(e, "Devices 画面の一覧に表示されなくなります") {
		t.Errorf("delete-managed-record expects %q", e)
	}
	managed := mustInstruction(t, DeleteManagedRecord, allOptions[0])
	for _, ja := range []string{"[ デバイスの編集 ] から [ 削除 ]", "ワーク・スマート構成", "紛失モード", "VPP アプリケーションライセンスが剥奪されます"} {
		if !hasLabel(managed.Caution, ja) {
			t.Errorf("delete-managed-record lacks the caution %q", ja)
		}
	}
	if !reflect.DeepEqual(managed.Outcomes, []string{OutcomeWorkSmart}) {
		t.Errorf("delete-managed-record outcomes %q", managed.Outcomes)
	}
	if !hasLabel(mustInstruction(t, UserRemoveMDMProfile, allOptions[0]).Caution, "「MDM構成プロファイル削除時に強制アンインストールする」") {
		t.Errorf("user-remove-mdm-profile lacks the Managed Apps caution")
	}
	abm := mustInstruction(t, ABMUnassign, allOptions[0]).Text("en")
	if !strings.Contains(abm, "not release") {
		t.Errorf("abm-unassign does not warn that it is unassign, not release:\n%s", abm)
	}
}

func TestReturnToServiceStaysUnticked(t *testing.T) {
	for _, opts := range allOptions {
		in := mustInstruction(t, ConsoleWipe, opts)
		for _, l := range in.Steps {
			if strings.HasPrefix(l.JA, "MDMへの再登録") && l.Act != ActLeaveUnticked {
				t.Errorf("Return to Service is %q with options %+v", l.Act, opts)
			}
		}
		if !strings.Contains(in.Text("both"), "Leave ［MDMへの再登録(Return to Service)］") {
			t.Errorf("the text does not say to leave Return to Service unticked:\n%s", in.Text("both"))
		}
	}
}

func TestOptionsChangeTheText(t *testing.T) {
	off := InstructionOptions{Serial: "C39XK0ABCD12"}
	on := InstructionOptions{Serial: "C39XK0ABCD12", RemoveESIM: true, RemoveAutoInstalledApps: true}
	for _, tc := range []struct {
		id       StepID
		label    string
		tick, no string
	}{
		{ConsoleWipe, "eSIMを削除", "［eSIMを削除］にチェックを入れる", "［eSIMを削除］のチェックは外したままにする"},
		{DeleteManagedRecord, "自動インストールしたアプリを削除する", "［自動インストールしたアプリを削除する］にチェックを入れる", "［自動インストールしたアプリを削除する］のチェックは外したままにする"},
	} {
		a, b := mustInstruction(t, tc.id, off), mustInstruction(t, tc.id, on)
		if a.Text("both") == b.Text("both") || a.Text("en") == b.Text("en") || a.Markdown() == b.Markdown() {
			t.Errorf("%s: the options do not change the text", tc.id)
		}
		if ja := b.Text("ja"); !strings.Contains(ja, tc.tick) {
			t.Errorf("%s: selected, but the text lacks %q:\n%s", tc.id, tc.tick, ja)
		}
		if ja := a.Text("ja"); !strings.Contains(ja, tc.no) || strings.Contains(ja, tc.tick) {
			t.Errorf("%s: not selected, but the text lacks %q:\n%s", tc.id, tc.no, ja)
		}
	}
	p := mustInstruction(t, RemoveRestrictionsProfile, InstructionOptions{Serial: "C39XK0ABCD12", ProfileName: "Restrictions-2024"})
	if !strings.Contains(p.Text("ja"), "［構成プロファイル(制限設定プロファイル)］を選択: Restrictions-2024") {
		t.Errorf("the profile name is missing:\n%s", p.Text("ja"))
	}
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) || (r >= '\uFF00' && r <= '\uFFEF') || (r >= '\u3000' && r <= '\u303F') {
			return true
		}
	}
	return false
}

func TestLanguages(t *testing.T) {
	opts := allOptions[1]
	for _, id := range personSteps(t) {
		in := mustInstruction(t, id, opts)
		both, ja, en := in.Text("both"), in.Text("ja"), in.Text("en")
		if in.Text("") != both || in.Text("fr") != both {
			t.Errorf("%s: an unknown language is not \"both\"", id)
		}
		for _, text := range []string{both, ja, en} {
			if !strings.Contains(text, opts.Serial) || !strings.Contains(text, "1. ") {
				t.Errorf("%s: text without the serial or numbered steps:\n%s", id, text)
			}
		}
		for _, l := range in.Steps {
			if !strings.Contains(both, l.JA) || !strings.Contains(both, l.EN) {
				t.Errorf("%s: \"both\" lacks %q or %q:\n%s", id, l.JA, l.EN, both)
			}
			if !strings.Contains(ja, l.JA) {
				t.Errorf("%s: \"ja\" lacks %q:\n%s", id, l.JA, ja)
			}
			if !strings.Contains(en, l.EN) {
				t.Errorf("%s: \"en\" lacks %q:\n%s", id, l.EN, en)
			}
			if l.JA != l.EN && l.Act != ActDo && l.Act != ActFollow && strings.Contains(ja, `"`+l.EN+`"`) {
				t.Errorf("%s: \"ja\" has the English gloss %q", id, l.EN)
			}
		}
		// The numbered steps of the English text are English only.
		for _, line := range strings.Split(en, "\n") {
			if len(line) > 2 && line[0] >= '1' && line[0] <= '9' && hasJapanese(line) {
				t.Errorf("%s: \"en\" step in Japanese: %q", id, line)
			}
		}
	}
	in := mustInstruction(t, DeleteManagedRecord, opts)
	if both := in.Text("both"); !strings.Contains(both, "［デバイスを削除］ (Delete device)") {
		t.Errorf("\"both\" does not put label and gloss side by side:\n%s", both)
	}
	if !strings.Contains(mustInstruction(t, UserRemoveMDMProfile, opts).Text("ja"), "［VPN とデバイス管理］をタップ") {
		t.Errorf("steps on the device are not taps")
	}
}

func TestDeleteGreyedOutRecordOutcomes(t *testing.T) {
	in := mustInstruction(t, DeleteGreyedOutRecord, allOptions[0])
	want := []string{OutcomeCertificatesRemain, OutcomeVPPLicenseRemains, OutcomeWorkSmart}
	if !reflect.DeepEqual(in.Outcomes, want) {
		t.Fatalf("outcomes %q, want %q", in.Outcomes, want)
	}
	text := in.Text("both")
	for _, o := range want {
		l, _ := OutcomeLabel(o)
		if !strings.Contains(text, o) || !strings.Contains(text, l.JA) {
			t.Errorf("the text does not say when to report %s:\n%s", o, text)
		}
	}
	if _, ok := OutcomeLabel(OutcomeDone); ok {
		t.Errorf("done has an error message")
	}
	for _, id := range personSteps(t) {
		in := mustInstruction(t, id, allOptions[0])
		if id != DeleteGreyedOutRecord && id != DeleteManagedRecord && len(in.Outcomes) > 0 {
			t.Errorf("%s: unexpected outcomes %q", id, in.Outcomes)
		}
		if in.Audience == AudienceUser && strings.Contains(in.Text("en"), "report") {
			t.Errorf("%s: the device's user is asked to report", id)
		}
	}
}

func TestMarkdown(t *testing.T) {
	in := mustInstruction(t, DeleteManagedRecord, allOptions[1])
	md := in.Markdown()
	for _, want := range []string{
		"`C39XK0ABCD12`", "1. Click **［Devices］** (Devices)", "**［デバイスを削除］** (Delete device)",
		`\[ デバイスの編集 \] から \[ 削除 \]`, "`work-smart`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "\n#") {
		t.Errorf("markdown has a heading; it is embedded in the current details:\n%s", md)
	}
}
