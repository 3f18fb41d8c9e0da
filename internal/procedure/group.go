package procedure

import (
	"slices"
	"strings"
)

// Steps a person carries out for many devices at once. CLOMO PANEL selects many devices for both
// deletes of §4: 4-1 "2. 管理下から外したいデバイスを選択します。複数選択や一括選択も可能です。" and 4-2
// "2. Devices 画面で削除したい iOS デバイスを選択します。複数選択や一括選択も可能です。", where "※ 複数選択時
// は、[ コマンドを選択してください ] から [ デバイスを削除 ] をクリックします。" replaces its step 3. In operator
// mode a fleet's devices waiting at one of these steps are one task: one instruction, one report
// (the fleet's complete-step update), and each device still records its own outcome.

// Groupable reports whether a person may carry out step for many devices at once in CLOMO PANEL.
func Groupable(step StepID) bool {
	return step == DeleteManagedRecord || step == DeleteGreyedOutRecord
}

// GroupableSteps lists the steps Groupable accepts, in the vendor page's order.
func GroupableSteps() []StepID { return []StepID{DeleteManagedRecord, DeleteGreyedOutRecord} }

var (
	lblMultiSelect = Label{JA: "複数選択や一括選択も可能です", EN: "Select every device listed below (multi-select, or select all and clear the others)", Act: ActDo}
	lblMultiNote   = Label{JA: "※ 複数選択時は、[ コマンドを選択してください ] から [ デバイスを削除 ] をクリックします。",
		EN: "With several devices selected, [デバイスの情報を完全に削除] is not offered: choose [デバイスを削除] from [コマンドを選択してください] instead."}
)

// GroupInstructionFor is the instruction of a groupable step for the devices serials, all of which
// share opts (apart from the serial): the vendor's multi-select path, the devices listed once. ok
// is false for a step that is not groupable or an empty list.
func GroupInstructionFor(step StepID, serials []string, opts InstructionOptions) (Instruction, bool) {
	if !Groupable(step) || len(serials) == 0 {
		return Instruction{}, false
	}
	opts.Serial = ""
	in, ok := InstructionFor(step, opts)
	if !ok {
		return Instruction{}, false
	}
	in.Serials = slices.Clone(serials)
	switch step {
	case DeleteManagedRecord:
		// 1. Devices, 2. select (many), then the single device's steps from 3 on: the page gives
		// the same command path for one device and for many.
		select2 := Label{JA: "管理下から外したいデバイスを選択", EN: "Select the devices to take out of management", Act: ActDo}
		in.Steps = slices.Concat([]Label{lblDevices, select2, lblMultiSelect}, in.Steps[2:])
	case DeleteGreyedOutRecord:
		select2 := Label{JA: "削除したい iOS デバイスを選択", EN: "Select the iOS devices to delete", Act: ActDo}
		in.Steps = slices.Concat([]Label{lblDevices, select2, lblMultiSelect, lblCommand, {JA: "デバイスを削除", EN: "Delete device", Act: ActChoose}},
			in.Steps[3:]) // after デバイスの情報を完全に削除: OK, YES, デバイスを削除, OK
		in.Caution = append([]Label{lblMultiNote}, in.Caution...)
	}
	return in, true
}

// serialList renders the devices of a group instruction, one line.
func (i Instruction) serialList(md bool) string {
	if !md {
		return strings.Join(i.Serials, ", ")
	}
	quoted := make([]string, len(i.Serials))
	for n, s := range i.Serials {
		quoted[n] = "`" + strings.ReplaceAll(s, "`", "'") + "`"
	}
	return strings.Join(quoted, ", ")
}
