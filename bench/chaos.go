package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/internal/stack"
	"github.com/offboard/offboard/workflows"
)

// runChaos retires a fleet while the simulator injects 5xx, 429 (with Retry-After) and POSTs whose
// answer is lost after they took effect, and the worker, a real process (bin/worker's code, built
// here), is killed with SIGKILL again and again. It checks that every device reaches its outcome
// and that the ledger shows no destructive command taken on twice.
func runChaos(ctx context.Context, o options, srv *testsuite.DevServer, world *stack.Stack) error {
	n := o.sizes[0]
	dir, err := os.MkdirTemp("", "offboard-chaos")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("Chaos: building the worker (%s) ...\n", filepath.Join(dir, "worker"))
	bin, err := buildWorker(dir)
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	env := workerEnv(world.WorkerConfig(), srv.FrontendHostPort(), "")
	w := &workerProcess{bin: bin, env: env, log: logFile}
	if err := w.start(); err != nil {
		return err
	}
	defer w.kill()

	world.Sim.SetFaults(simulator.Faults{ErrorRate: 0.05, Rate429: 0.05, RetryAfterSeconds: 1, ErrorAfterCommitRate: 0.02})
	specs := make([]simulator.DeviceSpec, n)
	devices := make([]workflows.FleetDevice, n)
	ade := 0
	for i := range n {
		c := cells[i%len(cells)]
		serial := fmt.Sprintf("CHAOS%07d", i)
		spec := simulator.DeviceSpecFor(serial, string(c.enrollment))
		spec.CheckInEvery = simulator.Duration(30 * time.Second)
		spec.UserActsAfter = simulator.Duration(5 * time.Second)
		specs[i] = spec
		devices[i] = workflows.FleetDevice{Line: i + 2, Contact: "user@example.com",
			Request: procedure.Request{Serial: serial, Enrollment: c.enrollment, Wipe: c.wipe, WipeMethod: c.method}}
		if c.enrollment.IsADE() {
			ade++
		}
	}
	if err := world.Sim.AddDevices(specs...); err != nil {
		return err
	}
	c := srv.Client()
	ab := &bench{o: o, c: c, world: world}
	appleBefore := ab.readApple(ctx)
	timing := benchTiming
	timing.ApplePoll = 500 * time.Millisecond
	id := "chaos"
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: contract.FleetWorkflowID(id), TaskQueue: contract.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAFleetID.ValueSet(id)),
	}, contract.FleetWorkflowType, workflows.FleetInput{FleetID: id, Devices: devices, Window: min(o.window, 100), Confirmed: true,
		Timing: timing, CensusEvery: o.census, RequestedBy: "make chaos"})
	if err != nil {
		return err
	}
	fmt.Printf("Chaos: %d devices, window %d; faults %+v; SIGKILL of the worker every %s (log %s)\n",
		n, min(o.window, 100), world.Sim.Faults(), o.chaosKill, logPath)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	kills := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(o.chaosKill):
			}
			w.kill()
			kills++
			time.Sleep(500 * time.Millisecond)
			if err := w.start(); err != nil {
				fmt.Fprintln(os.Stderr, "chaos: restart the worker:", err)
			}
		}
	})
	tctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Minute)
	defer cancelTimeout()
	wctx, cancel := context.WithCancelCause(tctx)
	defer cancel(nil)
	wg.Go(func() { // a stuck Apple coordinator would hold every ADE device for the whole hour
		t := time.NewTicker(coordinatorWatch)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := ab.coordinatorStuck(ctx); err != nil {
					cancel(err)
					return
				}
			}
		}
	})
	var result workflows.FleetProgress
	err = run.Get(wctx, &result)
	close(stop)
	wg.Wait()
	took := time.Since(start)
	if cause := context.Cause(wctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		fmt.Printf("Chaos: given up after %s: %v\n", took.Round(time.Second), cause)
		ab.appleSince(ctx, appleBefore, devices).print(os.Stdout)
		return fmt.Errorf("chaos fleet: %w", cause)
	}
	if err != nil {
		return fmt.Errorf("chaos fleet: %w", err)
	}

	twice, unassignOff, hazards := 0, 0, 0
	for _, d := range devices {
		entries := world.Sim.Ledger(d.Request.Serial)
		for _, kind := range []string{console.CmdEraseDevice, console.CmdDeleteDevice, console.CmdPurgeDevice, console.CmdRemoveProfile,
			console.CmdRemoveCertificates, console.CmdRevokeVPPLicenses, "UNASSIGN_DEVICES"} {
			if k := simulator.CountLedger(entries, kind, simulator.OutcomeAccepted); k > 1 {
				twice++
				fmt.Printf("  %s: %s accepted %d times\n", d.Request.Serial, kind, k)
			}
		}
		want := 0
		if d.Request.Enrollment.IsADE() {
			want = 1
		}
		if simulator.CountLedger(entries, "UNASSIGN_DEVICES", simulator.OutcomeAccepted) != want {
			unassignOff++
		}
		for _, e := range entries {
			if e.Hazard != "" {
				hazards++
			}
		}
	}
	st := world.Sim.Stats()
	fmt.Printf("Chaos: %d devices in %s, worker killed %d times; outcomes %v in %d fleet runs\n", n, took.Round(time.Second), kills, result.ByState, result.Runs)
	fmt.Printf("  faults injected %v; Apple calls %d for %d ADE devices (%.3f a device)\n", st.Faults, st.AppleCalls, ade, float64(st.AppleCalls)/float64(max(ade, 1)))
	fmt.Printf("  ledger: destructive commands taken on twice: %d; ADE devices not unassigned exactly once: %d; hazards: %d\n", twice, unassignOff, hazards)
	ab.appleSince(ctx, appleBefore, devices).print(os.Stdout)
	if result.ByState[workflows.OutcomeRemoved] != n || twice > 0 || unassignOff > 0 {
		return fmt.Errorf("chaos: the fleet did not retire every device exactly once (see above)")
	}
	fmt.Println("Chaos: every device removed, nothing destructive twice.")
	return nil
}
