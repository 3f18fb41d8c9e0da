package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/workflows"
)

// A device Apple reports locked is never printed reusable; one not read says so.
func TestActivationLockTableNeverCallsALockedDeviceReusable(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	writeActivationLocks(&b, []activationLockRow{
		{"USER1", workflows.DeviceStatus{Current: "turn-off-activation-lock", WaitingOn: "operator",
			ActivationLock: &workflows.ActivationLockState{IsLocked: true, LockType: "USER", ReadAt: &at}}},
		{"FREE1", workflows.DeviceStatus{ActivationLock: &workflows.ActivationLockState{LockType: "NONE", ReadAt: &at, Reusable: true, TurnedOffBy: "alice"}}},
		{"MANUAL1", workflows.DeviceStatus{}},
	})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", b.String())
	}
	for _, c := range []struct{ line, want string }{
		{lines[1], "no (Activation Lock USER)"}, {lines[2], "yes"}, {lines[3], "not checked"},
	} {
		if !strings.Contains(c.line, c.want) {
			t.Errorf("%q lacks %q", c.line, c.want)
		}
	}
	if !strings.Contains(lines[1], "waiting on operator") || !strings.Contains(lines[2], "alice") {
		t.Errorf("table:\n%s", b.String())
	}
}
