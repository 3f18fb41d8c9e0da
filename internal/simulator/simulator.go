// Package simulator is the embedded stand-in for the outside world of Offboard: the console API
// of docs/console-api.md, Apple's Apple Business API, and the devices and users behind them, on a
// scaled clock, with fault injection and a ledger of everything that was asked and done. The
// demo, the tests and the benchmarks run on it; see docs/simulator.md. It knows nothing of Temporal.
package simulator

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Simulator serves the console API, the Apple Business API and its own /sim API from one model
// guarded by one mutex. The model moves to the clock's time before every request and on a
// background tick, firing due events (check-ins, users acting, deletions finishing, activities
// completing) in time order.
type Simulator struct {
	cfg     Config
	clock   Clock
	log     *zap.Logger
	handler http.Handler

	mu             sync.Mutex
	st             state
	ledgerBySerial map[string][]int // serial → indexes into st.Ledger
	events         eventQueue
	eventSeq       uint64

	faults faultInjector

	feed    feed   // the change feed (feed.go), derived from the model, in memory only
	feedSeq uint64 // counts the feed's epochs

	dirty     chan struct{} // a change waits to be saved
	watchers  chan struct{} // closed at the next change: wakes held GETs (watch.go)
	done      chan struct{}
	wg        sync.WaitGroup
	saveMu    sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

// New loads cfg.StateFile when it exists and starts the simulator's ticker and saver; Close stops
// them.
func New(cfg Config) (*Simulator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Simulator{
		cfg:   cfg,
		log:   cfg.Logger,
		dirty: make(chan struct{}, 1),
		done:  make(chan struct{}),
		st:    newState(),
	}
	s.faults.init()
	if cfg.StateFile != "" {
		loaded, ok, err := loadState(cfg.StateFile)
		if err != nil {
			return nil, err
		}
		if ok {
			s.st = loaded
		}
	}
	s.clock = cfg.Clock
	if m, ok := s.clock.(*ManualClock); ok {
		m.Set(s.st.SimNow) // a test's clock picks up where the state file left simulated time
	}
	if s.clock == nil {
		// Simulated time goes on from where the state file left it: pending check-ins and
		// deletions neither fire early nor wait out the time the simulator was down.
		start := time.Now()
		if s.st.SimNow.After(start) {
			start = s.st.SimNow
		}
		s.clock = NewScaledClock(start, cfg.TimeScale)
	}
	s.rebuildIndexes()
	s.handler = s.routes()
	s.wg.Add(2)
	go s.tick()
	go s.saveLoop()
	return s, nil
}

// Handler serves /api/v1 (console), /v1 and /auth (Apple Business) and /sim (administration: no
// authentication, so bind the listener to localhost).
func (s *Simulator) Handler() http.Handler { return s.handler }

// Now is the simulated time.
func (s *Simulator) Now() time.Time { return s.clock.Now() }

// Clock is the simulator's clock; with a ManualClock in Config, tests move it themselves.
func (s *Simulator) Clock() Clock { return s.clock }

// AddDevices adds devices; a serial that exists already is an error and adds nothing.
func (s *Simulator) AddDevices(specs ...DeviceSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.advance()
	seen := map[string]bool{}
	for i := range specs {
		specs[i].Serial = normalizeSerial(specs[i].Serial)
		if err := specs[i].validate(); err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		if _, ok := s.st.Devices[specs[i].Serial]; ok || seen[specs[i].Serial] {
			return fmt.Errorf("simulator: device %s: %w", specs[i].Serial, ErrDeviceExists)
		}
		seen[specs[i].Serial] = true
	}
	for _, spec := range specs {
		d := newDevice(spec, s.cfg, now)
		s.st.Devices[d.Serial] = d
		s.scheduleDevice(d)
		s.noteFeed(d.Serial, now)
	}
	s.changed()
	return nil
}

// Device returns the whole state of a device, including a deleted one; ok is false for a serial
// never added.
func (s *Simulator) Device(serial string) (DeviceState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	d, ok := s.st.Devices[normalizeSerial(serial)]
	if !ok {
		return DeviceState{}, false
	}
	return s.view(d), true
}

// view is a copy of a device with its commands; the caller holds s.mu.
func (s *Simulator) view(d *DeviceState) DeviceState {
	out := d.clone()
	for _, id := range d.CommandIDs {
		if c, ok := s.st.Commands[id]; ok {
			out.Commands = append(out.Commands, c.Command)
		}
	}
	return out
}

// Devices returns every device, by serial.
func (s *Simulator) Devices() []DeviceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	out := make([]DeviceState, 0, len(s.st.Devices))
	for _, d := range s.st.Devices {
		out = append(out, s.view(d))
	}
	slices.SortFunc(out, func(a, b DeviceState) int { return cmp.Compare(a.Serial, b.Serial) })
	return out
}

// Ledger returns the ledger entries of serial, oldest first; "" returns every entry.
func (s *Simulator) Ledger(serial string) []LedgerEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if serial == "" {
		return slices.Clone(s.st.Ledger)
	}
	idx := s.ledgerBySerial[normalizeSerial(serial)]
	out := make([]LedgerEntry, 0, len(idx))
	for _, i := range idx {
		out = append(out, s.st.Ledger[i])
	}
	return out
}

// SetFaults replaces the faults injected into /api/v1, /v1 and /auth requests.
func (s *Simulator) SetFaults(f Faults) { s.faults.set(f) }

// Faults returns the faults in force.
func (s *Simulator) Faults() Faults { return s.faults.get() }

// CheckIn makes the device check in now, as if its interval had come round.
func (s *Simulator) CheckIn(serial string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.advance()
	d, ok := s.st.Devices[normalizeSerial(serial)]
	if !ok {
		return fmt.Errorf("simulator: no device %s", serial)
	}
	if !d.recordExists() {
		return fmt.Errorf("simulator: device %s: the record is deleted; the device no longer checks in", d.Serial)
	}
	s.checkIn(d, now)
	s.changed()
	return nil
}

// AdvanceClock moves simulated time forward by d, when the clock can jump (a ManualClock or the
// scaled clock), and lets everything due meanwhile happen, in time order.
func (s *Simulator) AdvanceClock(d time.Duration) error {
	adv, ok := s.clock.(Advancer)
	if !ok {
		return fmt.Errorf("simulator: this clock (%T) cannot be advanced", s.clock)
	}
	adv.Advance(d)
	s.mu.Lock()
	s.advance()
	s.changed()
	s.mu.Unlock()
	return nil
}

// Reset forgets every device, command, idempotency key, activity, ledger entry, counter and
// fault. Issued access tokens stay valid, so a running worker is not logged out.
func (s *Simulator) Reset() {
	s.faults.set(Faults{})
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := newState()
	fresh.Tokens = s.st.Tokens
	fresh.NextCommand = s.st.NextCommand // command ids are never reused
	s.st = fresh
	s.rebuildIndexes()
	s.changed()
}

// Close stops the ticker and the saver and saves the state a last time.
func (s *Simulator) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		s.closeErr = s.save()
	})
	return s.closeErr
}

// tick moves the model to the clock's time now and then, so an idle simulator still saves the
// effects of time passing.
func (s *Simulator) tick() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.mu.Lock()
			s.advance()
			s.mu.Unlock()
		}
	}
}

// changed asks the saver to save soon; the caller holds s.mu.
func (s *Simulator) changed() {
	s.wakeWatchers()
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// rebuildIndexes derives the ledger index and the event queue from the state; the caller holds
// s.mu or owns s.
func (s *Simulator) rebuildIndexes() {
	s.ledgerBySerial = map[string][]int{}
	for i, e := range s.st.Ledger {
		if e.Serial != "" {
			s.ledgerBySerial[e.Serial] = append(s.ledgerBySerial[e.Serial], i)
		}
	}
	s.events = nil
	for _, d := range s.st.Devices {
		s.scheduleDevice(d)
	}
	for _, a := range s.st.Activities {
		if !a.final() {
			s.schedule(event{at: a.CompleteAt, kind: evActivityDone, id: a.ID})
		}
	}
	s.resetFeed()
}
