package activities

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/simulator"
)

func feedWorld(t *testing.T, cfg simulator.Config) (*simulator.Simulator, *Console) {
	t.Helper()
	cfg.ConsoleToken = "feed-test-token"
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	c, err := console.New(console.Config{BaseURL: srv.URL, Token: "feed-test-token"})
	if err != nil {
		t.Fatal(err)
	}
	return sim, &Console{API: c}
}

// FollowChanges returns each changed device once, leaves out check-ins nobody waits for, holds
// while nothing changes, and resumes from the cursor it returned.
func TestFollowChangesNamesTheDevicesThatChanged(t *testing.T) {
	clock := simulator.NewManualClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	sim, c := feedWorld(t, simulator.Config{Clock: clock})
	for _, s := range []string{"F1", "F2", "F3"} {
		spec := simulator.DeviceSpecFor(s, simulator.EnrollmentManual)
		spec.CheckInEvery = simulator.Never
		if err := sim.AddDevices(spec); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	first, err := c.FollowChanges(ctx, FollowInput{Hold: time.Second, Gather: 10 * time.Millisecond})
	if err != nil || !slices.Equal(first.Serials, []string{"F1", "F2", "F3"}) {
		t.Fatalf("from the start: %+v, %v; want the three added", first, err)
	}

	// F2's command and check-in; F3 only checks in.
	if _, err := c.API.SendCommand(ctx, "F2", "k-f2", console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"}); err != nil {
		t.Fatal(err)
	}
	_ = sim.CheckIn("F2")
	_ = sim.CheckIn("F3")
	next, err := c.FollowChanges(ctx, FollowInput{Cursor: first.Cursor, Hold: time.Second, Gather: 10 * time.Millisecond})
	if err != nil || !slices.Equal(next.Serials, []string{"F2"}) || next.Changes < 1 {
		t.Fatalf("after the cursor: %+v, %v; want F2 alone (F3 only checked in)", next, err)
	}

	start := time.Now()
	idle, err := c.FollowChanges(ctx, FollowInput{Cursor: next.Cursor, Hold: 2 * time.Second, Gather: 10 * time.Millisecond})
	took := time.Since(start)
	if err != nil || len(idle.Serials) != 0 || idle.Cursor != next.Cursor {
		t.Fatalf("nothing new: %+v, %v", idle, err)
	}
	if took < 1500*time.Millisecond || idle.Requests > 3 {
		t.Errorf("nothing new: returned after %s with %d requests, want it held for the 2 s hold in a request or two", took, idle.Requests)
	}
}

func TestFollowChangesAfterAnExpiredCursorStartsFromTheOldest(t *testing.T) {
	sim, c := feedWorld(t, simulator.Config{Clock: simulator.NewManualClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), FeedRetention: 1})
	_ = sim.AddDevices(simulator.DeviceSpecFor("X1", simulator.EnrollmentManual))
	r, err := c.FollowChanges(context.Background(), FollowInput{Hold: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_ = sim.AddDevices(simulator.DeviceSpecFor("X2", simulator.EnrollmentManual), simulator.DeviceSpecFor("X3", simulator.EnrollmentManual))
	gone, err := c.FollowChanges(context.Background(), FollowInput{Cursor: r.Cursor, Hold: time.Second})
	if err != nil || !gone.Expired || gone.Cursor == "" {
		t.Fatalf("a cursor past the retention: %+v, %v; want Expired with the oldest cursor", gone, err)
	}
	resumed, err := c.FollowChanges(context.Background(), FollowInput{Cursor: gone.Cursor, Hold: time.Second})
	if err != nil || !slices.Equal(resumed.Serials, []string{"X3"}) {
		t.Errorf("from the oldest kept: %+v, %v; want X3", resumed, err)
	}
}

func TestFollowChangesWithoutAFeedIsNotRetried(t *testing.T) {
	_, err := (&Console{API: unconfiguredConsole{}}).FollowChanges(context.Background(), FollowInput{Hold: time.Second})
	if !IsType(err, ErrNoFeed) {
		t.Errorf("err %v, want %s", err, ErrNoFeed)
	}
}
