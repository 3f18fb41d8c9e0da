package simulator

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// changes reads one page of the feed.
func (h *harness) changes(cursor string, limit int, hdr map[string]string) (int, console.ChangePage, string) {
	h.t.Helper()
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if hdr == nil {
		hdr = auth(testToken)
	}
	rec := h.do(http.MethodGet, "/api/v1/changes?"+q.Encode(), nil, hdr)
	var page console.ChangePage
	code := ""
	if rec.Code == http.StatusOK {
		decode(h.t, rec, &page)
	} else {
		code = consoleCode(h.t, rec)
	}
	return rec.Code, page, code
}

func serialsOf(cs []console.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Serial)
	}
	return out
}

func TestFeedListsEachDevicesChangesAfterTheCursor(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual), DeviceSpecFor("SER2", EnrollmentManual))

	status, first, _ := h.changes("", 0, nil)
	if status != http.StatusOK || len(first.Changes) != 2 || first.More {
		t.Fatalf("first page: %d %+v, want the two devices added", status, first)
	}
	for _, c := range first.Changes {
		if c.Kind != console.ChangeAdded || !c.At.Equal(t0) {
			t.Errorf("change %+v, want added at %s", c, t0)
		}
	}

	// A command queued for SER1, then its check-in carries it out: SER2 does nothing.
	if st, _, _ := h.send("SER1", "k-erase", console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"}); st != http.StatusAccepted {
		t.Fatalf("erase: %d", st)
	}
	h.clock.Advance(time.Minute)
	if err := h.sim.CheckIn("SER1"); err != nil {
		t.Fatal(err)
	}
	_, page, _ := h.changes(first.Cursor, 0, nil)
	if got := serialsOf(page.Changes); !slices.Equal(got, []string{"SER1", "SER1"}) {
		t.Fatalf("changes after the cursor: %+v, want SER1's two", page.Changes)
	}
	if c := page.Changes[0]; !slices.Equal(c.Fields, []string{"commands"}) {
		t.Errorf("the queued command: fields %v, want [commands]", c.Fields)
	}
	checkIn := page.Changes[1]
	for _, f := range []string{"status", "lastCheckIn", "commands", "profiles"} {
		if !slices.Contains(checkIn.Fields, f) {
			t.Errorf("the erasing check-in: fields %v lack %s", checkIn.Fields, f)
		}
	}
	if checkIn.OnlyCheckIn() || !checkIn.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("the erasing check-in: %+v", checkIn)
	}

	// A check-in that changes nothing else is a change of lastCheckIn only.
	h.clock.Advance(time.Minute)
	if err := h.sim.CheckIn("SER2"); err != nil {
		t.Fatal(err)
	}
	_, next, _ := h.changes(page.Cursor, 0, nil)
	if len(next.Changes) != 1 || next.Changes[0].Serial != "SER2" || !next.Changes[0].OnlyCheckIn() {
		t.Errorf("a plain check-in: %+v, want SER2's lastCheckIn only", next.Changes)
	}
	_, empty, _ := h.changes(next.Cursor, 0, nil)
	if len(empty.Changes) != 0 || empty.More || empty.Cursor != next.Cursor {
		t.Errorf("nothing new: %+v, want no changes and the same cursor", empty)
	}
}

func TestFeedPages(t *testing.T) {
	h := newHarness(t)
	for _, s := range []string{"P1", "P2", "P3", "P4", "P5"} {
		h.add(DeviceSpecFor(s, EnrollmentManual))
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the feed never said there is no more")
		}
		status, page, _ := h.changes(cursor, 2, nil)
		if status != http.StatusOK || len(page.Changes) > 2 {
			t.Fatalf("page: %d %+v", status, page)
		}
		got = append(got, serialsOf(page.Changes)...)
		cursor = page.Cursor
		if !page.More {
			break
		}
	}
	if !slices.Equal(got, []string{"P1", "P2", "P3", "P4", "P5"}) {
		t.Errorf("pages of 2: %v, want every device once, in order", got)
	}
	for _, bad := range []string{"0", "1001", "x"} {
		rec := h.do(http.MethodGet, "/api/v1/changes?limit="+bad, nil, auth(testToken))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("limit=%s: %d, want 400", bad, rec.Code)
		}
	}
}

func TestFeedAnswersGoneForACursorItNoLongerKeeps(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.FeedRetention = 2 })
	h.add(DeviceSpecFor("G1", EnrollmentManual))
	_, page, _ := h.changes("", 0, nil)
	old := page.Cursor
	for _, s := range []string{"G2", "G3", "G4"} {
		h.add(DeviceSpecFor(s, EnrollmentManual))
	}
	rec := h.do(http.MethodGet, "/api/v1/changes?cursor="+url.QueryEscape(old), nil, auth(testToken))
	if rec.Code != http.StatusGone || consoleCode(t, rec) != console.CodeCursorExpired {
		t.Fatalf("a cursor older than what is kept: %d %s, want 410 cursor-expired", rec.Code, rec.Body.String())
	}
	var gone struct {
		Cursor string `json:"cursor"`
	}
	decode(t, rec, &gone)
	_, resumed, _ := h.changes(gone.Cursor, 0, nil)
	if got := serialsOf(resumed.Changes); !slices.Equal(got, []string{"G3", "G4"}) {
		t.Errorf("from the cursor the 410 gave: %v, want the two kept", got)
	}

	// A restarted (here: reset) console starts a new epoch: an old cursor is gone too.
	h.sim.Reset()
	if status, _, code := h.changes(resumed.Cursor, 0, nil); status != http.StatusGone || code != console.CodeCursorExpired {
		t.Errorf("a cursor of the last epoch: %d %s, want 410", status, code)
	}
	if status, _, code := h.changes("not-a-cursor", 0, nil); status != http.StatusBadRequest || code != console.CodeBadRequest {
		t.Errorf("a cursor never given out: %d %s, want 400", status, code)
	}
}

func TestFeedNeedsTheTokenAndMeetsFaults(t *testing.T) {
	h := newHarness(t)
	if status, _, code := h.changes("", 0, map[string]string{}); status != http.StatusUnauthorized || code != console.CodeUnauthorized {
		t.Errorf("no token: %d %s, want 401", status, code)
	}
	h.sim.SetFaults(Faults{Rate429: 1, RetryAfterSeconds: 7})
	rec := h.do(http.MethodGet, "/api/v1/changes", nil, auth(testToken))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "7" {
		t.Errorf("under a 429 fault: %d Retry-After %q, want 429 with 7", rec.Code, rec.Header().Get("Retry-After"))
	}
	h.sim.SetFaults(Faults{})
	if n := h.sim.Stats().Calls["GET /api/v1/changes"]; n != 2 {
		t.Errorf("counted %d feed requests, want 2 (the 401 and the 429)", n)
	}
	if c := h.sim.Stats().ConsoleCalls; c != 2 {
		t.Errorf("console calls %d, want the feed's 2", c)
	}
}

func TestFeedHoldsAnEmptyAnswerUntilAChange(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("W1", EnrollmentManual))
	_, page, _ := h.changes("", 0, nil)
	go func() {
		time.Sleep(200 * time.Millisecond)
		h.clock.Advance(time.Hour)
		_ = h.sim.CheckIn("W1")
	}()
	start := time.Now()
	hdr := auth(testToken)
	hdr["Prefer"] = "wait=10"
	rec := h.do(http.MethodGet, "/api/v1/changes?cursor="+url.QueryEscape(page.Cursor), nil, hdr)
	var held console.ChangePage
	decode(t, rec, &held)
	if took := time.Since(start); took > 5*time.Second || took < 150*time.Millisecond {
		t.Errorf("the held read took %s: it should end at the check-in, after 200ms", took)
	}
	if len(held.Changes) != 1 || held.Changes[0].Serial != "W1" || rec.Header().Get("Preference-Applied") != "wait=10" {
		t.Errorf("held read: %+v (Preference-Applied %q)", held, rec.Header().Get("Preference-Applied"))
	}
	// Nothing comes: the hold ends empty after the wait.
	hdr["Prefer"] = "wait=1"
	start = time.Now()
	rec = h.do(http.MethodGet, "/api/v1/changes?cursor="+url.QueryEscape(held.Cursor), nil, hdr)
	decode(t, rec, &held)
	if took := time.Since(start); rec.Code != http.StatusOK || len(held.Changes) != 0 || took < 900*time.Millisecond {
		t.Errorf("no change: %d %+v after %s, want an empty 200 after a second", rec.Code, held, took)
	}
}

func TestFeedCanSkipCheckInsAlone(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("S1", EnrollmentManual), DeviceSpecFor("S2", EnrollmentManual))
	_, page, _ := h.changes("", 0, nil)
	h.clock.Advance(time.Minute)
	_ = h.sim.CheckIn("S1") // a check-in alone
	if st, _, _ := h.send("S2", "k-s2", console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"}); st != http.StatusAccepted {
		t.Fatalf("erase: %d", st)
	}
	rec := h.do(http.MethodGet, "/api/v1/changes?skip=check-ins&cursor="+url.QueryEscape(page.Cursor), nil, auth(testToken))
	var skipped console.ChangePage
	decode(t, rec, &skipped)
	if got := serialsOf(skipped.Changes); !slices.Equal(got, []string{"S2"}) {
		t.Fatalf("skip=check-ins: %v, want S2's command only", got)
	}
	// Only check-ins come: a held read skipping them waits the whole wait, and its cursor moves past them.
	go func() {
		time.Sleep(100 * time.Millisecond)
		h.clock.Advance(time.Minute)
		_ = h.sim.CheckIn("S1")
	}()
	hdr := auth(testToken)
	hdr["Prefer"] = "wait=1"
	start := time.Now()
	rec = h.do(http.MethodGet, "/api/v1/changes?skip=check-ins&cursor="+url.QueryEscape(skipped.Cursor), nil, hdr)
	var held console.ChangePage
	decode(t, rec, &held)
	if took := time.Since(start); len(held.Changes) != 0 || took < 900*time.Millisecond || held.Cursor == skipped.Cursor {
		t.Errorf("only a check-in came: %+v after %s, want no changes after the whole second and the cursor past the check-in", held, took)
	}
}

// A restarted change log: the cursors given out before answer 410, what changed while it was
// away is in no epoch (a read of the device finds it), and what changes after is followed.
func TestFeedRestartLosesTheChangesItMissed(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("R1", EnrollmentManual))
	_, page, _ := h.changes("", 0, nil)
	if err := h.sim.RestartFeed(func() error { return h.sim.AddDevices(DeviceSpecFor("R2", EnrollmentManual)) }); err != nil {
		t.Fatal(err)
	}
	if status, _, code := h.changes(page.Cursor, 0, nil); status != http.StatusGone || code != console.CodeCursorExpired {
		t.Fatalf("a cursor of before the restart: %d %s, want 410 cursor-expired", status, code)
	}
	if _, ok := h.sim.Device("R2"); !ok {
		t.Fatal("the change made while the feed was away did not happen")
	}
	h.add(DeviceSpecFor("R3", EnrollmentManual))
	_, after, _ := h.changes("", 0, nil)
	if got := serialsOf(after.Changes); !slices.Equal(got, []string{"R3"}) {
		t.Errorf("the new epoch: %v, want R3 alone (R2 was added while the feed was away)", got)
	}
}
