package simulator

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// Faults are injected into /api/v1, /v1 and /auth requests (never /sim). Rates are probabilities
// from 0 to 1, drawn per request.
type Faults struct {
	// ErrorRate answers 500 or 503 before the request touches the model: a retry is always safe.
	ErrorRate float64 `json:"errorRate"`
	// Rate429 answers 429 with Retry-After: RetryAfterSeconds (default 1), before the model.
	Rate429           float64 `json:"rate429"`
	RetryAfterSeconds int     `json:"retryAfterSeconds"`
	// LatencyMs delays every request (real milliseconds), outside the model's lock.
	LatencyMs int `json:"latencyMs"`
	// ErrorAfterCommitRate loses the answer of a successful POST after it took effect: the client
	// sees a 500 although the command or activity was recorded. Idempotency keys make the retry
	// safe; Apple's POST has none, which is why its caller must re-read before it tries again.
	ErrorAfterCommitRate float64 `json:"errorAfterCommitRate"`
}

func (f Faults) validate() error {
	for name, p := range map[string]float64{"errorRate": f.ErrorRate, "rate429": f.Rate429, "errorAfterCommitRate": f.ErrorAfterCommitRate} {
		if p < 0 || p > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %g", name, p)
		}
	}
	if f.RetryAfterSeconds < 0 || f.LatencyMs < 0 {
		return fmt.Errorf("retryAfterSeconds and latencyMs cannot be negative")
	}
	return nil
}

type faultKind int

const (
	noFault faultKind = iota
	fault429
	fault500
	fault503
)

// Names of injected faults in Stats.Faults.
const (
	FaultRateLimited = "429"
	FaultBefore      = "5xx-before"
	FaultAfterCommit = "5xx-after-commit"
)

type faultInjector struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
}

func (fi *faultInjector) init() {
	fi.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	fi.f = f
	fi.mu.Unlock()
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

func (fi *faultInjector) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.rng.Float64() < p
}

// before draws the fault, if any, that answers a request before it reaches the model.
func (fi *faultInjector) before(f Faults) faultKind {
	switch {
	case fi.roll(f.Rate429):
		return fault429
	case fi.roll(f.ErrorRate):
		if fi.roll(0.5) {
			return fault503
		}
		return fault500
	}
	return noFault
}

// sleep waits latency or until the request is cancelled.
func sleep(r *http.Request, latency time.Duration) {
	t := time.NewTimer(latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// writeFault answers an injected fault in the error format of the API at hand.
func writeFault(w http.ResponseWriter, a api, kind faultKind, retryAfter int) {
	status, consoleCode, appleCode, oauthCode := http.StatusInternalServerError, console.CodeInternal, "INTERNAL_ERROR", "server_error"
	switch kind {
	case fault429:
		if retryAfter <= 0 {
			retryAfter = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		status, consoleCode, appleCode, oauthCode = http.StatusTooManyRequests, console.CodeRateLimited, "RATE_LIMIT_EXCEEDED", "rate_limit_exceeded"
	case fault503:
		status, consoleCode, appleCode, oauthCode = http.StatusServiceUnavailable, console.CodeUnavailable, "SERVICE_UNAVAILABLE", "temporarily_unavailable"
	}
	msg := "injected fault (simulator)"
	switch a {
	case apiConsole:
		writeConsoleError(w, status, consoleCode, msg)
	case apiApple:
		writeAppleError(w, status, appleCode, http.StatusText(status), msg)
	default:
		writeOAuthError(w, status, oauthCode, msg)
	}
}

// bufferedWriter holds an answer back so an after-commit fault can replace it.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedWriter() *bufferedWriter { return &bufferedWriter{header: http.Header{}} }

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
