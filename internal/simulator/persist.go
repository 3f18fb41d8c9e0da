package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

const stateVersion = 1

// state is the whole model, as the state file keeps it.
type state struct {
	Version         int                           `json:"version"`
	SimNow          time.Time                     `json:"simNow"`
	Devices         map[string]*DeviceState       `json:"devices"`
	Commands        map[string]*storedCommand     `json:"commands"`
	IdempotencyKeys map[string]string             `json:"idempotencyKeys"` // key → command id; never expire
	Activities      map[string]*OrgDeviceActivity `json:"activities"`
	Ledger          []LedgerEntry                 `json:"ledger"`
	NextCommand     int                           `json:"nextCommand"`
	NextLedgerSeq   int                           `json:"nextLedgerSeq"`
	// Tokens maps the SHA-256 of each Apple access token to its expiry (real time), so a worker's
	// cached token survives a restart of the simulator while the file holds no usable token.
	Tokens   map[string]time.Time `json:"tokens"`
	Counters counters             `json:"counters"`
}

type counters struct {
	Calls        map[string]int `json:"calls"`
	Faults       map[string]int `json:"faults"`
	TokensIssued int            `json:"tokensIssued"`
}

func newState() state {
	return state{
		Version:         stateVersion,
		Devices:         map[string]*DeviceState{},
		Commands:        map[string]*storedCommand{},
		IdempotencyKeys: map[string]string{},
		Activities:      map[string]*OrgDeviceActivity{},
		Tokens:          map[string]time.Time{},
		Counters:        counters{Calls: map[string]int{}, Faults: map[string]int{}},
	}
}

// loadState reads the state file; ok is false when there is none yet. A file that cannot be read
// is an error rather than a fresh start, so a bad file never silently loses the devices.
func loadState(path string) (state, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, false, nil
	}
	if err != nil {
		return state{}, false, fmt.Errorf("simulator: read state file: %w", err)
	}
	st := newState()
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, false, fmt.Errorf("simulator: state file %s is not valid JSON (move it away to start afresh): %w", path, err)
	}
	if st.Version != stateVersion {
		return state{}, false, fmt.Errorf("simulator: state file %s has version %d, want %d", path, st.Version, stateVersion)
	}
	// Maps the file may lack (an older or hand-edited file).
	fresh := newState()
	if st.Devices == nil {
		st.Devices = fresh.Devices
	}
	if st.Commands == nil {
		st.Commands = fresh.Commands
	}
	if st.IdempotencyKeys == nil {
		st.IdempotencyKeys = fresh.IdempotencyKeys
	}
	if st.Activities == nil {
		st.Activities = fresh.Activities
	}
	if st.Tokens == nil {
		st.Tokens = fresh.Tokens
	}
	if st.Counters.Calls == nil {
		st.Counters.Calls = fresh.Counters.Calls
	}
	if st.Counters.Faults == nil {
		st.Counters.Faults = fresh.Counters.Faults
	}
	return st, true, nil
}

// save writes the state file atomically: a temporary file in the same directory, synced, then
// renamed over the old one, so a crash leaves either the old state or the new one.
func (s *Simulator) save() error {
	if s.cfg.StateFile == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	s.advance() // the file records the model at the clock's time
	b, err := json.Marshal(&s.st)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("simulator: encode state: %w", err)
	}
	dir := filepath.Dir(s.cfg.StateFile)
	tmp, err := os.CreateTemp(dir, filepath.Base(s.cfg.StateFile)+".tmp-*")
	if err != nil {
		return fmt.Errorf("simulator: save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("simulator: save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("simulator: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("simulator: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.cfg.StateFile); err != nil {
		return fmt.Errorf("simulator: save state: %w", err)
	}
	return nil
}

// saveLoop saves the state a little after changes, so a burst of requests costs one write.
func (s *Simulator) saveLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.dirty:
		}
		t := time.NewTimer(s.cfg.SaveDebounce)
		select {
		case <-s.done:
			t.Stop()
			return // Close saves
		case <-t.C:
		}
		if err := s.save(); err != nil {
			s.log.Error("simulator: saving the state failed; will try again on the next change", zap.Error(err))
		}
	}
}
