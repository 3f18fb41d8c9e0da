package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// The Apple Business API endpoints the simulator serves, named as Stats.Calls and the ledger name
// them: method and route template.
const (
	EndpointAssignedServer = "GET /v1/orgDevices/{serial}/relationships/assignedServer"
	EndpointCreateActivity = "POST /v1/orgDeviceActivities"
	EndpointActivity       = "GET /v1/orgDeviceActivities/{id}"
	EndpointServerDevices  = "GET /v1/mdmServers/{id}/relationships/devices"
	EndpointActivationLock = "GET /v1/orgDevices/{serial}/activationLockStatus"
)

// appleEndpoints lists them in the order AppleRequests reports them.
var appleEndpoints = []string{EndpointAssignedServer, EndpointCreateActivity, EndpointActivity, EndpointServerDevices, EndpointActivationLock}

// appleRateLimitCode is the code of Apple's 429 answer (Apple's JSON:API services answer
// RATE_LIMIT_EXCEEDED).
const appleRateLimitCode = "RATE_LIMIT_EXCEEDED"

// AppleBudget is the Apple Business API budget of the organization in force, in simulated time.
// 0 means that budget is off.
type AppleBudget struct {
	GetPerMinute int `json:"getPerMinute"`
	PostPerHour  int `json:"postPerHour"`
}

// budgetValue reads a Config budget field: 0 is the default, negative is off (0 in AppleBudget).
func budgetValue(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// appleRuntime is the running state of the budget. It is guarded by Simulator.mu and not saved:
// after a restart the buckets are full again.
type appleRuntime struct {
	budget    AppleBudget
	get, post gcra
	// marks remembers, per endpoint, the ledger index of the last 429 answered, whose
	// RetryUntil tells until when a request of that endpoint violates its Retry-After. A mark is
	// checked against the ledger before use, so a Reset (a fresh ledger) forgets it.
	marks   map[string]int
	scanned bool // marks were rebuilt from the ledger (after a restart)
}

func newAppleRuntime(b AppleBudget) *appleRuntime {
	return &appleRuntime{budget: b, marks: map[string]int{}}
}

// gcra is a token bucket kept as the generic cell rate algorithm: tat is the theoretical arrival
// time of the next request. A bucket of n tokens refilled at n per period lets n requests through
// at once and then one every period/n. Times are simulated; the arithmetic is exact.
type gcra struct{ tat time.Time }

// take lets a request through at now, or answers how long until a token frees.
func (g *gcra) take(now time.Time, n int, period time.Duration) (bool, time.Duration) {
	if n <= 0 {
		return true, 0
	}
	interval := period / time.Duration(n)
	tolerance := interval * time.Duration(n-1)
	tat := g.tat
	if tat.Before(now) {
		tat = now
	}
	if allowAt := tat.Add(-tolerance); now.Before(allowAt) {
		return false, allowAt.Sub(now)
	}
	g.tat = tat.Add(interval)
	return true, 0
}

// timeScale is simulated seconds per real second, to turn a simulated wait into Retry-After.
func (s *Simulator) timeScale() float64 {
	if sc, ok := s.clock.(interface{ Scale() float64 }); ok && sc.Scale() > 0 {
		return sc.Scale()
	}
	if s.cfg.TimeScale > 0 {
		return s.cfg.TimeScale
	}
	return 1
}

// realSeconds is a simulated wait as whole real seconds, rounded up, at least 1.
func (s *Simulator) realSeconds(wait time.Duration) int {
	secs := math.Ceil(wait.Seconds() / s.timeScale())
	if secs < 1 || math.IsNaN(secs) {
		return 1
	}
	return int(min(secs, math.MaxInt32))
}

// simulatedWait is a Retry-After of secs real seconds in simulated time.
func (s *Simulator) simulatedWait(secs int) time.Duration {
	d := float64(secs) * s.timeScale() * float64(time.Second)
	if d > float64(math.MaxInt64/2) {
		return math.MaxInt64 / 2
	}
	return time.Duration(d)
}

// appleMark returns the ledger entry of the last 429 of endpoint, if the ledger still has it;
// the caller holds s.mu.
func (s *Simulator) appleMark(endpoint string) (LedgerEntry, bool) {
	rt := s.cfg.apple
	if !rt.scanned {
		for i, e := range s.st.Ledger {
			if e.Kind == KindRateLimited && e.Endpoint != "" {
				rt.marks[e.Endpoint] = i
			}
		}
		rt.scanned = true
	}
	i, ok := rt.marks[endpoint]
	if !ok {
		return LedgerEntry{}, false
	}
	if i >= len(s.st.Ledger) || s.st.Ledger[i].Kind != KindRateLimited || s.st.Ledger[i].Endpoint != endpoint || s.st.Ledger[i].RetryUntil == nil {
		delete(rt.marks, endpoint) // the ledger was reset
		return LedgerEntry{}, false
	}
	return s.st.Ledger[i], true
}

// checkRetryAfter notes a request of endpoint sent before the Retry-After of the endpoint's last
// 429 had passed; the caller holds s.mu.
func (s *Simulator) checkRetryAfter(endpoint string, now time.Time) {
	if s.cfg.apple == nil {
		return
	}
	last, ok := s.appleMark(endpoint)
	if !ok || !now.Before(*last.RetryUntil) {
		return
	}
	early := last.RetryUntil.Sub(now)
	s.appendLedger(LedgerEntry{Time: now, Source: SourceApple, Kind: KindRetryAfterViolated, Outcome: OutcomeNoted,
		Hazard: HazardRetryAfterViolated, Endpoint: endpoint,
		Detail: fmt.Sprintf("%s sent %s (simulated; %.3g s real) before the Retry-After of the 429 of ledger entry %d had passed",
			endpoint, early, early.Seconds()/s.timeScale(), last.Seq)})
	s.changed()
}

// noteRateLimited records a 429 answered on endpoint with Retry-After secs; the caller holds s.mu.
func (s *Simulator) noteRateLimited(endpoint, source string, secs int, now time.Time, detail string) {
	if s.cfg.apple == nil {
		return
	}
	until := now.Add(s.simulatedWait(secs))
	s.appleMark(endpoint) // rebuild the marks first if need be, so this one is not overwritten
	s.appendLedger(LedgerEntry{Time: now, Source: source, Kind: KindRateLimited, Outcome: OutcomeRefused,
		Code: appleRateLimitCode, Endpoint: endpoint, RetryUntil: &until,
		Detail: fmt.Sprintf("%s answered 429, Retry-After %d s: %s", endpoint, secs, detail)})
	s.cfg.apple.marks[endpoint] = len(s.st.Ledger) - 1
	s.changed()
}

// takeAppleBudget lets a /v1 request through the organization's budget, or answers it 429 with
// Retry-After and returns false.
func (s *Simulator) takeAppleBudget(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	rt := s.cfg.apple
	if rt == nil {
		return true
	}
	s.mu.Lock()
	now := s.advance()
	var (
		ok     bool
		wait   time.Duration
		budget string
	)
	switch r.Method {
	case http.MethodGet:
		ok, wait = rt.get.take(now, rt.budget.GetPerMinute, time.Minute)
		budget = fmt.Sprintf("%d GET requests a minute", rt.budget.GetPerMinute)
	case http.MethodPost:
		ok, wait = rt.post.take(now, rt.budget.PostPerHour, time.Hour)
		budget = fmt.Sprintf("%d POST requests an hour", rt.budget.PostPerHour)
	default:
		ok = true
	}
	if ok {
		s.mu.Unlock()
		return true
	}
	secs := s.realSeconds(wait)
	detail := fmt.Sprintf("the organization's budget of %s (simulated time) is spent; a request is allowed again in %s (simulated)", budget, wait)
	s.noteRateLimited(endpoint, SourceApple, secs, now, detail)
	s.mu.Unlock()
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeAppleError(w, http.StatusTooManyRequests, appleRateLimitCode, "Too Many Requests",
		fmt.Sprintf("The request exceeds the rate limit of the Apple Business API: %s per organization. Retry after %d seconds.", budget, secs))
	return false
}

// SetAppleBudget replaces the Apple Business API budget; a value of 0 or less turns that budget
// off. The buckets start full.
func (s *Simulator) SetAppleBudget(b AppleBudget) {
	b.GetPerMinute, b.PostPerHour = max(b.GetPerMinute, 0), max(b.PostPerHour, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.apple == nil {
		s.cfg.apple = newAppleRuntime(b)
		return
	}
	s.cfg.apple.budget = b
	s.cfg.apple.get, s.cfg.apple.post = gcra{}, gcra{}
}

// AppleBudget returns the Apple Business API budget in force (0: off).
func (s *Simulator) AppleBudget() AppleBudget {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.apple == nil {
		return AppleBudget{}
	}
	return s.cfg.apple.budget
}

// AppleEndpointRequests counts what one Apple Business API endpoint was asked.
type AppleEndpointRequests struct {
	// Requests counts every request, whatever its answer (Stats.Calls).
	Requests int `json:"requests"`
	// RateLimited counts the 429s of the budget; InjectedRateLimited those of injected faults.
	RateLimited         int `json:"rateLimited"`
	InjectedRateLimited int `json:"injectedRateLimited"`
	// RetryAfterViolations counts requests sent before the Retry-After of an earlier 429 of the
	// same endpoint had passed, whoever sent them (the budget is the organization's).
	RetryAfterViolations int `json:"retryAfterViolations"`
}

// AppleRequests is what the Apple Business API was asked since the start or the last Reset:
// GET /sim/apple/requests.
type AppleRequests struct {
	Budget    AppleBudget                      `json:"budget"`
	Endpoints map[string]AppleEndpointRequests `json:"endpoints"` // every endpoint, by EndpointX name
	// Totals over the endpoints.
	Requests             int `json:"requests"`
	RateLimited          int `json:"rateLimited"`
	InjectedRateLimited  int `json:"injectedRateLimited"`
	RetryAfterViolations int `json:"retryAfterViolations"`
	// UnassignRetryAfterViolations is RetryAfterViolations of EndpointCreateActivity: unassign
	// POSTs sent before a Retry-After had passed. A conforming client keeps it at 0.
	UnassignRetryAfterViolations int `json:"unassignRetryAfterViolations"`
}

// AppleRequests counts the Apple Business API requests by endpoint, with the 429s and the
// Retry-After violations the ledger records.
func (s *Simulator) AppleRequests() AppleRequests {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	out := AppleRequests{Endpoints: make(map[string]AppleEndpointRequests, len(appleEndpoints))}
	if s.cfg.apple != nil {
		out.Budget = s.cfg.apple.budget
	}
	for _, name := range appleEndpoints {
		out.Endpoints[name] = AppleEndpointRequests{Requests: s.st.Counters.Calls[name]}
	}
	for _, e := range s.st.Ledger {
		if e.Endpoint == "" || (e.Kind != KindRateLimited && e.Kind != KindRetryAfterViolated) {
			continue
		}
		c := out.Endpoints[e.Endpoint]
		switch {
		case e.Kind == KindRetryAfterViolated:
			c.RetryAfterViolations++
		case e.Source == SourceFault:
			c.InjectedRateLimited++
		default:
			c.RateLimited++
		}
		out.Endpoints[e.Endpoint] = c
	}
	for _, c := range out.Endpoints {
		out.Requests += c.Requests
		out.RateLimited += c.RateLimited
		out.InjectedRateLimited += c.InjectedRateLimited
		out.RetryAfterViolations += c.RetryAfterViolations
	}
	out.UnassignRetryAfterViolations = out.Endpoints[EndpointCreateActivity].RetryAfterViolations
	return out
}

// appleAdminRoutes registers the /sim routes of the Apple budget.
func (s *Simulator) appleAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /sim/apple/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.AppleRequests())
	})
	mux.HandleFunc("GET /sim/apple/budget", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.AppleBudget())
	})
	mux.HandleFunc("PUT /sim/apple/budget", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readAdminBody(w, r)
		if !ok {
			return
		}
		var b AppleBudget
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil || b.GetPerMinute < 0 || b.PostPerHour < 0 {
			writeConsoleError(w, http.StatusBadRequest, "bad-request", `want {"getPerMinute":20,"postPerHour":10} (0: off)`)
			return
		}
		s.SetAppleBudget(b)
		writeJSON(w, http.StatusOK, s.AppleBudget())
	})
}
