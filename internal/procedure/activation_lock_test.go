package procedure

import (
	"strings"
	"testing"
)

// The operator's instruction carries Apple's steps (support.apple.com, "Turn off Activation Lock
// in Apple Business"), the device's serial, what Apple shows for each lock type, and the warning
// that a released device's lock can no longer be managed.
func TestActivationLockInstructionFollowsApplesPage(t *testing.T) {
	for typ, shows := range map[string]string{"USER": "Activation Lock On (User)", "MDM": "Activation Lock On (Organization)"} {
		text := ActivationLockInstruction("F2LXK0A1HG7J", typ)
		for _, want := range []string{
			"F2LXK0A1HG7J", shows, ActivationLockReference,
			"role has permissions to remove Activation Lock",
			"Under Details, confirm that Activation Lock is on",
			"release", string(TurnOffActivationLock),
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the instruction lacks %q:\n%s", typ, want, text)
			}
		}
	}
}
