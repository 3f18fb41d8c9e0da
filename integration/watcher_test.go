package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// N devices waiting on their check-in cost the console O(1) requests a while, not O(N): the
// console watcher follows the change feed for all of them and the devices hold no poll. The
// devices that then check in are woken by the watcher (their safety-net read is a day away) and
// finish; the others go on waiting, unread.
func TestWaitingDevicesCostTheConsoleO1(t *testing.T) {
	const n = 40
	timing := fastTiming
	timing.CheckInDeadline = time.Hour // nobody escalates during the test
	timing.UserReminders = []time.Duration{time.Hour}
	timing.SafetyNetPoll = 24 * time.Hour // the watcher alone wakes them
	stamp := time.Now().UnixNano() % 100000
	// Devices nobody offboards check in every simulated half hour (twice a real second): their
	// check-ins are in the feed, and must not make the watcher read it at their pace.
	for i := range 5 {
		if err := world.Sim.AddDevices(quick(simulator.DeviceSpecFor(fmt.Sprintf("NOISE%02dO1%05d", i, stamp), "manual"))); err != nil {
			t.Fatal(err)
		}
	}
	serials := startWaitingDevices(t, "WAIT%02dO1%05d", stamp, n, timing)
	eventually(t, 90*time.Second, func() bool {
		for _, s := range serials {
			if st := status(t, s); st.WaitingOn != procedure.PartyDevice || st.Current != procedure.AwaitGreyedOut {
				return false
			}
		}
		return true
	}, "every device waiting on its check-in at await-greyed-out")

	// A device shows its wait before its first read of it has run: on a loaded machine those reads
	// come seconds later. Measure once the device reads have stopped.
	settleDeviceReads()

	const window = 25 * time.Second // more than a long poll's 20 s hold
	first := world.Sim.Stats()
	time.Sleep(window)
	last := world.Sim.Stats()
	calls := last.ConsoleCalls - first.ConsoleCalls
	for name, c := range last.Calls {
		if d := c - first.Calls[name]; d > 0 {
			t.Logf("%s: %d", name, d)
		}
	}
	t.Logf("%d devices waiting: %d console requests in %s", n, calls, window)
	if calls > 5 {
		t.Errorf("%d devices waiting cost %d console requests in %s: want a few (the watcher's), not some per device", n, calls, window)
	}

	// Half of them check in: the erase lands, the records turn greyed-out, the watcher wakes them.
	for _, s := range serials[:n/2] {
		if err := world.Sim.CheckIn(s); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, func() bool {
		for _, s := range serials[:n/2] {
			if st := status(t, s); st.Outcome != workflows.OutcomeRemoved {
				return false
			}
		}
		return true
	}, "the devices that checked in removed")
	for _, s := range serials[n/2:] {
		if st := status(t, s); st.WaitingOn != procedure.PartyDevice {
			t.Errorf("%s never checked in, yet waits on %s", s, st.WaitingOn)
		}
		assertLedger(t, s)
	}
	for _, s := range serials[:n/2] {
		assertLedger(t, s)
	}
}

// The console's change log restarts (docs/console-api.md: 410 cursor-expired) just as a waiting
// device checks in: the change is in no epoch of the feed. The watcher, told 410, wakes every
// device that waits on its device; each reads the console once, and the one that checked in is
// removed at once, not at its safety-net read (a day away). The others go on waiting.
func TestWatcherWakesTheWaitingAfterTheFeedLostChanges(t *testing.T) {
	const n = 4
	timing := fastTiming
	timing.CheckInDeadline = time.Hour
	timing.UserReminders = []time.Duration{time.Hour}
	timing.SafetyNetPoll = 24 * time.Hour // only the watcher can wake them
	stamp := time.Now().UnixNano() % 100000
	serials := startWaitingDevices(t, "GAP%02dW%05d", stamp, n, timing)
	for _, s := range serials {
		waitVisible(t, fmt.Sprintf("WorkflowId = '%s' AND WaitingOn = 'device' AND OffboardStep = '%s'", contract.DeviceWorkflowID(s), procedure.AwaitGreyedOut))
	}
	// Each device reads the console once as its wait begins, seconds after it shows the wait on a
	// loaded machine: the check-in must come after those reads, or they would find it themselves.
	settleDeviceReads()
	watcher := workflows.ConsoleWatcherWorkflowID(world.URL)
	before := watcherTotals(t, watcher)

	if err := world.Sim.RestartFeed(func() error { return world.Sim.CheckIn(serials[0]) }); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() bool { return status(t, serials[0]).Outcome == workflows.OutcomeRemoved },
		serials[0]+", which checked in while the feed was away, removed")
	after := watcherTotals(t, watcher)
	if after.Expired <= before.Expired || after.GapWoken-before.GapWoken < n {
		t.Errorf("watcher totals %+v after %+v: want a gap counted and at least the %d waiting devices woken", after, before, n)
	}
	for _, s := range serials[1:] {
		if st := status(t, s); st.WaitingOn != procedure.PartyDevice || st.Current != procedure.AwaitGreyedOut {
			t.Errorf("%s never checked in, yet is at %s waiting on %s", s, st.Current, st.WaitingOn)
		}
		assertLedger(t, s)
	}
	assertLedger(t, serials[0])
}

func watcherTotals(t *testing.T, id string) workflows.WatcherTotals {
	t.Helper()
	v, err := tc.QueryWorkflow(context.Background(), id, "", workflows.QueryWatcher)
	if err != nil {
		t.Fatalf("query the console watcher %s: %v", id, err)
	}
	var st workflows.WatcherStatus
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st.Totals
}

// startWaitingDevices starts n wipe/manual devices (serials from format, i and stamp) that never
// check in by themselves, each with timing; the test's end cancels them.
func startWaitingDevices(t *testing.T, format string, stamp int64, n int, timing workflows.Timing) []string {
	t.Helper()
	var serials []string
	t.Cleanup(func() {
		for _, s := range serials {
			_ = tc.CancelWorkflow(context.Background(), contract.DeviceWorkflowID(s), "")
		}
	})
	for i := range n {
		serial := fmt.Sprintf(format, i, stamp)
		serials = append(serials, serial)
		spec := simulator.DeviceSpecFor(serial, "manual")
		spec.CheckInEvery = simulator.Never
		if err := world.Sim.AddDevices(spec); err != nil {
			t.Fatal(err)
		}
		req := procedure.Request{Serial: serial, Enrollment: procedure.Manual, Wipe: true, WipeMethod: procedure.WipeConsole}
		if _, err := tc.ExecuteWorkflow(context.Background(), startOptions(serial, "wipe/manual"), contract.DeviceWorkflowType,
			workflows.DeviceInput{Request: req, Confirmed: true, Timing: timing}); err != nil {
			t.Fatal(err)
		}
	}
	return serials
}

// settleDeviceReads returns once the simulator has served no device read for 3 s (at most a
// minute): a device shows its wait before its first read of it has run, seconds later on a loaded
// machine, and a measurement or a change the devices must not see by themselves comes after.
func settleDeviceReads() {
	reads := func() int { return world.Sim.Stats().Calls["GET /api/v1/devices/{serial}"] }
	for settled, last, deadline := 0, reads(), time.Now().Add(60*time.Second); settled < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		if now := reads(); now == last {
			settled++
		} else {
			settled, last = 0, now
		}
	}
}

// eventually polls cond every 200 ms until it holds, failing the test after d.
func eventually(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
