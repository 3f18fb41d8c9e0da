package simulator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// Long polls (docs/console-api.md, "Waiting for a change"): a GET of a device or a command that
// carries the ETag the client already holds (If-None-Match) and `Prefer: wait=<seconds>` is held
// until the answer differs from that ETag, or the wait is over (304 Not Modified). A poll of the
// workflows then costs one request however soon the device checks in, and learns of it at once.

// maxWait caps what a client may ask to be held.
const maxWait = 60 * time.Second

// preferredWait reads `Prefer: wait=<delta-seconds>` (RFC 7240); 0 when absent or malformed.
func preferredWait(r *http.Request) time.Duration {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(value), `"`))
			if err != nil || n <= 0 {
				return 0
			}
			return min(time.Duration(n)*time.Second, maxWait)
		}
	}
	return 0
}

// etagOf is a strong ETag of an answer: a hash of its JSON.
func etagOf(v any) string {
	b, _ := json.Marshal(v)
	h := fnv.New64a()
	_, _ = h.Write(b)
	return fmt.Sprintf(`"%016x"`, h.Sum64())
}

// answer is what a GET would answer now: a body with its ETag, or an error.
type answer struct {
	body any
	etag string
	err  *console.APIError
}

// serveWatched answers a GET, holding it while the client already has the answer and asked to
// wait. read is called with s.mu held.
func (s *Simulator) serveWatched(w http.ResponseWriter, r *http.Request, read func() answer) {
	held := r.Header.Get("If-None-Match")
	wait := preferredWait(r)
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		a := read()
		changed := s.changedCh()
		next, hasNext := s.nextDue()
		s.mu.Unlock()
		if a.err != nil {
			writeConsoleError(w, a.err.Status, a.err.Code, a.err.Message)
			return
		}
		w.Header().Set("ETag", a.etag)
		if wait > 0 {
			w.Header().Set("Preference-Applied", "wait="+strconv.Itoa(int(wait/time.Second)))
		}
		if held == "" || held != a.etag {
			writeJSON(w, http.StatusOK, a.body)
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		// Look again when the model changes, when its next event falls due (a check-in, a user's
		// action, the end of a deletion), or after a tick at the latest.
		recheck := min(left, s.cfg.TickInterval)
		if hasNext {
			recheck = min(recheck, max(next, time.Millisecond))
		}
		timer := time.NewTimer(recheck)
		select {
		case <-changed:
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		case <-s.done:
			timer.Stop()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		timer.Stop()
	}
}

// changedCh is closed at the model's next change; the caller holds s.mu.
func (s *Simulator) changedCh() <-chan struct{} {
	if s.watchers == nil {
		s.watchers = make(chan struct{})
	}
	return s.watchers
}

// wakeWatchers tells held requests the model changed; the caller holds s.mu.
func (s *Simulator) wakeWatchers() {
	if s.watchers != nil {
		close(s.watchers)
		s.watchers = nil
	}
}

// nextDue is the real time until the model's next event; the caller holds s.mu.
func (s *Simulator) nextDue() (time.Duration, bool) {
	if len(s.events) == 0 {
		return 0, false
	}
	sim := s.events[0].at.Sub(s.clock.Now())
	if sc, ok := s.clock.(*ScaledClock); ok && sc.Scale() > 0 {
		return time.Duration(float64(sim) / sc.Scale()), true
	}
	return 0, false // a manual clock moves only when a test moves it: the tick looks again
}
