package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// starterBinary builds the starter once for the tests that run it as an operator does.
func starterBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "starter")
	if out, err := exec.Command("go", "build", "-o", bin, "../starter").CombinedOutput(); err != nil {
		t.Fatalf("build the starter: %v\n%s", err, out)
	}
	return bin
}

// runStarter runs the starter with env over an environment free of the TEMPORAL_* variables and
// of the user's own temporal CLI configuration.
func runStarter(t *testing.T, bin string, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "LOG_LEVEL=error"}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// The starter reaches the server through a temporal CLI profile (--config-file, --profile):
// it starts a device, waits for it, reads its status and the list as JSON, and its retirement
// record; an explicit TEMPORAL_ADDRESS wins over the profile.
func TestStarterThroughAProfile(t *testing.T) {
	bin := starterBinary(t)
	namespace := os.Getenv("OFFBOARD_TEST_TEMPORAL_NAMESPACE")
	if namespace == "" {
		namespace = "default"
	}
	profile := filepath.Join(t.TempDir(), "temporal.toml")
	if err := os.WriteFile(profile, []byte(fmt.Sprintf("[profile.offboard-it]\naddress = %q\nnamespace = %q\n", serverHostPort, namespace)), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--config-file", profile, "--profile", "offboard-it"}

	serial := fmt.Sprintf("CLI%d", time.Now().UnixNano()%1000000)
	if err := world.Sim.AddDevices(quick(simulator.DeviceSpecFor(serial, "manual"))); err != nil {
		t.Fatal(err)
	}
	out, errs, err := runStarter(t, bin, nil, append([]string{"start", "--serial", strings.ToLower(serial), "--enrollment", "manual", "--no-wipe",
		"--yes", "--wait", "--checkin-poll", "300ms", "--console-poll", "200ms", "--apple-poll", "200ms", "--checkin-deadline", "1m",
		"--user-reminders", "5s", "--operator-reminder", "30s"}, conn...)...)
	if err != nil || !strings.Contains(out, "device "+serial+": "+workflows.OutcomeRemoved) {
		t.Fatalf("start --wait: %v\nstdout:\n%s\nstderr:\n%s", err, out, errs)
	}
	assertLedger(t, serial)

	out, errs, err = runStarter(t, bin, nil, append([]string{"status", serial, "-o", "json"}, conn...)...)
	var st workflows.DeviceStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Serial != serial || st.Outcome != workflows.OutcomeRemoved || st.Path != "keep/manual" {
		t.Fatalf("status -o json: %v %+v\nstdout:\n%s\nstderr:\n%s", err, st, out, errs)
	}

	// Visibility catches up a moment after the close.
	var listed []map[string]any
	for range 50 {
		out, errs, err = runStarter(t, bin, nil, append([]string{"list", "--all", "--path", "keep/manual", "--json"}, conn...)...)
		if err != nil || json.Unmarshal([]byte(out), &listed) != nil {
			t.Fatalf("list --json: %v\nstdout:\n%s\nstderr:\n%s", err, out, errs)
		}
		if strings.Contains(out, `"Serial":"`+serial+`"`) && strings.Contains(out, `"Status":"COMPLETED"`) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, `"Serial":"`+serial+`"`) {
		t.Errorf("list does not show %s:\n%s", serial, out)
	}

	out, errs, err = runStarter(t, bin, nil, "evidence", serial, "--dir", world.WorkerConfig().Evidence.Dir, "-o", "json")
	if err != nil || !strings.Contains(out, `"serial":"`+serial+`"`) || !strings.Contains(out, `"outcome":"removed"`) {
		t.Errorf("evidence -o json: %v\nstdout:\n%s\nstderr:\n%s", err, out, errs)
	}

	// TEMPORAL_ADDRESS wins over the profile: nothing listens there.
	_, errs, err = runStarter(t, bin, []string{"TEMPORAL_ADDRESS=127.0.0.1:1"}, append([]string{"status", serial}, conn...)...)
	if err == nil || !strings.Contains(errs, "127.0.0.1:1") {
		t.Errorf("TEMPORAL_ADDRESS over the profile: %v\n%s", err, errs)
	}
	// A profile that is not in the file is named, and nothing is dialled.
	_, errs, err = runStarter(t, bin, nil, "status", serial, "--config-file", profile, "--profile", "nope")
	if err == nil || !strings.Contains(errs, `profile "nope"`) || !strings.Contains(errs, profile) {
		t.Errorf("unknown profile: %v\n%s", err, errs)
	}
}
