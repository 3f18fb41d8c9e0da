package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// A fleet of 20 devices while the outside systems fail (5xx, 429 with Retry-After, POSTs whose
// answer is lost after they took effect) and the workers are stopped abruptly and started again
// and again: every device reaches its outcome, and the simulator's ledger shows no destructive
// command taken on twice and one Apple unassign per ADE device. (`make chaos` does the same with
// 500 devices and a real SIGKILL of a worker process.)
func TestChaosFleetSurvivesFaultsAndWorkerKills(t *testing.T) {
	prefix := fmt.Sprintf("CH%05d", time.Now().UnixNano()%100000)
	rows := fleetDevices(t, prefix, 20)
	world.Sim.SetFaults(simulator.Faults{ErrorRate: 0.1, Rate429: 0.05, RetryAfterSeconds: 1, ErrorAfterCommitRate: 0.05})
	defer world.Sim.SetFaults(simulator.Faults{})

	timing := fastTiming
	timing.ApplePoll = 500 * time.Millisecond
	// A wait whose attempts keep being cut off (each costs a heartbeat timeout) must not reach the
	// check-in deadline, which hands the device to an operator: this test has none.
	timing.CheckInDeadline = 10 * time.Minute
	run := startFleet(t, workflows.FleetInput{FleetID: "chaos-" + prefix, Devices: rows, Window: 8, Timing: timing,
		CensusEvery: time.Second, PageSize: 6, MaxStartsPerRun: 7, RequestedBy: "chaos test"})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	kills := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(1500 * time.Millisecond):
			}
			world.StopWorkers() // abrupt: activities in flight are cut off, workflow caches are lost
			kills++
			time.Sleep(300 * time.Millisecond)
			if err := world.StartWorkers(tc); err != nil {
				t.Errorf("restart workers: %v", err)
				return
			}
		}
	})
	p := fleetResult(t, run, 8*time.Minute)
	close(stop)
	wg.Wait()
	t.Logf("workers killed %d times; fleet %v in %d runs", kills, p.ByState, p.Runs)

	if p.State != workflows.FleetFinished || p.ByState[workflows.OutcomeRemoved] != 20 {
		t.Fatalf("fleet result %+v: want all 20 removed", p)
	}
	if kills < 3 {
		t.Errorf("the workers were killed only %d times", kills)
	}
	faults := world.Sim.Stats().Faults
	if faults[simulator.FaultRateLimited] == 0 || faults[simulator.FaultAfterCommit] == 0 {
		t.Errorf("faults injected %v: want 429s and lost answers", faults)
	}
	for _, r := range rows {
		counts := assertLedger(t, r.Request.Serial)
		if r.Request.Enrollment.IsADE() && counts["UNASSIGN_DEVICES"] != 1 {
			t.Errorf("%s: UNASSIGN_DEVICES accepted %d times, want 1", r.Request.Serial, counts["UNASSIGN_DEVICES"])
		}
		if !r.Request.Enrollment.IsADE() && counts["UNASSIGN_DEVICES"] != 0 {
			t.Errorf("%s (%s): unassigned in Apple", r.Request.Serial, procedure.PathName(r.Request.Wipe, r.Request.Enrollment))
		}
	}
}
