package workflows

import (
	"slices"
	"time"
)

// Apple's request budget, as the coordinator keeps it, per organisation: for GETs and for POSTs,
// the times of the last requests, in workflow time (so it replays the same), and the Retry-After
// of Apple's last 429. Apple publishes no limits; about 20 GETs a minute and 10 POSTs an hour are
// observed (APPLE_GET_PER_MINUTE, APPLE_POST_PER_HOUR), and how Apple counts them is not known.
// So the rule is the strictest reading: never more than Limit requests in any window of Per. A
// token bucket of the same numbers would let twice as many through in one window (a full bucket,
// then its refill); this never exceeds a token bucket's budget, nor a fixed or sliding window's.

// Bucket is the budget of one kind of request: at most Limit in any window of Per.
type Bucket struct {
	Limit int           `json:"limit"`
	Per   time.Duration `json:"per"`
	// Sent are the times of the last requests, at most Limit of them, oldest first.
	Sent         []time.Time `json:"sent,omitempty"`
	BlockedUntil time.Time   `json:"blockedUntil,omitzero"`
}

// newBucket is an unused budget of n requests per period.
func newBucket(n int, per time.Duration) Bucket {
	return Bucket{Limit: max(n, 1), Per: per}
}

// resize keeps what was sent under a budget that is now n per period (a worker's new setting).
func (b Bucket) resize(n int, per time.Duration) Bucket {
	b.Limit, b.Per = max(n, 1), per
	if len(b.Sent) > b.Limit {
		b.Sent = slices.Clone(b.Sent[len(b.Sent)-b.Limit:])
	}
	return b
}

// ReadyAt is when the next request may go: the window has room, and no Retry-After holds.
func (b Bucket) ReadyAt(now time.Time) time.Time {
	at := now
	if len(b.Sent) >= b.Limit {
		if free := b.Sent[len(b.Sent)-b.Limit].Add(b.Per); free.After(at) {
			at = free
		}
	}
	if b.BlockedUntil.After(at) {
		at = b.BlockedUntil
	}
	return at
}

// Left is how many requests the window has room for at now (Retry-After aside).
func (b Bucket) Left(now time.Time) int {
	used := 0
	for _, t := range b.Sent {
		if now.Sub(t) < b.Per {
			used++
		}
	}
	return max(b.Limit-used, 0)
}

// take records a request sent at now; the caller has waited until ReadyAt.
func (b Bucket) take(now time.Time) Bucket {
	b.Sent = append(slices.Clone(b.Sent), now)
	if len(b.Sent) > b.Limit {
		b.Sent = b.Sent[len(b.Sent)-b.Limit:]
	}
	return b
}

// block holds every request until Apple's Retry-After has passed.
func (b Bucket) block(now time.Time, retryAfter time.Duration) Bucket {
	if until := now.Add(retryAfter); until.After(b.BlockedUntil) {
		b.BlockedUntil = until
	}
	return b
}

// Budget is the organisation's two budgets.
type Budget struct {
	GET  Bucket `json:"get"`
	POST Bucket `json:"post"`
}
