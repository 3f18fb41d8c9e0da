package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
)

type sizeResult struct {
	n, window int
	floors    []floorRun
	fleets    []fleetRun
}

// rates is the mean devices per second of runs, and their range.
func rates[T interface{ perSecond() float64 }](runs []T) (mean, lo, hi float64) {
	if len(runs) == 0 {
		return 0, 0, 0
	}
	lo, hi = runs[0].perSecond(), runs[0].perSecond()
	for _, r := range runs {
		v := r.perSecond()
		mean += v
		lo, hi = min(lo, v), max(hi, v)
	}
	return mean / float64(len(runs)), lo, hi
}

func rateText(mean, lo, hi float64, n int) string {
	if n < 2 {
		return fmt.Sprintf("%.1f", mean)
	}
	return fmt.Sprintf("%.1f (%.1f-%.1f)", mean, lo, hi)
}

// machine describes where the benchmark runs.
func machine(temporalCLI, server string) string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
		f.Close()
	}
	mem := ""
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		if s.Scan() {
			mem = ", " + strings.Join(strings.Fields(s.Text())[1:], " ") + " RAM"
		}
		f.Close()
	}
	version := "?"
	if out, err := exec.Command(temporalCLI, "--version").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("Machine: %s, %d cores (runtime.NumCPU)%s, %s %s/%s\nTemporal: %s (%s)\n",
		model, runtime.NumCPU(), mem, runtime.Version(), runtime.GOOS, runtime.GOARCH, version, server)
}

// report prints the results.
func report(w io.Writer, o options, activities int, results []sizeResult) {
	fmt.Fprintf(w, "Results (window %d; floor children run %d no-op activities each)\n\n", o.window, activities)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "devices\tfloor dev/s\tfleet dev/s\tfleet/floor\tfleet time\tApple calls/ADE device\tpeak heap MB\tlive heap after GC 25/50/75/100% MB\tof it not the simulator's MB\tVmHWM MB\tdestructive twice\t")
	for _, r := range results {
		fm, flo, fhi := rates(r.floors)
		dm, dlo, dhi := rates(r.fleets)
		ratio := "-"
		if fm > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*dm/fm)
		}
		last := r.fleets[len(r.fleets)-1]
		apple, ade, twice := 0, 0, 0
		for _, f := range r.fleets {
			apple, ade, twice = apple+f.appleCalls, ade+f.ade, twice+f.twice
		}
		h := last.heapAfterGC
		// The simulator's state grows with the devices it has seen; at k of the way it holds about
		// k of what it held at the end. What is left is the workers' (and the client's).
		var rest [4]uint64
		for i := range h {
			sim := last.simShare * uint64(i+1) / 4
			if h[i] > sim {
				rest[i] = h[i] - sim
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s/%s/%s/%s\t%s/%s/%s/%s\t%s\t%d\t\n", r.n, rateText(fm, flo, fhi, len(r.floors)),
			rateText(dm, dlo, dhi, len(r.fleets)), ratio, last.took.Round(100_000_000), float64(apple)/float64(max(ade, 1)), mb(last.peakHeap),
			mb(h[0]), mb(h[1]), mb(h[2]), mb(h[3]), mb(rest[0]), mb(rest[1]), mb(rest[2]), mb(rest[3]), mb(last.vmHWM), twice)
	}
	_ = tw.Flush()

	fmt.Fprintln(w, "\nHistory events per device (device workflow; fleet side = fleet runs + device list + batcher, per device)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	var paths []string
	for _, r := range results {
		for p := range r.fleets[0].eventsByPath {
			if !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	slices.Sort(paths)
	fmt.Fprint(tw, "devices\t")
	for _, p := range paths {
		fmt.Fprintf(tw, "%s\t", p)
	}
	fmt.Fprintln(tw, "fleet side\tfloor child\tfloor parent\t")
	for _, r := range results {
		fleet := r.fleets[len(r.fleets)-1]
		var floor floorRun
		if len(r.floors) > 0 {
			floor = r.floors[len(r.floors)-1]
		}
		fmt.Fprintf(tw, "%d\t", r.n)
		for _, p := range paths {
			if m := fleet.eventsByPath[p]; m != nil {
				fmt.Fprintf(tw, "%.0f\t", m.value())
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintf(tw, "%.1f\t%d\t%.1f\t\n", fleet.fleetSide, floor.childEvent, floor.parentSide)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, r := range results {
		for i, f := range r.fleets {
			fmt.Fprintf(w, "%d devices, round %d: outcomes %v in %d fleet run(s); ledger hazards %d\n", r.n, i+1, f.outcomes, f.runs, f.hazards)
		}
	}
	printCosts(w, results)
}
