package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
)

// §3 No wipe. 3-1: the console removes the installed configuration profiles. 3-2: the device's
// user removes the MDM profile (設定 > 一般 > VPN とデバイス管理 > CLOMO - MDM > 削除), after which the
// device shows greyed-out at its next check-in (greyed_out.go). On keep/ade-restricted the ADE
// profile forbids 3-2: the MDM profile stays and the managed record is deleted (4-1).

// removeProfiles is `remove-profiles` (3-1). Before a delete of the managed record
// (keep/ade-restricted) the profiles must be gone first, so it waits for the device's
// acknowledgement; on the other paths the user's removal of the MDM profile (3-2) removes them
// anyway, so the user is told at once rather than after a check-in.
func (w *device) removeProfiles(ctx workflow.Context) (ending, error) {
	return w.consoleCommand(ctx, procedure.RemoveProfiles, console.CommandRequest{Type: console.CmdRemoveProfile})
}

// userRemoveMDMProfile is `user-remove-mdm-profile` (3-2): the device's user is told how.
func (w *device) userRemoveMDMProfile(ctx workflow.Context) (ending, error) {
	return w.tellUser(ctx, procedure.UserRemoveMDMProfile)
}
