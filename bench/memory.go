package main

import (
	"bufio"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The workers (and the simulator) run in this process, so this process's memory is theirs.

const heapMetric = "/memory/classes/heap/objects:bytes"

// memSampler records the peak of the live-and-dead heap objects, every 100 ms.
type memSampler struct{ max atomic.Uint64 }

func startMemSampler() *memSampler {
	m := &memSampler{}
	go func() {
		sample := []metrics.Sample{{Name: heapMetric}}
		for range time.Tick(100 * time.Millisecond) {
			metrics.Read(sample)
			v := sample[0].Value.Uint64()
			for {
				old := m.max.Load()
				if v <= old || m.max.CompareAndSwap(old, v) {
					break
				}
			}
		}
	}()
	return m
}

func (m *memSampler) resetPeak()   { m.max.Store(0) }
func (m *memSampler) peak() uint64 { return m.max.Load() }

// liveHeapAfterGC is the heap that survives a full collection: what the process holds on to.
func liveHeapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// vmHWM is the process's peak resident set (VmHWM in /proc/self/status), in bytes.
func vmHWM() uint64 { return peakRSS("self") }

// peakRSS is a process's peak resident set (VmHWM in /proc/<pid>/status), in bytes; 0 when it
// cannot be read.
func peakRSS(pid string) uint64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mb(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }

// cpuTimes are CPU seconds used so far by this process (workers, simulator) and by the dev
// server, a child process of this one.
type cpuTimes struct{ self, server float64 }

func readCPU() cpuTimes {
	return cpuTimes{self: procCPU("/proc/self/stat"), server: serverCPU()}
}

func (a cpuTimes) minus(b cpuTimes) cpuTimes { return cpuTimes{a.self - b.self, a.server - b.server} }

// procCPU reads utime+stime of a /proc/<pid>/stat file, in seconds (100 ticks a second).
func procCPU(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

// childCPU sums the CPU of this process's children whose command is name.
func childCPU(ppid int, name string) float64 {
	entries, _ := os.ReadDir("/proc")
	total := 0.0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 || s[open+1:close] != name || f[1] != strconv.Itoa(ppid) {
			continue
		}
		total += procCPU("/proc/" + e.Name() + "/stat")
	}
	return total
}
