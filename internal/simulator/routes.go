package simulator

import (
	"crypto/subtle"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// api names the outside API a route belongs to: its authentication and its error format.
type api int

const (
	apiConsole api = iota // /api/v1: console token, {"error":{code,message}}
	apiApple              // /v1: Apple access token, {"errors":[...]}
	apiOAuth              // /auth: no token, OAuth errors
)

func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	outside := func(a api, pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.serveAPI(a, pattern, h)) }

	outside(apiConsole, "GET /api/v1/devices/{serial}", s.handleDevice)
	outside(apiConsole, "POST /api/v1/devices/{serial}/commands", s.handleSendCommand)
	outside(apiConsole, "GET /api/v1/devices/{serial}/commands/{id}", s.handleCommand)
	outside(apiConsole, "GET /api/v1/changes", s.handleChanges)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeConsoleError(w, http.StatusNotFound, console.CodeBadRequest, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})

	outside(apiOAuth, "POST /auth/oauth2/token", s.handleToken)
	outside(apiApple, EndpointAssignedServer, s.handleAssignedServer)
	outside(apiApple, EndpointCreateActivity, s.handleCreateActivity)
	outside(apiApple, EndpointActivity, s.handleActivity)
	outside(apiApple, EndpointServerDevices, s.handleServerDevices)
	outside(apiApple, EndpointActivationLock, s.handleActivationLock)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeAppleError(w, http.StatusNotFound, appleNotFound, "The specified resource does not exist", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})

	s.adminRoutes(mux)
	s.appleAdminRoutes(mux)
	s.activationLockAdminRoutes(mux)
	return mux
}

// serveAPI wraps a handler of an outside API with what every such request goes through, in this
// order: counting (and, for Apple, noting a request that comes before an earlier Retry-After has
// passed), latency, faults drawn before the model, authentication, Apple's budget, the handler,
// and for a successful POST the after-commit fault.
func (s *Simulator) serveAPI(a api, name string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.st.Counters.Calls[name]++
		if a == apiApple {
			s.checkRetryAfter(name, s.advance())
		}
		s.mu.Unlock()

		f := s.faults.get()
		if f.LatencyMs > 0 {
			sleep(r, time.Duration(f.LatencyMs)*time.Millisecond)
		}
		if kind := s.faults.before(f); kind != noFault {
			counter := FaultBefore
			if kind == fault429 {
				counter = FaultRateLimited
			}
			s.mu.Lock()
			s.st.Counters.Faults[counter]++
			if a == apiApple && kind == fault429 {
				s.noteRateLimited(name, SourceFault, max(f.RetryAfterSeconds, 1), s.advance(), "injected fault (simulator)")
			}
			s.mu.Unlock()
			writeFault(w, a, kind, f.RetryAfterSeconds)
			return
		}
		switch {
		case a == apiConsole && !s.consoleAuthorized(r):
			writeConsoleError(w, http.StatusUnauthorized, console.CodeUnauthorized, "the bearer token is missing or wrong")
			return
		case a == apiApple && !s.appleAuthorized(r):
			writeAppleError(w, http.StatusUnauthorized, appleNotAuthorized, "Authentication credentials are missing or invalid.",
				"Provide a valid access token from /auth/oauth2/token; it may have expired.")
			return
		case a == apiApple && !s.takeAppleBudget(w, r, name):
			return
		}
		if r.Method != http.MethodPost || f.ErrorAfterCommitRate <= 0 {
			h(w, r)
			return
		}
		buf := newBufferedWriter()
		h(buf, r)
		if buf.status >= 300 || !s.faults.roll(f.ErrorAfterCommitRate) {
			buf.flushTo(w)
			return
		}
		s.mu.Lock()
		s.st.Counters.Faults[FaultAfterCommit]++
		s.appendLedger(LedgerEntry{Time: s.st.SimNow, Serial: normalizeSerial(r.PathValue("serial")), Source: SourceFault,
			Kind: KindFaultAfterCommit, Outcome: OutcomeNoted, IdempotencyKey: r.Header.Get("Idempotency-Key"),
			Detail: "the answer to " + name + " was lost after it took effect"})
		s.changed()
		s.mu.Unlock()
		writeFault(w, a, fault500, 0)
	})
}

func (s *Simulator) consoleAuthorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.ConsoleToken)) == 1
}

// Stats are the simulator's counters, for benchmarks ("Apple Business calls per ADE device").
type Stats struct {
	// Calls counts requests by endpoint, e.g. "POST /v1/orgDeviceActivities", including the ones
	// answered with an injected fault or 401.
	Calls        map[string]int `json:"calls"`
	ConsoleCalls int            `json:"consoleCalls"` // /api/v1
	AppleCalls   int            `json:"appleCalls"`   // /v1 and /auth
	TokensIssued int            `json:"tokensIssued"`
	// Faults counts injected faults: "429", "5xx-before", "5xx-after-commit".
	Faults     map[string]int `json:"faults"`
	Devices    int            `json:"devices"`
	ADEDevices int            `json:"adeDevices"`
	Commands   int            `json:"commands"`
	Activities int            `json:"activities"`
	SimNow     time.Time      `json:"simNow"`
}

// Stats returns the counters.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.advance()
	st := Stats{Calls: maps.Clone(s.st.Counters.Calls), Faults: maps.Clone(s.st.Counters.Faults),
		TokensIssued: s.st.Counters.TokensIssued, Devices: len(s.st.Devices),
		Commands: len(s.st.Commands), Activities: len(s.st.Activities), SimNow: now}
	for name, n := range st.Calls {
		if strings.Contains(name, " /api/v1/") {
			st.ConsoleCalls += n
		} else {
			st.AppleCalls += n
		}
	}
	for _, d := range s.st.Devices {
		if d.ADE {
			st.ADEDevices++
		}
	}
	return st
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
