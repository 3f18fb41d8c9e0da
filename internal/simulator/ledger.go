package simulator

import "time"

// Sources of ledger entries: who asked for the change.
const (
	SourceConsole = "console" // a /api/v1 command
	SourceApple   = "apple"   // an Apple Business activity
	SourceUser    = "user"    // the device's user (a notification, or acting on it)
	SourceDevice  = "device"  // the device checking in, or time passing
	SourceFault   = "fault"   // an injected fault
)

// Outcomes of ledger entries.
const (
	// OutcomeAccepted: a command or activity was taken on, once per request that is not a replay.
	// Counting accepted entries per serial and kind proves nothing destructive ran twice.
	OutcomeAccepted = "accepted"
	// OutcomeReplayed: the same Idempotency-Key came again; nothing new happened.
	OutcomeReplayed = "replayed"
	// OutcomeRefused: refused at once (Code says why); nothing changed.
	OutcomeRefused = "refused"
	// OutcomeApplied: an effect took place (a queued command at check-in, a user's action, an
	// Apple activity for one device, a record disappearing).
	OutcomeApplied = "applied"
	// OutcomeFailed: an accepted command or activity could not take effect (Code says why).
	OutcomeFailed = "failed"
	// OutcomeNoted: something worth knowing happened that changes nothing by itself.
	OutcomeNoted = "noted"
)

// Kinds of ledger entries besides console command types, Apple activity types and user steps.
const (
	KindCheckIn          = "check-in"           // the console noticed the device is gone from MDM
	KindRecordGone       = "record-gone"        // a deleted record disappeared
	KindPreRegistered    = "pre-registered"     // a deleted ADE device came back as 事前予約
	KindFaultAfterCommit = "fault-after-commit" // the answer to a committed request was lost
	// KindRateLimited: an Apple Business API request was answered 429 with a Retry-After, by
	// the budget (Source apple) or by an injected fault (Source fault). Endpoint names it and
	// RetryUntil is when (simulated) the client may come back.
	KindRateLimited = "rate-limited"
	// KindRetryAfterViolated: an Apple Business API request came before the Retry-After of an
	// earlier 429 of the same endpoint had passed (Hazard HazardRetryAfterViolated).
	KindRetryAfterViolated = "retry-after-violated"
)

// Hazards flagged in the ledger: things the procedure says must never happen.
const (
	HazardDeletedInLostMode = "deleted-in-lost-mode"
	HazardReappears         = "reappears-pre-registered"
	// HazardRetryAfterViolated: a client did not wait out Apple's Retry-After. Apple may
	// throttle an organization that keeps doing so; on the unassign POST it is a conformance
	// failure of the procedure.
	HazardRetryAfterViolated = "retry-after-violated"
)

// LedgerEntry is one line of the ledger: every request that carries a command, and every effect.
// Time is simulated time.
type LedgerEntry struct {
	Seq            int       `json:"seq"`
	Time           time.Time `json:"time"`
	Serial         string    `json:"serial,omitempty"`
	Source         string    `json:"source"`
	Kind           string    `json:"kind"` // console command type, Apple activity type, user step, or a Kind* constant
	CommandID      string    `json:"commandId,omitempty"`
	ActivityID     string    `json:"activityId,omitempty"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	Outcome        string    `json:"outcome"`
	Code           string    `json:"code,omitempty"` // why refused or failed
	Detail         string    `json:"detail,omitempty"`
	Hazard         string    `json:"hazard,omitempty"`
	// Endpoint is the Apple Business API endpoint of a rate-limited or retry-after-violated
	// entry, as Stats.Calls names it ("POST /v1/orgDeviceActivities").
	Endpoint string `json:"endpoint,omitempty"`
	// RetryUntil is, for a rate-limited entry, the simulated time the Retry-After points at.
	RetryUntil *time.Time `json:"retryUntil,omitempty"`
}

// CountLedger counts the entries of the given kind and outcome: CountLedger(s.Ledger(serial),
// "purge-device", OutcomeAccepted) is how often the purge of that device was actually taken on.
func CountLedger(entries []LedgerEntry, kind, outcome string) int {
	n := 0
	for _, e := range entries {
		if e.Kind == kind && e.Outcome == outcome {
			n++
		}
	}
	return n
}

// maxLedgerKey is how much of an Idempotency-Key the ledger keeps (valid keys fit).
const maxLedgerKey = 200

// appendLedger adds an entry; the caller holds s.mu.
func (s *Simulator) appendLedger(e LedgerEntry) {
	s.st.NextLedgerSeq++
	e.Seq = s.st.NextLedgerSeq
	e.Time = e.Time.UTC()
	if e.RetryUntil != nil {
		e.RetryUntil = timePtr(e.RetryUntil.UTC())
	}
	if len(e.IdempotencyKey) > maxLedgerKey { // a refused over-long key must not bloat the ledger
		e.IdempotencyKey = e.IdempotencyKey[:maxLedgerKey] + "…"
	}
	s.st.Ledger = append(s.st.Ledger, e)
	if e.Serial != "" {
		s.ledgerBySerial[e.Serial] = append(s.ledgerBySerial[e.Serial], len(s.st.Ledger)-1)
		s.noteFeed(e.Serial, e.Time)
	}
}
