package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
)

// §2 Wipe (初期化), one of two methods. 2-1: the restrictions profile goes, then the device's user
// erases the device in Settings. 2-2: the console erases it (デバイスを初期化). Either way the
// device then shows greyed-out (取消線) at its next check-in: await-greyed-out (greyed_out.go).

// removeRestrictionsProfile is `remove-restrictions-profile` (2-1): 構成プロファイルを削除 for the
// restrictions profile (制限設定プロファイル), which may disallow "すべてのコンテンツと設定を消去".
func (w *device) removeRestrictionsProfile(ctx workflow.Context) (ending, error) {
	return w.consoleCommand(ctx, procedure.RemoveRestrictionsProfile,
		console.CommandRequest{Type: console.CmdRemoveProfile, ProfileIDs: w.restrictionsProfiles})
}

// noRestrictionsProfile skips 2-1's profile removal when pre-flight found none installed.
func (w *device) noRestrictionsProfile() string {
	if !w.operatorMode() && len(w.restrictionsProfiles) == 0 {
		return "no restrictions profile (制限設定プロファイル) is installed"
	}
	return ""
}

// userWipe is `user-wipe` (2-1): the device's user erases the device in Settings.
func (w *device) userWipe(ctx workflow.Context) (ending, error) {
	return w.tellUser(ctx, procedure.UserWipe)
}

// consoleWipe is `console-wipe` (2-2): EraseDevice with the typed "YES", eSIMを削除 as asked.
// Return to Service (MDMへの再登録) stays off: it re-enrolls the device, which is not a removal.
func (w *device) consoleWipe(ctx workflow.Context) (ending, error) {
	erase := console.CommandRequest{Type: console.CmdEraseDevice, RemoveESIM: w.in.Request.RemoveESIM, Confirmation: "YES"}
	if err := w.allowDestruction(ctx, procedure.ConsoleWipe); err != nil { // the destruction budget (approval.go)
		return ending{}, err
	}
	return w.consoleCommand(ctx, procedure.ConsoleWipe, erase)
}

// erased reports whether this run erased the device (2-1 or 2-2): lost mode then no longer
// matters at the delete, since an erase clears it.
func (w *device) erased() bool {
	return w.stepState(procedure.ConsoleWipe) == StateDone || w.stepState(procedure.UserWipe) == StateDone
}
