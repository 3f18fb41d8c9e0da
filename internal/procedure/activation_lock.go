package procedure

import (
	"fmt"
	"strings"
)

// Activation Lock is not a step of the vendor's page: it is the product's own (contract.md lets
// the product add steps with IDs of its own). Before §5, Offboard reads the device's Activation
// Lock from Apple; a device still locked cannot be set up again, and only the organisation can
// turn the lock off, in Apple Business Manager. Apple's steps are from Apple's page, English only:
// the vendor page has no Japanese for them.

// TurnOffActivationLock is the product's step before abm-unassign on a path that reaches Apple:
// read Activation Lock, and when it is on, ask an operator to turn it off in Apple Business
// Manager (and, when the device's options hold §5, wait for it).
const TurnOffActivationLock StepID = "turn-off-activation-lock"

// ActivationLockStep describes TurnOffActivationLock for the status.
var ActivationLockStep = Step{TurnOffActivationLock, "5", "Turn Activation Lock off in Apple Business Manager (a locked device cannot be set up again)", KindApple, false}

// ActivationLockReference is Apple's page of the organisation's steps: "Turn off Activation Lock
// in Apple Business" (Apple Business Manager User Guide).
const ActivationLockReference = "https://support.apple.com/guide/business/axm812df1dd8/web"

// ActivationLockAPIReference is Apple's page of the API read.
const ActivationLockAPIReference = "https://developer.apple.com/documentation/applebusinessapi/get-the-activation-lock-status-information-for-an-orgdevice"

// ActivationLockInstruction is what an operator does for a device whose Activation Lock is on
// (lockType USER or MDM, as Apple reported it), in markdown: Apple's steps of
// ActivationLockReference, the device's serial and what Apple's user interface shows for the lock.
func ActivationLockInstruction(serial, lockType string) string {
	shows := "Activation Lock On (User)"
	what := "locked to a personal Apple Account: its user left Find My on. Apple Business Manager can turn it off; a device management service cannot"
	if lockType == "MDM" {
		shows = "Activation Lock On (Organization)"
		what = "locked by the organisation (organisation-linked, turned on by the MDM). The console's record is deleted by now, so Apple Business Manager is where it is turned off"
	}
	var b strings.Builder
	b.WriteString(fmt.Sprintf("Device **%s** is %s. Until Activation Lock is off, the erased device cannot be set up again. "+
		"In Apple Business Manager (Apple's steps: %s):\n\n", serial, what, ActivationLockReference))
	for i, s := range []string{
		"Sign in to Apple Business Manager with a user whose role has permissions to remove Activation Lock from devices.",
		fmt.Sprintf("If necessary, search for the device **%s** in the search field.", serial),
		"Select the device.",
		fmt.Sprintf("Under Details, confirm that Activation Lock is on (it shows \"%s\").", shows),
		"Turn Activation Lock off there and confirm, as Apple's page describes.",
	} {
		b.WriteString(fmt.Sprintf("%d. %s\n", i+1, s))
	}
	b.WriteString("\nDo **not** release the device from the organisation: Apple Business Manager cannot manage Activation Lock of a released device. " +
		"Then report `done` on step `" + string(TurnOffActivationLock) + "`: Offboard reads the status from Apple again before it goes on.")
	return b.String()
}
