package simulator

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// The change feed (docs/console-api.md, "The change feed"): GET /api/v1/changes lists, after a
// cursor, every change of what the console answers for a device (its record, its commands, the
// record's end), one entry a device and moment, in order. One follower of the feed learns of
// every device's change for one request, however many devices wait; the devices no longer poll.
//
// The feed is derived, not stored: every time the model changes a device (a ledger entry names
// it, or it checks in), the device's visible state is compared with the last one the feed saw,
// and what differs becomes an entry. It lives in memory only: a simulator that restarts (or
// resets) starts a new epoch, and a cursor of an older epoch answers 410, as one older than the
// retention does.

const (
	defaultFeedLimit = 500
	maxFeedLimit     = 1000
	// DefaultFeedRetention is how many entries the feed keeps (Config.FeedRetention).
	DefaultFeedRetention = 200_000
)

// Kinds of a change.
const (
	ChangeAdded   = console.ChangeAdded
	ChangeUpdated = console.ChangeUpdated
	ChangeRemoved = console.ChangeRemoved
)

// feedSnap is what the feed last saw of a device: the fields of its record and its commands.
type feedSnap struct {
	exists               bool
	status               string
	lostMode, workSmart  bool
	profiles, vpp, certs int
	lastCheckIn          time.Time
	commands             uint64 // hash of every command's id and status
}

type feedEntry struct {
	seq    uint64
	change console.Change
}

// feed is the change log; the Simulator's mu guards it.
type feed struct {
	epoch   string
	next    uint64 // seq of the next entry; entries[0].seq is the oldest kept
	entries []feedEntry
	snaps   map[string]feedSnap
	keep    int
	away    bool // RestartFeed's lost changes: noted by no epoch
}

// RestartFeed models a console whose change log restarted (its feed service restarted, or lost
// its log): a new epoch begins from the devices as they are, and every cursor given out before
// answers 410 cursor-expired, held reads included. lost, when not nil, runs first with the feed
// looking away: what it changes is in no epoch, and only a read of the device finds it.
func (s *Simulator) RestartFeed(lost func() error) error {
	s.mu.Lock()
	s.feed.away = true
	s.mu.Unlock()
	var err error
	if lost != nil {
		err = lost()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetFeed()
	s.wakeWatchers()
	return err
}

// resetFeed starts a new epoch from the devices as they are; the caller holds s.mu or owns s.
func (s *Simulator) resetFeed() {
	s.feedSeq++
	s.feed = feed{epoch: strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.FormatUint(s.feedSeq, 36),
		next: 1, snaps: map[string]feedSnap{}, keep: s.cfg.FeedRetention}
	for serial, d := range s.st.Devices {
		s.feed.snaps[serial] = s.snapOf(d)
	}
}

// snapOf is the visible state of d; the caller holds s.mu.
func (s *Simulator) snapOf(d *DeviceState) feedSnap {
	if !d.recordExists() {
		return feedSnap{}
	}
	h := fnv.New64a()
	for _, id := range d.CommandIDs {
		if c := s.st.Commands[id]; c != nil {
			fmt.Fprintf(h, "%s=%s;", id, c.Status)
		}
	}
	return feedSnap{exists: true, status: d.RecordStatus, lostMode: d.LostMode, workSmart: d.WorkSmart,
		profiles: len(d.Profiles), vpp: d.VPPLicenses, certs: d.Certificates, lastCheckIn: d.LastCheckIn, commands: h.Sum64()}
}

// noteFeed compares the device's visible state with the feed's last look and, when it differs,
// adds an entry (merged into the last one when that is the same device at the same moment). The
// caller holds s.mu.
func (s *Simulator) noteFeed(serial string, at time.Time) {
	d := s.st.Devices[serial]
	if d == nil || s.feed.snaps == nil || s.feed.away {
		return
	}
	was, known := s.feed.snaps[serial]
	now := s.snapOf(d)
	if known && was == now {
		return
	}
	s.feed.snaps[serial] = now
	kind := ChangeUpdated
	var fields []string
	switch {
	case !known || (!was.exists && now.exists):
		kind = ChangeAdded
	case !now.exists:
		kind = ChangeRemoved
	default:
		add := func(name string, differs bool) {
			if differs {
				fields = append(fields, name)
			}
		}
		add("status", was.status != now.status)
		add("lostMode", was.lostMode != now.lostMode)
		add("workSmart", was.workSmart != now.workSmart)
		add("profiles", was.profiles != now.profiles)
		add("vppLicenses", was.vpp != now.vpp)
		add("certificates", was.certs != now.certs)
		add("lastCheckIn", !was.lastCheckIn.Equal(now.lastCheckIn))
		add("commands", was.commands != now.commands)
	}
	at = at.UTC()
	if n := len(s.feed.entries); n > 0 {
		last := &s.feed.entries[n-1].change
		if last.Serial == serial && last.At.Equal(at) && last.Kind == ChangeUpdated && kind == ChangeUpdated {
			for _, f := range fields {
				if !slices.Contains(last.Fields, f) {
					last.Fields = append(last.Fields, f)
				}
			}
			s.wakeWatchers()
			return
		}
	}
	s.feed.entries = append(s.feed.entries, feedEntry{seq: s.feed.next, change: console.Change{Serial: serial, Kind: kind, Fields: fields, At: at}})
	s.feed.next++
	// Trim in chunks of an eighth of what is kept: one entry at a time would move every kept entry
	// on every change once the feed is full (a busy console's check-ins stalled the simulator).
	if over := len(s.feed.entries) - s.feed.keep; over > 0 && over >= max(1, s.feed.keep/8) {
		s.feed.entries = slices.Delete(s.feed.entries, 0, over)
	}
	s.wakeWatchers()
}

// cursorOf is the opaque cursor that resumes after seq.
func (f *feed) cursorOf(seq uint64) string { return f.epoch + "." + strconv.FormatUint(seq, 10) }

// after parses a cursor into the seq it resumes after; ok is false for a cursor of another epoch
// or one older than what the feed keeps (410), bad for one that does not parse (400).
func (f *feed) after(cursor string) (seq uint64, ok bool, bad bool) {
	if cursor == "" {
		// From the oldest change kept: a new follower misses nothing that happened since.
		cursor = f.oldest()
	}
	epoch, n, found := strings.Cut(cursor, ".")
	v, err := strconv.ParseUint(n, 10, 64)
	if !found || err != nil || epoch == "" {
		return 0, false, true
	}
	if epoch != f.epoch || v >= f.next {
		return 0, false, false
	}
	if v < f.oldestSeq() {
		return 0, false, false // the entries after it were dropped
	}
	return v, true, false
}

// oldest is the cursor of the oldest change kept: a follower restarts there after a 410.
func (f *feed) oldest() string { return f.cursorOf(f.oldestSeq()) }

// oldestSeq is the seq the oldest change kept comes after.
func (f *feed) oldestSeq() uint64 {
	if len(f.entries) == 0 {
		return f.next - 1
	}
	return f.entries[0].seq - 1
}

// page returns up to limit changes after seq; the caller holds s.mu.
func (f *feed) page(after uint64, limit int, skipCheckIns bool) (console.ChangePage, bool) {
	out := console.ChangePage{Changes: []console.Change{}, Cursor: f.cursorOf(after)}
	i, _ := slices.BinarySearchFunc(f.entries, after+1, func(e feedEntry, seq uint64) int { return int64Cmp(e.seq, seq) })
	for scanned := 0; i < len(f.entries) && len(out.Changes) < limit && scanned < 10*maxFeedLimit; i++ {
		scanned++
		c := f.entries[i].change
		if skipCheckIns && c.OnlyCheckIn() {
			out.Cursor = f.cursorOf(f.entries[i].seq) // passed over: the cursor moves on
			continue
		}
		c.Fields = slices.Clone(c.Fields)
		out.Changes = append(out.Changes, c)
		out.Cursor = f.cursorOf(f.entries[i].seq)
	}
	out.More = i < len(f.entries)
	return out, len(out.Changes) > 0
}

func int64Cmp(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// handleChanges serves GET /api/v1/changes?cursor=<opaque>&limit=<n>, holding an empty answer up
// to `Prefer: wait=<seconds>` until a change comes.
func (s *Simulator) handleChanges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultFeedLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxFeedLimit {
			writeConsoleError(w, http.StatusBadRequest, console.CodeBadRequest, fmt.Sprintf("limit must be a number from 1 to %d, got %q", maxFeedLimit, v))
			return
		}
		limit = n
	}
	cursor := q.Get("cursor")
	// skip=check-ins leaves out the changes of lastCheckIn alone, and holds the read until another comes.
	skipCheckIns := q.Get("skip") == "check-ins"
	wait := preferredWait(r)
	deadline := time.Now().Add(wait)
	if wait > 0 {
		w.Header().Set("Preference-Applied", "wait="+strconv.Itoa(int(wait/time.Second)))
	}
	for {
		s.mu.Lock()
		s.advance()
		after, ok, bad := s.feed.after(cursor)
		var page console.ChangePage
		var found bool
		if ok {
			page, found = s.feed.page(after, limit, skipCheckIns)
		}
		oldest := s.feed.oldest()
		changed := s.changedCh()
		next, hasNext := s.nextDue()
		s.mu.Unlock()
		switch {
		case bad:
			writeConsoleError(w, http.StatusBadRequest, console.CodeBadRequest, "the cursor is not one this console gave out: start again without a cursor")
			return
		case !ok:
			writeJSON(w, http.StatusGone, map[string]any{"error": map[string]string{"code": console.CodeCursorExpired,
				"message": "the changes after this cursor are no longer kept (or the console restarted): read every device you wait on once, then follow from the cursor given here"},
				"cursor": oldest})
			return
		}
		left := time.Until(deadline)
		if found || left <= 0 {
			writeJSON(w, http.StatusOK, page)
			return
		}
		// Nothing to answer yet: what was passed over (check-ins alone) is not scanned again.
		cursor = page.Cursor
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
