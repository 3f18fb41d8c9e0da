package simulator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
)

const assignedServerPath = "/v1/orgDevices/ADE1/relationships/assignedServer"

func (h *harness) appleGET(token, path string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(http.MethodGet, path, nil, auth(token))
}

// rateLimited checks a 429 is Apple's, with Retry-After; it returns the Retry-After.
func rateLimited(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("got %d %s, want 429", rec.Code, rec.Body.String())
	}
	if code := appleCode(t, rec); code != "RATE_LIMIT_EXCEEDED" {
		t.Errorf("code %s, want RATE_LIMIT_EXCEEDED", code)
	}
	ra := rec.Header().Get("Retry-After")
	if ra == "" {
		t.Fatal("a 429 without Retry-After")
	}
	return ra
}

func TestAppleGETBudgetAnswers429UntilATokenFrees(t *testing.T) {
	h := newHarness(t) // the default budget; real time (no TimeScale): Retry-After in simulated seconds
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	token := h.appleToken()
	for i := range DefaultAppleGetPerMinute {
		if rec := h.appleGET(token, assignedServerPath); rec.Code != http.StatusOK {
			t.Fatalf("GET %d of %d in the minute: %d", i+1, DefaultAppleGetPerMinute, rec.Code)
		}
	}
	// 20 a minute is one every 3 s: the next token frees 3 s after the burst.
	if ra := rateLimited(t, h.appleGET(token, assignedServerPath)); ra != "3" {
		t.Errorf("Retry-After %s, want 3", ra)
	}
	h.clock.Advance(2 * time.Second) // too early: refused again, and a violation of the Retry-After
	if ra := rateLimited(t, h.appleGET(token, assignedServerPath)); ra != "1" {
		t.Errorf("Retry-After after 2 s: %s, want 1", ra)
	}
	h.clock.Advance(time.Second) // waited out
	if rec := h.appleGET(token, assignedServerPath); rec.Code != http.StatusOK {
		t.Fatalf("after the Retry-After: %d %s", rec.Code, rec.Body.String())
	}
	if rec := h.appleGET(token, assignedServerPath); rec.Code != http.StatusTooManyRequests {
		t.Errorf("a second GET on the freed token: %d, want 429", rec.Code)
	}

	got := h.sim.AppleRequests()
	want := AppleEndpointRequests{Requests: DefaultAppleGetPerMinute + 4, RateLimited: 3, RetryAfterViolations: 1}
	if c := got.Endpoints[EndpointAssignedServer]; c != want {
		t.Errorf("%s: %+v, want %+v", EndpointAssignedServer, c, want)
	}
	if got.Budget != (AppleBudget{GetPerMinute: 20, PostPerHour: 10}) || got.RateLimited != 3 || got.UnassignRetryAfterViolations != 0 {
		t.Errorf("requests: %+v", got)
	}
	var limited []LedgerEntry
	for _, e := range h.sim.Ledger("") {
		if e.Kind == KindRateLimited {
			limited = append(limited, e)
		}
	}
	if len(limited) != 3 || limited[0].Endpoint != EndpointAssignedServer || limited[0].Source != SourceApple ||
		limited[0].RetryUntil == nil || !limited[0].RetryUntil.Equal(t0.Add(3*time.Second)) {
		t.Errorf("rate-limited ledger entries: %+v", limited)
	}
}

// The GET budget is the organization's, shared by every GET endpoint.
func TestAppleGETBudgetSpansEndpoints(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	token := h.appleToken()
	for range 15 {
		h.appleGET(token, assignedServerPath)
	}
	for range 5 {
		h.appleGET(token, "/v1/orgDeviceActivities/none") // 404s spend the budget too
	}
	rateLimited(t, h.appleGET(token, "/v1/mdmServers/"+testServer+"/relationships/devices"))
	got := h.sim.AppleRequests()
	if got.Endpoints[EndpointAssignedServer].Requests != 15 || got.Endpoints[EndpointActivity].Requests != 5 ||
		got.Endpoints[EndpointServerDevices] != (AppleEndpointRequests{Requests: 1, RateLimited: 1}) || got.Requests != 21 {
		t.Errorf("per endpoint: %+v", got.Endpoints)
	}
}

func TestApplePOSTBudgetPerSimulatedHour(t *testing.T) {
	// At 3600 simulated seconds a real second, 10 POSTs an hour are 10 a real second: the
	// 6 minutes until a token frees are 0.1 real seconds, rounded up to Retry-After: 1.
	h := newHarness(t, func(c *Config) { c.TimeScale = 3600 })
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	token := h.appleToken()
	for i := range DefaultApplePostPerHour {
		if rec := h.unassign(token, "ADE1"); rec.Code != http.StatusCreated {
			t.Fatalf("POST %d of %d in the hour: %d %s", i+1, DefaultApplePostPerHour, rec.Code, rec.Body.String())
		}
	}
	if ra := rateLimited(t, h.unassign(token, "ADE1")); ra != "1" {
		t.Errorf("Retry-After %s, want 1 (0.1 real seconds rounded up)", ra)
	}
	if n := h.sim.Stats().Activities; n != DefaultApplePostPerHour {
		t.Errorf("%d activities, want %d: a refused POST must not create one", n, DefaultApplePostPerHour)
	}
	if n := h.ledgerCount("ADE1", applebusiness.ActivityUnassignDevices, OutcomeAccepted); n != DefaultApplePostPerHour {
		t.Errorf("%d unassigns accepted, want %d", n, DefaultApplePostPerHour)
	}
	// GETs are another bucket: still served.
	if rec := h.appleGET(token, assignedServerPath); rec.Code != http.StatusOK {
		t.Errorf("a GET after the POST budget is spent: %d", rec.Code)
	}

	// 30 simulated minutes later Apple has tokens again, but the Retry-After (1 real second, an
	// hour simulated) has not passed: the POST is served and counted as a violation.
	h.clock.Advance(30 * time.Minute)
	if rec := h.unassign(token, "ADE1"); rec.Code != http.StatusCreated {
		t.Fatalf("POST after 30 min: %d", rec.Code)
	}
	got := h.sim.AppleRequests()
	if got.UnassignRetryAfterViolations != 1 || got.Endpoints[EndpointCreateActivity] != (AppleEndpointRequests{Requests: 12, RateLimited: 1, RetryAfterViolations: 1}) {
		t.Errorf("requests: %+v", got)
	}
	if !hasHazard(h.sim.Ledger(""), HazardRetryAfterViolated) {
		t.Error("the ledger does not flag the violation")
	}
	h.clock.Advance(30 * time.Minute) // the Retry-After has passed: no more violations
	if rec := h.unassign(token, "ADE1"); rec.Code != http.StatusCreated {
		t.Fatalf("POST after the Retry-After: %d", rec.Code)
	}
	if n := h.sim.AppleRequests().UnassignRetryAfterViolations; n != 1 {
		t.Errorf("violations: %d, want still 1", n)
	}
}

// Retry-After is in real seconds: the simulated wait divided by the time scale, rounded up.
func TestAppleRetryAfterIsInRealSeconds(t *testing.T) {
	for scale, want := range map[float64]string{1: "360", 60: "6", 100: "4", 3600: "1", 1e6: "1"} {
		h := newHarness(t, func(c *Config) { c.TimeScale = scale; c.ApplePostPerHour = 10 })
		h.add(DeviceSpecFor("ADE1", EnrollmentADE))
		token := h.appleToken()
		for range 10 {
			h.unassign(token, "ADE1")
		}
		if ra := rateLimited(t, h.unassign(token, "ADE1")); ra != want {
			t.Errorf("scale %g: Retry-After %s, want %s", scale, ra, want)
		}
	}
}

func TestAppleBudgetOffAndChanged(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AppleGetPerMinute, c.ApplePostPerHour = AppleBudgetOff, AppleBudgetOff })
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	token := h.appleToken()
	for i := range 100 {
		if rec := h.appleGET(token, assignedServerPath); rec.Code != http.StatusOK {
			t.Fatalf("GET %d with the budget off: %d", i+1, rec.Code)
		}
	}
	for i := range 30 {
		if rec := h.unassign(token, "ADE1"); rec.Code != http.StatusCreated {
			t.Fatalf("POST %d with the budget off: %d", i+1, rec.Code)
		}
	}
	if got := h.sim.AppleRequests(); got.Budget != (AppleBudget{}) || got.RateLimited != 0 || got.Requests != 130 {
		t.Errorf("budget off: %+v", got)
	}

	// Turned on over /sim: 2 GETs a minute.
	if rec := h.do(http.MethodPut, "/sim/apple/budget", map[string]int{"getPerMinute": 2}, nil); rec.Code != http.StatusOK {
		t.Fatalf("PUT /sim/apple/budget: %d %s", rec.Code, rec.Body.String())
	}
	h.appleGET(token, assignedServerPath)
	h.appleGET(token, assignedServerPath)
	if ra := rateLimited(t, h.appleGET(token, assignedServerPath)); ra != "30" {
		t.Errorf("Retry-After %s, want 30 (2 a minute)", ra)
	}
	if rec := h.unassign(token, "ADE1"); rec.Code != http.StatusCreated {
		t.Errorf("POST budget still off: %d", rec.Code)
	}
	for _, body := range []string{`{"getPerMinute":-1}`, `{"getPerMinute":1,"typo":2}`, `[]`} {
		if rec := h.do(http.MethodPut, "/sim/apple/budget", body, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", body, rec.Code)
		}
	}
	var served AppleRequests
	rec := h.do(http.MethodGet, "/sim/apple/requests", nil, nil)
	decode(t, rec, &served)
	if served.Budget != (AppleBudget{GetPerMinute: 2}) || served.Endpoints[EndpointAssignedServer].RateLimited != 1 ||
		served.Endpoints[EndpointCreateActivity].Requests != 31 {
		t.Errorf("GET /sim/apple/requests: %s", rec.Body.String())
	}
}

// Neither the token endpoint nor the activity log (a presigned URL, not the API) spends the budget.
func TestAppleBudgetCountsOnlyTheAPI(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AppleGetPerMinute, c.ApplePostPerHour = 2, 1 })
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	var token string
	for range 5 {
		token = h.appleToken() // POST /auth/oauth2/token
	}
	rec := h.unassign(token, "ADE1")
	if rec.Code != http.StatusCreated {
		t.Fatalf("the one POST of the hour after 5 token requests: %d", rec.Code)
	}
	var created activityAnswer
	decode(t, rec, &created)
	h.clock.Advance(DefaultActivityDelay)
	for range 5 {
		if rec := h.do(http.MethodGet, "/sim/activities/"+created.Data.ID+"/log", nil, nil); rec.Code != http.StatusOK {
			t.Fatalf("activity log: %d", rec.Code)
		}
	}
	if rec := h.appleGET(token, "/v1/orgDeviceActivities/"+created.Data.ID); rec.Code != http.StatusOK {
		t.Fatalf("GET activity: %d", rec.Code)
	}
	if rec := h.appleGET(token, assignedServerPath); rec.Code != http.StatusOK {
		t.Fatalf("second GET: %d", rec.Code)
	}
	rateLimited(t, h.appleGET(token, assignedServerPath))
	rateLimited(t, h.unassign(token, "ADE1")) // the hour's POST is spent
}

// A 401 is answered before the budget: it spends nothing. An injected 429 counts apart from the
// budget's, and its Retry-After counts for violations too.
func TestAppleInjected429AndUnauthorized(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AppleGetPerMinute = 1 })
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	token := h.appleToken()
	for range 3 {
		if rec := h.appleGET("made-up", assignedServerPath); rec.Code != http.StatusUnauthorized {
			t.Fatalf("bad token: %d", rec.Code)
		}
	}
	h.sim.SetFaults(Faults{Rate429: 1, RetryAfterSeconds: 5})
	if ra := rateLimited(t, h.appleGET(token, assignedServerPath)); ra != "5" {
		t.Errorf("injected Retry-After %s", ra)
	}
	h.sim.SetFaults(Faults{})
	h.clock.Advance(4 * time.Second)
	if rec := h.appleGET(token, assignedServerPath); rec.Code != http.StatusOK { // the one GET of the minute
		t.Fatalf("after the fault: %d", rec.Code)
	}
	got := h.sim.AppleRequests().Endpoints[EndpointAssignedServer]
	if got != (AppleEndpointRequests{Requests: 5, InjectedRateLimited: 1, RetryAfterViolations: 1}) {
		t.Errorf("counts: %+v", got)
	}
}

func TestAppleCountsSurviveARestartAndGoWithReset(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ApplePostPerHour = 1 })
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	token := h.appleToken()
	h.unassign(token, "ADE1")
	rateLimited(t, h.unassign(token, "ADE1")) // Retry-After 3600 s
	before := h.sim.AppleRequests()
	if err := h.sim.Close(); err != nil {
		t.Fatal(err)
	}
	sim, err := New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	h.sim = sim
	if got := sim.AppleRequests(); got.Endpoints[EndpointCreateActivity] != before.Endpoints[EndpointCreateActivity] {
		t.Errorf("after a restart: %+v, want %+v", got.Endpoints[EndpointCreateActivity], before.Endpoints[EndpointCreateActivity])
	}
	// The buckets are full again after a restart, but the Retry-After window is remembered.
	h.clock.Advance(time.Minute)
	if rec := h.unassign(token, "ADE1"); rec.Code != http.StatusCreated {
		t.Fatalf("POST after the restart: %d", rec.Code)
	}
	if n := sim.AppleRequests().UnassignRetryAfterViolations; n != 1 {
		t.Errorf("violations after the restart: %d, want 1", n)
	}
	rateLimited(t, h.unassign(token, "ADE1"))
	sim.Reset()
	if got := sim.AppleRequests(); got.Requests != 0 || got.RateLimited != 0 || got.RetryAfterViolations != 0 {
		t.Errorf("after Reset: %+v", got)
	}
	h.clock.Advance(time.Hour) // a fresh bucket; the window of before the Reset is forgotten
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	if rec := h.unassign(token, "ADE1"); rec.Code != http.StatusCreated {
		t.Fatalf("POST after Reset: %d", rec.Code)
	}
	if got := sim.AppleRequests(); got.RetryAfterViolations != 0 || got.Endpoints[EndpointCreateActivity].Requests != 1 {
		t.Errorf("after Reset and a POST: %+v", got)
	}
}

func TestGCRAIsATokenBucket(t *testing.T) {
	var g gcra
	for i := range 10 {
		if ok, _ := g.take(t0, 10, time.Hour); !ok {
			t.Fatalf("request %d of a full bucket refused", i+1)
		}
	}
	if ok, wait := g.take(t0, 10, time.Hour); ok || wait != 6*time.Minute {
		t.Errorf("11th: %t %s, want refused for 6m", ok, wait)
	}
	if ok, _ := g.take(t0.Add(6*time.Minute), 10, time.Hour); !ok {
		t.Error("after 6 minutes: refused")
	}
	if ok, _ := g.take(t0.Add(6*time.Minute), 10, time.Hour); ok {
		t.Error("two requests on one freed token")
	}
	if ok, _ := g.take(t0.Add(100*time.Hour), 0, time.Hour); !ok {
		t.Error("n = 0 (off) refused")
	}
	// Idle for long, the bucket holds no more than n.
	late := t0.Add(48 * time.Hour)
	n := 0
	for {
		if ok, _ := g.take(late, 10, time.Hour); !ok {
			break
		}
		n++
	}
	if n != 10 {
		t.Errorf("after two idle days %d requests at once, want 10", n)
	}
}

func TestServerDevicesPages(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AppleGetPerMinute = AppleBudgetOff })
	var specs []DeviceSpec
	var want []string
	for i := range 250 {
		serial := fmt.Sprintf("S%04d", 249-i) // added out of order
		specs = append(specs, DeviceSpecFor(serial, EnrollmentADE))
		want = append(want, serial)
	}
	slices.Sort(want)
	loose := DeviceSpecFor("LOOSE", EnrollmentADE)
	loose.Assigned = false
	other := DeviceSpecFor("OTHER", EnrollmentADE)
	other.AssignedServer = "ANOTHER-MDM"
	specs = append(specs, loose, other, DeviceSpecFor("MANUAL", EnrollmentManual))
	h.add(specs...)
	token := h.appleToken()

	type page struct {
		Data  []resourceID      `json:"data"`
		Links map[string]string `json:"links"`
		Meta  struct {
			Paging struct {
				Total      int    `json:"total"`
				Limit      int    `json:"limit"`
				NextCursor string `json:"nextCursor"`
			} `json:"paging"`
		} `json:"meta"`
	}
	read := func(path string) page {
		t.Helper()
		rec := h.appleGET(token, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		var p page
		decode(t, rec, &p)
		return p
	}
	base := "/v1/mdmServers/" + testServer + "/relationships/devices"
	var got []string
	path, pages := base+"?limit=100", 0
	for {
		p := read(path)
		pages++
		wantTotal := 250
		if pages > 1 {
			wantTotal = 249 // S0000 was unassigned after page one
		}
		if p.Meta.Paging.Total != wantTotal || p.Meta.Paging.Limit != 100 {
			t.Errorf("page %d: paging %+v", pages, p.Meta.Paging)
		}
		if !strings.HasSuffix(p.Links["related"], "/v1/mdmServers/"+testServer+"/devices") {
			t.Errorf("page %d: links %v", pages, p.Links)
		}
		for _, d := range p.Data {
			if d.Type != "orgDevices" {
				t.Errorf("page %d: type %q", pages, d.Type)
			}
			got = append(got, d.ID)
		}
		if p.Links["next"] == "" {
			if p.Meta.Paging.NextCursor != "" {
				t.Errorf("last page with a nextCursor %q", p.Meta.Paging.NextCursor)
			}
			break
		}
		if !strings.Contains(p.Links["next"], "cursor="+p.Meta.Paging.NextCursor) {
			t.Errorf("links.next %q does not carry meta.paging.nextCursor %q", p.Links["next"], p.Meta.Paging.NextCursor)
		}
		path = strings.TrimPrefix(p.Links["next"], "http://example.com")
		if pages == 1 {
			// Between pages a device of page one is unassigned: the next pages neither repeat
			// nor skip a device.
			if rec := h.unassign(token, "S0000"); rec.Code != http.StatusCreated {
				t.Fatalf("unassign S0000: %d", rec.Code)
			}
			h.clock.Advance(DefaultActivityDelay)
			if h.device("S0000").AssignedServer != "" {
				t.Fatal("S0000 still assigned")
			}
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages, %d serials (first %v), want 3 pages of the 250 assigned serials in order", pages, len(got), got[:min(3, len(got))])
	}

	if p := read(base); len(p.Data) != DefaultDevicesPageLimit || p.Meta.Paging.Limit != 100 || p.Meta.Paging.Total != 249 {
		t.Errorf("default page: %d devices, paging %+v", len(p.Data), p.Meta.Paging)
	}
	if p := read(base + "?limit=1000"); len(p.Data) != 249 || p.Links["next"] != "" {
		t.Errorf("limit 1000: %d devices, next %q", len(p.Data), p.Links["next"])
	}
	if p := read("/v1/mdmServers/ANOTHER-MDM/relationships/devices"); len(p.Data) != 1 || p.Data[0].ID != "OTHER" {
		t.Errorf("another server: %+v", p.Data)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?limit=ten", "?cursor=not-ours", "?cursor=" + "YWJj"} {
		if rec := h.appleGET(token, base+bad); rec.Code != http.StatusBadRequest || appleCode(t, rec) != "PARAMETER_ERROR.INVALID" {
			t.Errorf("%s: %d %s, want 400", bad, rec.Code, rec.Body.String())
		}
	}
	if rec := h.appleGET(token, "/v1/mdmServers/NO-SUCH/relationships/devices"); rec.Code != http.StatusNotFound || appleCode(t, rec) != "NOT_FOUND" {
		t.Errorf("unknown server: %d", rec.Code)
	}
	if n := h.sim.AppleRequests().Endpoints[EndpointServerDevices].Requests; n != 3+3+5+1 {
		t.Errorf("%d requests counted, want 12", n)
	}
}

// The product's client reads every page from the simulator, and a 429 comes back to it as an
// error with the Retry-After, once waited out, it goes on from the cursor.
func TestClientAssignedDevicesAgainstTheSimulator(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AppleGetPerMinute = 2 })
	var specs []DeviceSpec
	for i := range 2500 {
		specs = append(specs, DeviceSpecFor(fmt.Sprintf("D%05d", i), EnrollmentADE))
	}
	h.add(specs...)
	srv := httptest.NewServer(h.sim.Handler())
	defer srv.Close()
	ac, err := applebusiness.New(applebusiness.Config{ClientID: testClientID, KeyID: testKeyID, PrivateKey: h.key,
		ServerID: testServer, APIBaseURL: srv.URL, TokenURL: srv.URL + "/auth/oauth2/token"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var bulk applebusiness.BulkReader = ac
	_, err = bulk.AssignedDevices(ctx, "")
	d, ok := applebusiness.RetryAfter(err)
	if !applebusiness.IsRateLimited(err) || !ok || d != 30*time.Second {
		t.Fatalf("3 pages on a budget of 2 GETs a minute: %v (Retry-After %s %t), want a 429 with Retry-After 30s", err, d, ok)
	}
	if got := h.sim.AppleRequests().Endpoints[EndpointServerDevices]; got != (AppleEndpointRequests{Requests: 3, RateLimited: 1}) {
		t.Errorf("requests: %+v, want 3 (the client does not retry the 429)", got)
	}

	// Paged by the caller: two pages, then the 429, then the last page after the wait.
	h.clock.Advance(time.Minute)
	first, err := bulk.AssignedDevicesPage(ctx, "", "", 0)
	if err != nil || len(first.Serials) != 1000 || first.Total != 2500 || first.NextCursor == "" {
		t.Fatalf("first page: %d serials, total %d, cursor %q, %v", len(first.Serials), first.Total, first.NextCursor, err)
	}
	second, err := bulk.AssignedDevicesPage(ctx, "", first.NextCursor, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bulk.AssignedDevicesPage(ctx, "", second.NextCursor, 0)
	d, ok = applebusiness.RetryAfter(err)
	if !ok {
		t.Fatalf("third page: %v, want a 429", err)
	}
	h.clock.Advance(d)
	third, err := bulk.AssignedDevicesPage(ctx, "", second.NextCursor, 0)
	if err != nil || len(third.Serials) != 500 || third.NextCursor != "" || third.Serials[499] != "D02499" {
		t.Fatalf("third page after the Retry-After: %d %q %v", len(third.Serials), third.NextCursor, err)
	}
	if got := h.sim.AppleRequests(); got.RetryAfterViolations != 0 {
		t.Errorf("a client that waits out Retry-After violated it: %+v", got)
	}

	h.sim.SetAppleBudget(AppleBudget{})
	all, err := bulk.AssignedDevices(ctx, "")
	if err != nil || len(all) != 2500 || all[0] != "D00000" {
		t.Errorf("budget off: %d serials, %v", len(all), err)
	}
}
