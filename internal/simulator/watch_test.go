package simulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// A GET that carries the ETag the client holds and Prefer: wait is held until the answer changes,
// or answers 304 when the wait is over.
func TestLongPollHoldsUntilTheRecordChanges(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	path := "/api/v1/devices/SER1"
	first := h.do(http.MethodGet, path, nil, auth(testToken))
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || etag == "" {
		t.Fatalf("first read: %d, ETag %q", first.Code, etag)
	}
	hdr := auth(testToken)
	hdr["If-None-Match"] = etag
	if rec := h.do(http.MethodGet, path, nil, hdr); rec.Code != http.StatusNotModified {
		t.Fatalf("conditional read without a wait: %d, want 304 at once", rec.Code)
	}

	hdr["Prefer"] = "wait=1"
	start := time.Now()
	rec := h.do(http.MethodGet, path, nil, hdr)
	if rec.Code != http.StatusNotModified || time.Since(start) < 900*time.Millisecond || rec.Header().Get("Preference-Applied") != "wait=1" {
		t.Fatalf("nothing changed: %d after %s (Preference-Applied %q), want 304 after the 1 s asked for",
			rec.Code, time.Since(start), rec.Header().Get("Preference-Applied"))
	}

	hdr["Prefer"] = "wait=30"
	go func() {
		time.Sleep(200 * time.Millisecond)
		h.clock.Advance(DefaultCheckInEvery) // the device checks in: its last check-in changes
	}()
	start = time.Now()
	rec = h.do(http.MethodGet, path, nil, hdr)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag || time.Since(start) > 5*time.Second {
		t.Fatalf("after a check-in: %d, ETag %q (was %q), after %s; want 200 with a new ETag at once",
			rec.Code, rec.Header().Get("ETag"), etag, time.Since(start))
	}
}

// The product's client waits with one request per change.
func TestClientWaitsForAChangeWithFewRequests(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentManual))
	srv := httptest.NewServer(h.sim.Handler())
	defer srv.Close()
	cc, err := console.New(console.Config{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cc.SendCommand(ctx, "SER1", "k-erase", console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		h.clock.Advance(DefaultCheckInEvery)
	}()
	before := h.sim.Stats().Calls["GET /api/v1/devices/{serial}"]
	start := time.Now()
	d, err := cc.WaitDevice(ctx, "SER1", 20*time.Second, func(d console.Device) bool { return d.Status == console.StatusGreyedOut })
	if err != nil || d.Status != console.StatusGreyedOut {
		t.Fatalf("wait for greyed-out: %+v %v", d, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s: the change should end the wait", took)
	}
	if n := h.sim.Stats().Calls["GET /api/v1/devices/{serial}"] - before; n < 2 || n > 3 {
		t.Errorf("%d reads for one change, want a read and a held read (and at most one more)", n)
	}
}

// A console that does not honour Prefer: wait is read once per call: never hammered.
func TestClientReadsOnceWhenTheConsoleCannotWait(t *testing.T) {
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads.Add(1)
		w.Header().Set("ETag", `"same"`)
		writeJSON(w, http.StatusOK, console.Device{Serial: "SER1", Status: console.StatusManaged})
	}))
	defer srv.Close()
	cc, err := console.New(console.Config{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	d, err := cc.WaitDevice(context.Background(), "SER1", 5*time.Second, func(d console.Device) bool { return d.Status == console.StatusGreyedOut })
	if err != nil || d.Status != console.StatusManaged {
		t.Fatalf("%+v %v", d, err)
	}
	if n := reads.Load(); n > 2 {
		t.Errorf("%d reads of a console that cannot hold a read, want at most 2", n)
	}
}
