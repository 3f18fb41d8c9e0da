package simulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Defaults of Config, in simulated time unless said otherwise.
const (
	DefaultAppleServerID = "SIMULATED-MDM-SERVER"
	DefaultActivityDelay = 10 * time.Minute
	DefaultDeleteDelay   = 30 * time.Minute
	DefaultReappearAfter = 24 * time.Hour
	DefaultSaveDebounce  = 200 * time.Millisecond // real time
	DefaultTickInterval  = 100 * time.Millisecond // real time
	// AccessTokenLifetime is how long an Apple access token is good for, in real time (Apple: 3600 s).
	AccessTokenLifetime = time.Hour

	// DefaultAppleGetPerMinute and DefaultApplePostPerHour are the Apple Business API budget of
	// an organization, in simulated time. Apple does not publish its limits; people who automate
	// the API report about 20 GET requests a minute and 10 POST requests an hour per
	// organization, answered 429 with Retry-After beyond that (the README of
	// github.com/neilmartin83/terraform-provider-axm).
	DefaultAppleGetPerMinute = 20
	DefaultApplePostPerHour  = 10
	// AppleBudgetOff, in Config.AppleGetPerMinute or Config.ApplePostPerHour, turns that budget off.
	AppleBudgetOff = -1
)

// Config configures a Simulator. Its String never shows the console token.
type Config struct {
	// ConsoleToken is the bearer token every /api/v1 request must carry.
	ConsoleToken string

	// AppleClientID and AppleKeyID name the API account whose client assertions the token endpoint
	// accepts, signed by the private half of ApplePublicKey. Without them every token request is
	// refused with invalid_client.
	AppleClientID, AppleKeyID string
	ApplePublicKey            *ecdsa.PublicKey
	// AppleServerID is the id of the console's MDM server in Apple Business Manager, the server ADE
	// devices are assigned to. Empty: DefaultAppleServerID.
	AppleServerID string

	// TimeScale is simulated seconds per real second (3600: an hour passes in a second). It makes
	// the clock when Clock is nil; 0 means real time. With a Clock that is not a *ScaledClock (a
	// ManualClock), it only converts the Apple budget's waits into real Retry-After seconds.
	TimeScale float64
	// Clock overrides the scaled clock, e.g. with a ManualClock in tests.
	Clock Clock

	// StateFile is where the state is kept across restarts; empty keeps it in memory only.
	StateFile string

	// ActivityDelay is how long (simulated) an Apple activity stays IN_PROGRESS.
	ActivityDelay time.Duration
	// DeleteDelay is how long (simulated) a deleted record keeps answering before it is gone.
	DeleteDelay time.Duration
	// ReappearAfter is how long (simulated) after its record is deleted an ADE device still
	// assigned in Apple shows up again as pre-registered (事前予約).
	ReappearAfter time.Duration

	// AppleGetPerMinute and ApplePostPerHour are the Apple Business API budget of the
	// organization, per simulated minute and hour: beyond it a /v1 request is answered 429 with a
	// Retry-After in real seconds (token buckets, in simulated time). 0 means the default
	// (DefaultAppleGetPerMinute, DefaultApplePostPerHour); AppleBudgetOff (any negative number)
	// turns that budget off. SetAppleBudget changes it while the simulator runs.
	AppleGetPerMinute, ApplePostPerHour int

	// Wall is real time, for access-token and client-assertion lifetimes (a client caches its
	// token in real time, whatever the time scale). Nil: time.Now.
	Wall func() time.Time
	// Logger receives save errors and the like. Nil: no logs.
	Logger *zap.Logger
	// SaveDebounce (real time) batches saves of the state file after changes.
	SaveDebounce time.Duration
	// TickInterval (real time) is how often the background ticker moves the model to the clock's
	// time. Every request does so too, so the ticker only matters to an idle simulator.
	TickInterval time.Duration

	// FeedRetention is how many entries the change feed (GET /api/v1/changes) keeps; a cursor
	// older than the oldest kept answers 410. 0: DefaultFeedRetention.
	FeedRetention int

	// apple is the Apple budget's running state (its buckets and the Retry-After windows given),
	// not configuration: withDefaults makes a fresh one for every simulator New builds.
	apple *appleRuntime
}

// String describes the configuration without the console token.
func (c Config) String() string {
	token := "unset"
	if c.ConsoleToken != "" {
		token = "[redacted]"
	}
	return fmt.Sprintf("simulator.Config{ConsoleToken: %s, AppleClientID: %q, AppleKeyID: %q, AppleServerID: %q, TimeScale: %g, StateFile: %q, AppleGetPerMinute: %d, ApplePostPerHour: %d}",
		token, c.AppleClientID, c.AppleKeyID, c.AppleServerID, c.TimeScale, c.StateFile, c.AppleGetPerMinute, c.ApplePostPerHour)
}

// GoString is String, so %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

func (c Config) withDefaults() (Config, error) {
	if c.ConsoleToken == "" {
		return c, errors.New("simulator: no console token: set the token /api/v1 clients must present")
	}
	if c.AppleServerID == "" {
		c.AppleServerID = DefaultAppleServerID
	}
	if c.ApplePublicKey != nil && c.ApplePublicKey.Curve != elliptic.P256() {
		return c, errors.New("simulator: the Apple public key must be an ECDSA P-256 key (ES256)")
	}
	for name, d := range map[string]time.Duration{"ActivityDelay": c.ActivityDelay, "DeleteDelay": c.DeleteDelay, "ReappearAfter": c.ReappearAfter} {
		if d < 0 {
			return c, fmt.Errorf("simulator: %s is negative (%s)", name, d)
		}
	}
	if c.TimeScale < 0 {
		return c, fmt.Errorf("simulator: TimeScale is negative (%g)", c.TimeScale)
	}
	if c.ActivityDelay == 0 {
		c.ActivityDelay = DefaultActivityDelay
	}
	if c.DeleteDelay == 0 {
		c.DeleteDelay = DefaultDeleteDelay
	}
	if c.ReappearAfter == 0 {
		c.ReappearAfter = DefaultReappearAfter
	}
	if c.Wall == nil {
		c.Wall = time.Now
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.SaveDebounce <= 0 {
		c.SaveDebounce = DefaultSaveDebounce
	}
	if c.FeedRetention <= 0 {
		c.FeedRetention = DefaultFeedRetention
	}
	if c.TickInterval <= 0 {
		c.TickInterval = DefaultTickInterval
	}
	c.apple = newAppleRuntime(AppleBudget{
		GetPerMinute: budgetValue(c.AppleGetPerMinute, DefaultAppleGetPerMinute),
		PostPerHour:  budgetValue(c.ApplePostPerHour, DefaultApplePostPerHour),
	})
	return c, nil
}

// NewTestKey returns a fresh ECDSA P-256 key, the kind Apple Business Manager issues for an API
// account: give its PublicKey to Config.ApplePublicKey and the key itself to the client.
func NewTestKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("simulator: generate a P-256 key: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return key
}
