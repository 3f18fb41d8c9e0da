package workflows

import (
	"testing"
	"time"
)

// Sending as fast as the budget allows never puts more than Limit requests in any window of Per,
// whatever the window's start: what "20 GETs a minute" means under any reading of it.
func TestBudgetNeverExceedsItsWindow(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	b := newBucket(20, time.Minute)
	now := start
	var sent []time.Time
	for len(sent) < 200 {
		now = b.ReadyAt(now)
		b = b.take(now)
		sent = append(sent, now)
		now = now.Add(time.Duration(len(sent)%7) * time.Second) // callers come irregularly
	}
	if got := mostIn(sent, time.Minute); got != 20 {
		t.Errorf("%d requests in one minute: want the budget, 20, used to the full and never more", got)
	}
}

// Apple's Retry-After holds every request until it has passed, even with room in the window.
func TestBudgetHoldsARetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	b := newBucket(10, time.Hour).take(now).block(now, 17*time.Minute)
	if got := b.ReadyAt(now.Add(time.Minute)); !got.Equal(now.Add(17 * time.Minute)) {
		t.Errorf("ready at %v, want the Retry-After's end %v", got, now.Add(17*time.Minute))
	}
	if left := b.Left(now.Add(time.Minute)); left != 9 {
		t.Errorf("%d left, want 9", left)
	}
}

// A smaller budget set by a worker takes effect at once, counting what was already sent.
func TestBudgetResizeKeepsWhatWasSent(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	b := newBucket(10, time.Hour)
	for i := range 5 {
		b = b.take(now.Add(time.Duration(i) * time.Minute))
	}
	b = b.resize(3, time.Hour)
	if got, want := b.ReadyAt(now.Add(10*time.Minute)), now.Add(2*time.Minute+time.Hour); !got.Equal(want) {
		t.Errorf("after resizing to 3 an hour: ready at %v, want %v (an hour after the third-last)", got, want)
	}
}
