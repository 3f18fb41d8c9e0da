package simulator

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/console"
)

func TestStateSurvivesCloseAndNew(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE), DeviceSpecFor("SER2", EnrollmentManual))
	token := h.appleToken()
	_, queued, _ := h.send("SER1", "rm-1", console.CommandRequest{Type: console.CmdRemoveProfile})
	h.sim.Notify("SER2", StepUserRemoveMDMProfile)
	var act activityAnswer
	decode(t, h.unassign(token, "SER1"), &act)
	h.clock.Advance(time.Hour)

	before1, before2 := h.device("SER1"), h.device("SER2")
	ledger := h.sim.Ledger("")
	if err := h.sim.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	raw, err := os.ReadFile(h.cfg.StateFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), token) || strings.Contains(string(raw), testToken) {
		t.Error("the state file holds a usable token")
	}

	// A fresh simulator on a fresh clock at the original start: simulated time resumes where it was.
	cfg := h.cfg
	clock := NewManualClock(t0)
	cfg.Clock = clock
	sim, err := New(cfg)
	if err != nil {
		t.Fatalf("New again: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	h.sim, h.clock = sim, clock
	if !sim.Now().Equal(t0.Add(time.Hour)) {
		t.Errorf("simulated time after restart: %s, want %s", sim.Now(), t0.Add(time.Hour))
	}
	if after := h.device("SER1"); !reflect.DeepEqual(after, before1) {
		t.Errorf("SER1 changed across the restart:\n%+v\n%+v", before1, after)
	}
	if after := h.device("SER2"); !reflect.DeepEqual(after, before2) {
		t.Errorf("SER2 changed across the restart:\n%+v\n%+v", before2, after)
	}
	if got := sim.Ledger(""); !reflect.DeepEqual(got, ledger) {
		t.Errorf("ledger changed across the restart: %d entries, want %d", len(got), len(ledger))
	}
	// Idempotency keys survive: the same key replays the same command.
	if status, cmd, _ := h.send("SER1", "rm-1", console.CommandRequest{Type: console.CmdRemoveProfile}); status != http.StatusOK || cmd.ID != queued.ID {
		t.Errorf("replay after restart: %d %+v", status, cmd)
	}
	// The issued token still works, and the pending events still fire.
	h.clock.Advance(3 * time.Hour) // t0+4h: SER1 checks in, SER2's user acted at t0+2h
	if rec := h.do(http.MethodGet, "/v1/orgDeviceActivities/"+act.Data.ID, nil, auth(token)); rec.Code != http.StatusOK {
		t.Errorf("token after restart: %d", rec.Code)
	}
	if d := h.device("SER1"); d.Commands[0].Status != console.CommandCompleted || d.AssignedServer != "" {
		t.Errorf("SER1 after restart: command %s, assigned %q", d.Commands[0].Status, d.AssignedServer)
	}
	if d := h.device("SER2"); d.Status != StatusGreyedOut {
		t.Errorf("SER2 after restart: %s, want greyed-out", d.Status)
	}
}

func TestStateIsSavedSoonAfterAChange(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SaveDebounce = 5 * time.Millisecond })
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, ok, err := loadState(h.cfg.StateFile); err == nil && ok && st.Devices["SER1"] != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the state file was not written after a change")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestABadStateFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{ConsoleToken: "t", StateFile: path}); err == nil {
		t.Error("New accepted a corrupt state file")
	}
}

func TestResetForgetsEverythingButTokens(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	token := h.appleToken()
	h.send("SER1", "k", console.CommandRequest{Type: console.CmdRemoveProfile})
	h.sim.SetFaults(Faults{LatencyMs: 1})
	if rec := h.do(http.MethodPost, "/sim/reset", nil, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("reset: %d", rec.Code)
	}
	if _, ok := h.sim.Device("SER1"); ok || len(h.sim.Ledger("")) != 0 || h.sim.Faults() != (Faults{}) {
		t.Error("reset left state behind")
	}
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	if status, cmd, _ := h.send("SER1", "k", console.CommandRequest{Type: console.CmdRemoveProfile}); status != http.StatusAccepted || cmd.Replayed {
		t.Errorf("key after reset: %d replayed=%v, want a fresh command", status, cmd.Replayed)
	}
	if rec := h.do(http.MethodGet, "/v1/orgDevices/SER1/relationships/assignedServer", nil, auth(token)); rec.Code != http.StatusOK {
		t.Errorf("token after reset: %d", rec.Code)
	}
}
