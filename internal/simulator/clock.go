package simulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Clock tells the simulator what simulated time it is. Everything on the device side (check-ins,
// the user's delay, deletions finishing, Apple activities completing) runs on this clock, so a
// test can move it forward instead of sleeping.
type Clock interface {
	Now() time.Time
}

// Advancer is a Clock that can jump forward: the demo's "skip the wait" and the tests' way to
// let hours pass at once.
type Advancer interface {
	Clock
	Advance(d time.Duration)
}

// ScaledClock runs simulated time TimeScale times faster than real time, from a chosen start.
type ScaledClock struct {
	mu        sync.Mutex
	scale     float64
	realStart time.Time
	simStart  time.Time
	offset    time.Duration // added by Advance
	real      func() time.Time
}

// NewScaledClock returns a clock that reads simStart now and runs scale simulated seconds per real
// second. A scale of 0 or less means real time (1).
func NewScaledClock(simStart time.Time, scale float64) *ScaledClock {
	if scale <= 0 {
		scale = 1
	}
	return &ScaledClock{scale: scale, realStart: time.Now(), simStart: simStart.UTC(), real: time.Now}
}

// Now returns the simulated time.
func (c *ScaledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	elapsed := c.real().Sub(c.realStart)
	return c.simStart.Add(c.offset + time.Duration(float64(elapsed)*c.scale))
}

// Advance moves simulated time forward by d at once.
func (c *ScaledClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Scale is the number of simulated seconds per real second.
func (c *ScaledClock) Scale() float64 { return c.scale }

// ManualClock stands still until Advance or Set moves it: the clock of deterministic tests.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock that reads start until it is moved.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start.UTC()} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t (never backwards).
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t.UTC()
	}
	c.mu.Unlock()
}

// Never is the Duration of something that does not happen: a device that never checks in, a user
// who never acts.
const Never Duration = -1

// Duration is a time.Duration that reads and writes JSON as text ("4h", "90m", "2d", "never"); a
// JSON number is read as seconds.
type Duration time.Duration

// Std returns d as a time.Duration (Never is negative).
func (d Duration) Std() time.Duration { return time.Duration(d) }

// IsNever reports whether d means "never".
func (d Duration) IsNever() bool { return d < 0 }

func (d Duration) String() string {
	if d.IsNever() {
		return "never"
	}
	return time.Duration(d).String()
}

// MarshalJSON writes d as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads text ("4h", "2d", "never") or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return fmt.Errorf("duration: want text like \"4h\" or \"never\", or seconds: %s", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration reads "never", Go durations ("90m", "4h30m") and whole days ("2d").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.EqualFold(s, "never"):
		return Never, nil
	case strings.HasSuffix(s, "d"):
		days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || days < 0 {
			return 0, fmt.Errorf("duration %q: want whole days like \"2d\"", s)
		}
		return Duration(time.Duration(days) * 24 * time.Hour), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q is negative: use \"never\"", s)
	}
	return Duration(v), nil
}
