package workflows

import (
	"math"
	"time"
)

// Apple's request budget, as the coordinator keeps it: a token bucket for GETs and one for POSTs,
// per organisation, in workflow time (so it replays the same), and for each the Retry-After of
// Apple's last 429. Apple publishes no limits; about 20 GETs a minute and 10 POSTs an hour are
// observed (APPLE_GET_PER_MINUTE, APPLE_POST_PER_HOUR).

// Bucket is one token bucket: Capacity tokens at most, refilled at PerSecond. A request takes a
// token; BlockedUntil holds every request until Apple's Retry-After has passed.
type Bucket struct {
	PerSecond    float64   `json:"perSecond"`
	Capacity     float64   `json:"capacity"`
	Tokens       float64   `json:"tokens"`
	At           time.Time `json:"at"` // when Tokens was counted
	BlockedUntil time.Time `json:"blockedUntil,omitzero"`
}

// newBucket is a full bucket of n requests per period.
func newBucket(n int, per time.Duration, now time.Time) Bucket {
	return Bucket{PerSecond: float64(n) / per.Seconds(), Capacity: float64(n), Tokens: float64(n), At: now}
}

// resize keeps the tokens of a bucket whose budget is now n per period (a worker's new setting).
func (b Bucket) resize(n int, per time.Duration, now time.Time) Bucket {
	b = b.refill(now)
	b.PerSecond, b.Capacity = float64(n)/per.Seconds(), float64(n)
	b.Tokens = math.Min(b.Tokens, b.Capacity)
	return b
}

func (b Bucket) refill(now time.Time) Bucket {
	if now.After(b.At) {
		b.Tokens = math.Min(b.Capacity, b.Tokens+now.Sub(b.At).Seconds()*b.PerSecond)
		b.At = now
	}
	return b
}

// ReadyAt is when the next request may go: a token is there and no Retry-After holds.
func (b Bucket) ReadyAt(now time.Time) time.Time {
	b = b.refill(now)
	at := now
	if b.Tokens < 1 && b.PerSecond > 0 {
		at = now.Add(time.Duration(math.Ceil((1 - b.Tokens) / b.PerSecond * float64(time.Second))))
	}
	if b.BlockedUntil.After(at) {
		at = b.BlockedUntil
	}
	return at
}

// take spends a token; the caller has waited until ReadyAt.
func (b Bucket) take(now time.Time) Bucket {
	b = b.refill(now)
	b.Tokens--
	return b
}

// block holds every request until Apple's Retry-After has passed, and empties the bucket: Apple
// counted more than we did.
func (b Bucket) block(now time.Time, retryAfter time.Duration) Bucket {
	b = b.refill(now)
	if until := now.Add(retryAfter); until.After(b.BlockedUntil) {
		b.BlockedUntil = until
	}
	b.Tokens = math.Min(b.Tokens, 0)
	return b
}

// Budget is the organisation's two buckets.
type Budget struct {
	GET  Bucket `json:"get"`
	POST Bucket `json:"post"`
}
