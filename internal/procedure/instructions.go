package procedure

import (
	"fmt"
	"strings"
)

// Instructions are what a person does for a step that Offboard cannot do itself: a console step in
// operator mode (a person clicks through CLOMO PANEL and confirms), a step of the device's user (who
// is notified with on-device instructions), and the Apple Business Manager unassign without API
// credentials. Every Japanese label is quoted verbatim from the vendor page
// (shared/seed/000_a702d2cd4a5daa51.txt) unless it is marked NotOnVendorPage; a test checks this.

// Action is what a person does with a label; it picks the verb when the label is rendered.
type Action string

const (
	// ActClick clicks the label (CLOMO PANEL, Apple Business Manager) or taps it (on the device).
	ActClick Action = ""
	// ActChoose chooses the label from a menu or a pull-down.
	ActChoose Action = "choose"
	// ActTick ticks the checkbox with this label.
	ActTick Action = "tick"
	// ActLeaveUnticked leaves the checkbox with this label unticked.
	ActLeaveUnticked Action = "leave-unticked"
	// ActFollow carries out another procedure of the vendor's help, named by the label.
	ActFollow Action = "follow"
	// ActDo: the label is itself the action (select the device, type "YES", enter the passcode).
	ActDo Action = "do"
)

// Label is a UI label quoted from the vendor page, verbatim, with an English gloss.
type Label struct {
	JA, EN string
	// Act says what the person does with the label in a click/tap path (Instruction.Steps).
	Act Action
	// Value is filled in per device (the serial, a profile name) and shown after the label; it is
	// never part of the quote.
	Value string
	// NotOnVendorPage marks a label the vendor page does not give for this step (the iOS Settings
	// path of the user's wipe, the console path that turns lost mode off, Offboard's own notes):
	// the label may differ between iOS or console versions.
	NotOnVendorPage bool
}

// Audiences of an instruction.
const (
	AudienceOperator = "operator" // a person in CLOMO PANEL or Apple Business Manager
	AudienceUser     = "user"     // the device's user, on the device
)

// Places where an instruction is carried out.
const (
	WhereConsole = "CLOMO PANEL"
	WhereApple   = "Apple Business Manager"
	WhereDevice  = "the device (設定 / Settings)"
)

// ConfirmYES is the typed confirmation CLOMO PANEL asks for before it erases or deletes a device.
const ConfirmYES = `「YES」と入力 (type "YES")`

// Instruction is what a person does for one step.
type Instruction struct {
	Step    StepID
	Section string // the vendor page's section, e.g. "4-2"
	Title   Label  // the vendor page's heading for the step
	Serial  string // the device, as shown in CLOMO PANEL
	// Serials are the devices of a task for many devices at once (GroupInstructionFor); Serial is
	// then empty.
	Serials  []string
	Audience string // AudienceOperator or AudienceUser
	Where    string // WhereConsole, WhereApple or WhereDevice
	Steps    []Label
	Confirm  string  // the typed confirmation (ConfirmYES), or ""
	Expect   Label   // what the person should see afterwards
	Caution  []Label // warnings from the vendor page for this step
	// Outcomes the person may report besides OutcomeDone through the complete-step update.
	Outcomes []string
}

// InstructionOptions are the per-device choices that change what a person does.
type InstructionOptions struct {
	Serial                  string
	RemoveESIM              bool   // console-wipe: tick eSIMを削除
	RemoveAutoInstalledApps bool   // delete-managed-record: tick 自動インストールしたアプリを削除する
	ProfileName             string // remove-restrictions-profile: the restrictions profile's name in CLOMO PANEL
}

// Labels used by more than one step.
var (
	lblDevices        = Label{JA: "Devices", EN: "Devices"}
	lblCommand        = Label{JA: "コマンドを選択してください", EN: "Select a command"}
	lblRemoveProfile  = Label{JA: "構成プロファイルを削除", EN: "Remove configuration profile", Act: ActChoose}
	lblPleaseSelect   = Label{JA: "選択してください", EN: "Please select"}
	lblRun            = Label{JA: "実行", EN: "Run"}
	lblOK             = Label{JA: "OK", EN: "OK"}
	lblTypeYES        = Label{JA: "「YES」と入力", EN: `Type "YES"`, Act: ActDo}
	lblDeleteDevice   = Label{JA: "デバイスを削除", EN: "Delete device"}
	lblRecordGone     = Label{JA: "しばらくすると、デバイスが管理下から外れて Devices 画面の一覧に表示されなくなります", EN: "After a while the device leaves management and no longer appears in the Devices list"}
	lblGreyedOut      = Label{JA: "該当のデバイスが取消線(グレーアウト)の状態になった", EN: "The device shows struck-through (greyed-out) in the Devices list, once it has checked in"}
	lblSupport        = Label{JA: "状況が改善しない場合は、CLOMO サポートセンターへお問い合わせください。", EN: "If this does not help, CLOMO support (CLOMO サポートセンター) must delete the record: Offboard hands it over to them."}
	lblCannotWipeNote = Label{
		JA: "初期化ができない場合、[ 制限設定プロファイル ]にて [ \"すべてのコンテンツと設定を消去\"を許可(監視対象のみ)]が制限されている可能性があります。構成プロファイル(制限設定プロファイル)がデバイスに残っている場合は、削除してください。",
		EN: "If the device refuses to erase, its restrictions profile probably disallows \"Allow Erase All Content and Settings (supervised only)\". " +
			"If that configuration profile (the restrictions profile) is still on the device, it must be removed first.",
	}
	lblVPPRemains = Label{
		JA: "「VPPアプリケーションライセンス (デバイス向け)が付与されているため完全に削除できません。 VPPアプリケーションライセンスの剥奪後、削除を実施してください。」と表示された場合の対処方法は以下のとおりです。",
		EN: "The delete (4-2) stopped because VPP app licenses (device-assigned) remain: first update the app license counts, then revoke the device's VPP licenses; Offboard then retries the delete.",
	}
	lblLostMode = Label{
		JA: "紛失モード設定中にデバイス情報を削除すると、紛失モードを解除できなくなります。デバイスの初期化が必要になりますのでご注意ください。",
		EN: "Deleting the record while lost mode is on makes lost mode impossible to turn off; the device then has to be erased.",
	}
	lblVPPRevoked = Label{
		JA: "デバイスに付与された VPP アプリケーションライセンスが剥奪されます。",
		EN: "Deleting the record revokes the VPP app licenses assigned to the device.",
	}
	lblReinstall = Label{
		JA: "一度アプリをアンインストールして、個人の Apple Account で App Store から再インストールしてください。",
		EN: "Apps installed through VPP, or auto-installed without VPP, must be uninstalled and reinstalled from the App Store with the user's own Apple Account to keep using them outside CLOMO MDM.",
	}
	lblWorkSmart = Label{
		JA: "※ ワーク・スマート構成を適用しているデバイスは、CLOMO PANEL からデバイスを削除できません。",
		EN: "A device under a Work Smart configuration cannot be deleted from CLOMO PANEL: report work-smart, and CLOMO support deletes it.",
	}
)

// outcomeLabels say what the console shows for each outcome a person may report.
var outcomeLabels = map[string]Label{
	OutcomeCertificatesRemain: {
		JA: "証明書が残っているためデバイス情報が削除できない旨のメッセージ",
		EN: "a message that the record cannot be deleted because certificates remain",
	},
	OutcomeVPPLicenseRemains: {
		JA: "VPPアプリケーションライセンス (デバイス向け)が付与されているため完全に削除できません。 VPPアプリケーションライセンスの剥奪後、削除を実施してください。",
		EN: "\"The record cannot be deleted completely because VPP app licenses (device-assigned) are assigned. Revoke the VPP app licenses, then delete it.\"",
	},
	OutcomeWorkSmart: {
		JA: "ワーク・スマート構成を適用しているデバイスは、CLOMO PANEL からデバイスを削除できません。",
		EN: "the device is under a Work Smart configuration: neither デバイスを削除 nor デバイスの編集 > 削除 deletes it",
	},
}

// OutcomeLabel says what the console shows when a person should report the outcome; ok is false
// for OutcomeDone and unknown outcomes.
func OutcomeLabel(outcome string) (Label, bool) {
	l, ok := outcomeLabels[outcome]
	return l, ok
}

func selectDevice(ja, serial string) Label {
	return Label{JA: ja, EN: "Select the device", Act: ActDo, Value: serial}
}

func tickIf(on bool, l Label) Label {
	if on {
		l.Act = ActTick
	} else {
		l.Act = ActLeaveUnticked
	}
	return l
}

func offPage(ls ...Label) []Label {
	out := make([]Label, len(ls))
	for i, l := range ls {
		l.NotOnVendorPage = true
		out[i] = l
	}
	return out
}

// InstructionFor returns what a person does for a step; ok is false for the steps no person performs
// (preflight, await-greyed-out) and for unknown steps.
func InstructionFor(step StepID, opts InstructionOptions) (Instruction, bool) {
	d, ok := Describe(step)
	if !ok {
		return Instruction{}, false
	}
	serial := opts.Serial
	in := Instruction{Step: step, Section: d.Section, Serial: serial, Audience: AudienceOperator, Where: WhereConsole}
	switch step {
	case RemoveRestrictionsProfile:
		in.Title = Label{JA: "制限設定プロファイルを削除してデバイス側で初期化する", EN: "Remove the restrictions profile, so that the device can be erased on the device"}
		profile := Label{JA: "構成プロファイル(制限設定プロファイル)", EN: "The configuration profile (the restrictions profile)", Act: ActChoose, Value: opts.ProfileName}
		in.Steps = []Label{lblDevices, selectDevice("該当のデバイスを選択", serial), lblCommand, lblRemoveProfile, lblPleaseSelect, profile, lblRun}
		in.Expect = Label{JA: "デバイスがチェックインすると、制限設定プロファイルがデバイスから削除される",
			EN: "Once the device checks in, the restrictions profile is gone from it and its user can erase it", NotOnVendorPage: true}
		in.Caution = []Label{lblCannotWipeNote}

	case UserWipe:
		in.Audience, in.Where = AudienceUser, WhereDevice
		in.Title = Label{JA: "デバイス本体側で初期化", EN: "Erase the device on the device itself"}
		in.Steps = offPage(
			Label{JA: "設定", EN: "Settings"},
			Label{JA: "一般", EN: "General"},
			Label{JA: "転送またはiPhoneをリセット", EN: "Transfer or Reset iPhone (on an iPad: Transfer or Reset iPad)"},
			Label{JA: "すべてのコンテンツと設定を消去", EN: "Erase All Content and Settings"},
			Label{JA: "画面の案内に従ってパスコードを入力し、消去を確定する", EN: "Follow the prompts: enter the passcode and confirm the erase", Act: ActDo},
		)
		in.Expect = Label{JA: "デバイスが再起動し、初期設定の画面が表示される", EN: "The device restarts and shows the setup (Hello) screen", NotOnVendorPage: true}
		in.Caution = []Label{
			{JA: "デバイス内のすべてのデータが消去されます。必要なデータは事前にバックアップしてください。",
				EN: "Everything on the device is erased: back up what you need first.", NotOnVendorPage: true},
			lblCannotWipeNote,
		}

	case ConsoleWipe:
		in.Title = Label{JA: "CLOMO PANEL から [ デバイスの初期化 ] コマンドを実行する", EN: "Erase the device from CLOMO PANEL"}
		in.Steps = []Label{
			lblDevices, selectDevice("初期化したい iOS デバイスを選択", serial), lblCommand,
			{JA: "デバイスを初期化", EN: "Erase device", Act: ActChoose},
			{JA: "次へ", EN: "Next"},
			tickIf(opts.RemoveESIM, Label{JA: "eSIMを削除", EN: "Remove eSIM"}),
			tickIf(false, Label{JA: "MDMへの再登録(Return to Service)", EN: "Re-enroll in MDM (Return to Service)"}),
			lblOK, lblTypeYES,
			{JA: "デバイスを初期化", EN: "Erase device"},
			lblOK,
		}
		in.Confirm = ConfirmYES
		in.Expect = lblGreyedOut
		esim := Label{JA: "チェックを入れると、eSIM を削除します。"}
		if opts.RemoveESIM {
			esim.EN = "eSIMを削除 (Remove eSIM) is ticked for this device: the eSIM is removed with the erase."
		} else {
			esim.EN = "eSIMを削除 (Remove eSIM) is not selected for this device: leave it unticked; the eSIM stays on the device."
		}
		in.Caution = []Label{
			{JA: "デバイスを再キッティングする場合に使用する項目です。",
				EN: "MDMへの再登録 (Return to Service) is for re-kitting: the device re-enrolls after the erase, so it is not retired. Leave it unticked."},
			esim,
		}

	case RemoveProfiles:
		in.Title = Label{JA: "インストール済みのプロファイルを削除する", EN: "Remove the installed configuration profiles"}
		in.Steps = []Label{
			lblDevices, selectDevice("該当のデバイスを選択", serial), lblCommand, lblRemoveProfile, lblPleaseSelect,
			{JA: "プルダウンから選択", EN: "Choose an installed profile from the pull-down", Act: ActDo},
			lblRun,
			{JA: "インストール済みのプロファイルごとに手順 3〜7 を繰り返す", EN: "Repeat steps 3-7 for every installed profile", Act: ActDo, NotOnVendorPage: true},
		}
		in.Expect = Label{JA: "デバイスがチェックインすると、プロファイルがデバイスから削除される",
			EN: "Once the device checks in, the profiles are gone from it", NotOnVendorPage: true}

	case UserRemoveMDMProfile:
		in.Audience, in.Where = AudienceUser, WhereDevice
		in.Title = Label{JA: "MDM 構成プロファイルを削除する", EN: "Remove the MDM configuration profile"}
		in.Steps = []Label{
			{JA: "設定", EN: "Settings"},
			{JA: "一般", EN: "General"},
			{JA: "VPN とデバイス管理", EN: "VPN & Device Management"},
			{JA: "CLOMO - MDM", EN: "CLOMO - MDM"},
			{JA: "削除", EN: "Remove Management"},
			{JA: "デバイスにパスコードを設定している場合は、パスコードの入力を求められます", EN: "If the device has a passcode, enter it when asked", Act: ActDo},
			{JA: "削除", EN: "Remove"},
		}
		in.Expect = Label{JA: "これで構成プロファイルの削除は完了し、CLOMO MDM の管理外となります。",
			EN: "The profile is removed and the device is no longer managed by CLOMO MDM; CLOMO PANEL shows it greyed-out after it checks in."}
		in.Caution = []Label{{
			JA: "本手順を実施すると、CLOMO MDM から配布したアプリのうち、Applications 画面にて Managed Apps オプションの「MDM構成プロファイル削除時に強制アンインストールする」が有効になっているアプリがアンインストールされます。",
			EN: "Apps distributed by CLOMO MDM with the Managed Apps option \"Force uninstall when the MDM configuration profile is removed\" are uninstalled when the profile is removed.",
		}}

	case DeleteManagedRecord:
		in.Title = Label{JA: "「管理中」表示のデバイス情報を削除する", EN: "Delete the managed (管理中) device record"}
		in.Steps = []Label{
			lblDevices, selectDevice("管理下から外したいデバイスを選択", serial), lblCommand,
			{JA: "デバイスを削除", EN: "Delete device", Act: ActChoose},
			tickIf(opts.RemoveAutoInstalledApps, Label{JA: "自動インストールしたアプリを削除する", EN: "Remove auto-installed apps"}),
			lblRun, lblOK, lblTypeYES, lblDeleteDevice, lblOK,
		}
		in.Confirm = ConfirmYES
		in.Expect = lblRecordGone
		apps := Label{JA: "※ デバイスを初期化せず、アプリを残したい場合は、「自動インストールしたアプリを削除する」にチェックを入れないでください。"}
		if opts.RemoveAutoInstalledApps {
			apps.EN = "自動インストールしたアプリを削除する (Remove auto-installed apps) is ticked for this device: apps auto-installed from CLOMO PANEL are uninstalled."
		} else {
			apps.EN = "自動インストールしたアプリを削除する (Remove auto-installed apps) is not selected for this device: leave it unticked, so auto-installed apps stay."
		}
		in.Caution = []Label{
			lblLostMode, lblVPPRevoked, apps,
			{JA: "インストール通知コマンドによって個別にインストールされたアプリはアンインストールされません。",
				EN: "Apps installed one by one with the install-notification command are not uninstalled."},
			lblReinstall,
			{JA: "[ デバイスを削除する ] が表示されない場合は、[ デバイスの編集 ] から [ 削除 ] を実行してください。",
				EN: "If デバイスを削除 (Delete device) is not offered, use デバイスの編集 (Edit device) > 削除 (Delete) instead."},
			lblWorkSmart,
			{JA: "いずれの方法も実行できない場合は、弊社側のデータメンテナンスにてデバイスの削除処理をおこないますので、CLOMO サポートセンターまでお問い合わせください。",
				EN: "If neither way works, CLOMO support deletes the device by data maintenance: report work-smart."},
		}

	case DeleteGreyedOutRecord:
		in.Title = Label{JA: "取消線(グレーアウト)表示のデバイス情報を削除する", EN: "Delete the greyed-out (取消線) device record"}
		in.Steps = []Label{
			lblDevices, selectDevice("削除したい iOS デバイスを選択", serial),
			{JA: "デバイスの情報を完全に削除", EN: "Delete the device information completely"},
			lblOK, lblTypeYES, lblDeleteDevice, lblOK,
		}
		in.Confirm = ConfirmYES
		in.Expect = lblRecordGone
		in.Caution = []Label{
			lblLostMode, lblVPPRevoked,
			lblWorkSmart,
		}

	case DisableLostMode:
		in.Title = Label{JA: "紛失モードを解除する", EN: "Turn lost mode off", NotOnVendorPage: true}
		in.Steps = offPage(
			lblDevices, selectDevice("該当のデバイスを選択", serial), lblCommand,
			Label{JA: "紛失モードを解除", EN: "Disable lost mode", Act: ActChoose},
			lblRun,
		)
		in.Expect = Label{JA: "デバイスがチェックインすると、紛失モードが解除される",
			EN: "Once the device checks in, lost mode is off", NotOnVendorPage: true}
		in.Caution = []Label{lblLostMode}

	case RemoveCertificates:
		in.Title = Label{JA: "証明書発行済みデバイスを CLOMO 管理下から削除する", EN: "Remove a certificate-issued device from CLOMO management"}
		in.Steps = []Label{{JA: "証明書発行済みデバイスを CLOMO 管理下から削除する", EN: "Removing a certificate-issued device from CLOMO management", Act: ActFollow, Value: serial}}
		in.Expect = Label{JA: "証明書が削除され、デバイス情報を削除できる状態になる",
			EN: "No certificates remain, so the record can be deleted: Offboard then retries the delete (4-2)", NotOnVendorPage: true}
		in.Caution = []Label{{
			JA: "本手順の実施途中に、証明書が残っているためデバイス情報が削除できない旨のメッセージが表示される場合は、証明書発行済みデバイスを CLOMO 管理下から削除するを実施してください。",
			EN: "The delete (4-2) stopped because certificates remain: carry out this procedure, then report done; Offboard retries the delete.",
		}}

	case RefreshLicenseCounts:
		in.Title = Label{JA: "アプリケーションライセンス数を更新する", EN: "Update the app license counts"}
		in.Steps = []Label{{JA: "アプリケーションライセンス数を更新する", EN: "Updating the app license counts", Act: ActFollow}}
		in.Expect = Label{JA: "アプリケーションライセンス数が最新の状態になる", EN: "The app license counts are up to date", NotOnVendorPage: true}
		in.Caution = []Label{lblVPPRemains}

	case RevokeVPPLicenses:
		in.Title = Label{JA: "VPP アプリケーションライセンスを剥奪する(デバイス向け)", EN: "Revoke the VPP app licenses (device-assigned)"}
		in.Steps = []Label{{JA: "VPP アプリケーションライセンスを剥奪する(デバイス向け)", EN: "Revoking VPP app licenses (device-assigned)", Act: ActFollow, Value: serial}}
		in.Expect = Label{JA: "デバイスに VPP アプリケーションライセンスが付与されていない状態になる",
			EN: "No VPP app license is assigned to the device: Offboard then retries the delete (4-2)", NotOnVendorPage: true}
		in.Caution = []Label{lblVPPRemains, lblSupport}

	case ABMUnassign:
		in.Where = WhereApple
		in.Title = Label{JA: "ADE の割り当てを解除する", EN: "Unassign the ADE device from the MDM server"}
		in.Steps = []Label{
			{JA: "ABM にログイン", EN: "Sign in to Apple Business Manager", Act: ActDo},
			{JA: "デバイス", EN: "Devices"},
			selectDevice("解除したいデバイスを選択", serial),
			{JA: "MDM サーバを編集", EN: "Edit MDM Server"},
			{JA: "現在のMDMから割り当てを解除", EN: "Unassign from the current MDM"},
			{JA: "続ける", EN: "Continue"},
			{JA: "確認", EN: "Confirm"},
		}
		in.Expect = Label{JA: "デバイスがどの MDM サーバにも割り当てられていない状態になる",
			EN: "The device is assigned to no MDM server", NotOnVendorPage: true}
		in.Caution = []Label{
			{JA: "これは割り当ての解除です。デバイスを組織からリリースしないでください(リリースは元に戻せません)。",
				EN: "This is UNASSIGN, not release: do not release the device from the organization; a release cannot be undone.", NotOnVendorPage: true},
			{JA: "CLOMO PANEL から一度削除された ADE デバイスでも ADE サーバーに情報が存在していると、再び事前予約状態として表示されます",
				EN: "Without this, the device deleted from CLOMO PANEL shows up there again as pre-registered (事前予約)."},
		}

	default: // preflight, await-greyed-out: nobody performs them
		return Instruction{}, false
	}
	if o := Outcomes(step)[1:]; len(o) > 0 { // done goes without saying
		in.Outcomes = o
	}
	return in, true
}

// labels lists every label of the instruction: title, steps, expectation, cautions and outcomes.
func (i Instruction) labels() []Label {
	all := []Label{i.Title}
	all = append(all, i.Steps...)
	all = append(all, i.Expect)
	all = append(all, i.Caution...)
	for _, o := range i.Outcomes {
		if l, ok := outcomeLabels[o]; ok {
			all = append(all, l)
		}
	}
	return all
}

func (i Instruction) onDevice() bool { return i.Where == WhereDevice }

func (i Instruction) anyOffPage() bool {
	for _, l := range i.Steps {
		if l.NotOnVendorPage {
			return true
		}
	}
	return false
}

// step renders one label of the click/tap path. lang is "ja", "en" or "both"; md wraps the label
// in bold and escapes it for markdown.
func (i Instruction) step(l Label, lang string, md bool) string {
	ja, en := l.JA, l.EN
	if md {
		ja, en = mdEscape(ja), mdEscape(en)
	}
	bja, ben := "［"+ja+"］", `"`+en+`"`
	if md {
		bja = "**" + bja + "**"
	}
	click, clickJA := "Click", "クリック"
	if i.onDevice() {
		click, clickJA = "Tap", "タップ"
	}
	var s string
	switch lang {
	case "ja":
		switch l.Act {
		case ActChoose:
			s = bja + "を選択"
		case ActTick:
			s = bja + "にチェックを入れる"
		case ActLeaveUnticked:
			s = bja + "のチェックは外したままにする"
		case ActFollow:
			s = "「" + ja + "」を実施"
		case ActDo:
			s = ja
		default:
			s = bja + "を" + clickJA
		}
	case "en":
		switch l.Act {
		case ActChoose:
			s = "Choose " + ben
		case ActTick:
			s = "Tick " + ben
		case ActLeaveUnticked:
			s = "Leave " + ben + " unticked"
		case ActFollow:
			s = "Follow the vendor procedure " + ben
		case ActDo:
			s = en
		default:
			s = click + " " + ben
		}
	default:
		pair := bja + " (" + en + ")"
		switch l.Act {
		case ActChoose:
			s = "Choose " + pair
		case ActTick:
			s = "Tick " + pair
		case ActLeaveUnticked:
			s = "Leave " + pair + " unticked"
		case ActFollow:
			s = "Follow the vendor procedure 「" + ja + "」 (" + en + ")"
		case ActDo:
			s = ja + " (" + en + ")"
		default:
			s = click + " " + pair
		}
	}
	if l.Value != "" {
		v := l.Value
		if md {
			v = "`" + strings.ReplaceAll(v, "`", "'") + "`"
		}
		s += ": " + v
	}
	return s
}

// phrase renders a label that is read, not clicked (title, expectation, caution).
func phrase(l Label, lang string, md bool) string {
	ja, en := l.JA, l.EN
	if md {
		ja, en = mdEscape(ja), mdEscape(en)
	}
	switch lang {
	case "ja":
		return ja
	case "en":
		return en
	}
	if ja == en {
		return ja
	}
	return ja + " (" + en + ")"
}

func normLang(lang string) string {
	switch l := strings.ToLower(strings.TrimSpace(lang)); l {
	case "ja", "en":
		return l
	}
	return "both"
}

// words of the rendered texts, by language.
var words = map[string]map[string]string{
	"ja": {
		"device": "デバイス", "devices": "デバイス", "who": "担当", "where": "場所", "expect": "確認", "caution": "注意",
		AudienceOperator: "管理者", AudienceUser: "デバイスの利用者",
		WhereConsole: WhereConsole, WhereApple: WhereApple, WhereDevice: "デバイス本体(設定アプリ)",
		"report":       "完了したら「" + OutcomeDone + "」を報告してください。次の表示が出た場合は、その内容を報告してください:",
		"done":         "完了したら「" + OutcomeDone + "」を報告してください。",
		"offpage":      "※ この手順の表示名の一部はベンダーのページにないものです。iOS やコンソールのバージョンにより異なる場合があります。",
		"report-group": "完了したら、すべてのデバイスについて一度に「" + OutcomeDone + "」を報告してください。次の表示が出たデバイスは、例外としてその内容とともに指定してください:",
	},
	"en": {
		"device": "Device", "devices": "Devices", "who": "Who", "where": "Where", "expect": "Expect", "caution": "Caution",
		AudienceOperator: "operator", AudienceUser: "the device's user",
		WhereConsole: WhereConsole, WhereApple: WhereApple, WhereDevice: "the device (Settings)",
		"report":       "When finished, report \"" + OutcomeDone + "\". If the console shows one of these instead, report it:",
		"done":         "When finished, report \"" + OutcomeDone + "\".",
		"offpage":      "Note: some labels of these steps are not from the vendor page and may differ between iOS or console versions.",
		"report-group": "When finished, report \"" + OutcomeDone + "\" once for all of them; name as exceptions the devices for which the console showed one of these instead:",
	},
}

func word(lang, key string) string {
	if lang == "both" {
		en, ja := words["en"][key], words["ja"][key]
		if en == ja {
			return en
		}
		return en + " / " + ja
	}
	return words[lang][key]
}

// reportLines are the lines that tell an operator what to report; users report nothing (their
// device checking in is the report).
func (i Instruction) reportLines(lang string, md bool) (head string, _ []string) {
	if i.Audience != AudienceOperator {
		return "", nil
	}
	if len(i.Outcomes) == 0 {
		return word(lang, "done"), nil
	}
	if len(i.Serials) > 0 {
		head = word(lang, "report-group")
	}
	var lines []string
	for _, o := range i.Outcomes {
		l := outcomeLabels[o]
		name := o
		if md {
			name = "`" + o + "`"
		}
		lines = append(lines, name+": "+phrase(l, lang, md))
	}
	if head == "" {
		head = word(lang, "report")
	}
	return head, lines
}

// Text renders the instruction as numbered, readable text for the CLI, notifications and the Web UI:
// lang "ja" (Japanese labels), "en" (English glosses) or "both" (［Japanese label］ (English gloss)).
// Any other lang means "both".
func (i Instruction) Text(lang string) string {
	lang = normLang(lang)
	var b strings.Builder
	printf := builderPrintf(&b)
	title := phrase(i.Title, lang, false)
	printf("%s (%s)\n", title, i.Section)
	if i.Serial != "" {
		printf("%s: %s\n", word(lang, "device"), i.Serial)
	}
	if len(i.Serials) > 0 {
		printf("%s (%d): %s\n", word(lang, "devices"), len(i.Serials), i.serialList(false))
	}
	printf("%s: %s — %s: %s\n\n", word(lang, "who"), word(lang, i.Audience), word(lang, "where"), word(lang, i.Where))
	for n, l := range i.Steps {
		printf("%d. %s\n", n+1, i.step(l, lang, false))
	}
	if i.Expect.JA != "" {
		printf("\n%s: %s\n", word(lang, "expect"), phrase(i.Expect, lang, false))
	}
	if len(i.Caution) > 0 {
		printf("\n%s:\n", word(lang, "caution"))
		for _, c := range i.Caution {
			printf("- %s\n", phrase(c, lang, false))
		}
	}
	if head, lines := i.reportLines(lang, false); head != "" {
		printf("\n%s\n", head)
		for _, l := range lines {
			printf("- %s\n", l)
		}
	}
	if i.anyOffPage() {
		printf("\n%s\n", word(lang, "offpage"))
	}
	return b.String()
}

// Markdown renders the instruction, in both languages, for the Temporal Web UI's current details.
func (i Instruction) Markdown() string {
	const lang = "both"
	var b strings.Builder
	printf := builderPrintf(&b)
	printf("**%s %s**", mdEscape(i.Section), phrase(i.Title, lang, true))
	if i.Serial != "" {
		printf(" · %s `%s`", word(lang, "device"), strings.ReplaceAll(i.Serial, "`", "'"))
	}
	if len(i.Serials) > 0 {
		printf(" · %d %s", len(i.Serials), word(lang, "devices"))
	}
	printf("\n\n%s: %s — %s: **%s**\n\n", word(lang, "who"), mdEscape(word(lang, i.Audience)), word(lang, "where"), mdEscape(word(lang, i.Where)))
	for n, l := range i.Steps {
		printf("%d. %s\n", n+1, i.step(l, lang, true))
	}
	if i.Expect.JA != "" {
		printf("\n**%s:** %s\n", word(lang, "expect"), phrase(i.Expect, lang, true))
	}
	if len(i.Caution) > 0 {
		printf("\n**%s:**\n\n", word(lang, "caution"))
		for _, c := range i.Caution {
			printf("- %s\n", phrase(c, lang, true))
		}
	}
	if head, lines := i.reportLines(lang, true); head != "" {
		printf("\n%s\n", mdEscape(head))
		if len(lines) > 0 {
			b.WriteString("\n")
		}
		for _, l := range lines {
			printf("- %s\n", l)
		}
	}
	if len(i.Serials) > 0 {
		printf("\n**%s (%d):** %s\n", word(lang, "devices"), len(i.Serials), i.serialList(true))
	}
	if i.anyOffPage() {
		printf("\n_%s_\n", mdEscape(word(lang, "offpage")))
	}
	return b.String()
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`)

func mdEscape(s string) string { return mdEscaper.Replace(s) }

// builderPrintf formats into b. Workflows render instructions, and workflowcheck flags any
// fmt.Fprintf (it cannot tell a strings.Builder from a file), so Sprintf and WriteString it is.
func builderPrintf(b *strings.Builder) func(format string, a ...any) {
	return func(format string, a ...any) { b.WriteString(fmt.Sprintf(format, a...)) }
}
