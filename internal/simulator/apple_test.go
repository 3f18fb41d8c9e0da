package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
)

func TestTokenEndpointAcceptsACorrectlySignedAssertion(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPost, "/auth/oauth2/token", tokenForm(signAssertion(t, h.key, testKeyID, goodClaims(h.wall.Now()))), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("token: %d %s", rec.Code, rec.Body.String())
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	decode(t, rec, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.Scope != "business.api" {
		t.Errorf("token answer: %+v", tok)
	}
	if got := h.sim.Stats().TokensIssued; got != 1 {
		t.Errorf("tokens issued: %d, want 1", got)
	}
}

func TestTokenEndpointRejectsBadAssertions(t *testing.T) {
	h := newHarness(t)
	now := h.wall.Now()
	with := func(k string, v any) map[string]any {
		c := goodClaims(now)
		c[k] = v
		return c
	}
	cases := map[string]string{
		"other key":     signAssertion(t, NewTestKey(), testKeyID, goodClaims(now)),
		"other kid":     signAssertion(t, h.key, "key-9999", goodClaims(now)),
		"other aud":     signAssertion(t, h.key, testKeyID, with("aud", "https://account.apple.com/auth/oauth2/token")),
		"expired":       signAssertion(t, h.key, testKeyID, with("exp", now.Add(-time.Second).Unix())),
		"over 180 days": signAssertion(t, h.key, testKeyID, with("exp", now.Add(181*24*time.Hour).Unix())),
		"other sub":     signAssertion(t, h.key, testKeyID, with("sub", "someone-else")),
		"no jti":        signAssertion(t, h.key, testKeyID, with("jti", "")),
		"not a JWT":     "abc.def",
	}
	for name, assertion := range cases {
		rec := h.do(http.MethodPost, "/auth/oauth2/token", tokenForm(assertion), nil)
		var e struct{ Error string }
		decode(t, rec, &e)
		if rec.Code != http.StatusUnauthorized || e.Error != "invalid_client" {
			t.Errorf("%s: %d %s, want 401 invalid_client", name, rec.Code, rec.Body.String())
		}
	}
	form := tokenForm(signAssertion(t, h.key, testKeyID, goodClaims(now)))
	form.Set("grant_type", "authorization_code")
	if rec := h.do(http.MethodPost, "/auth/oauth2/token", form, nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "unsupported_grant_type") {
		t.Errorf("grant type: %d %s", rec.Code, rec.Body.String())
	}
	form = tokenForm(signAssertion(t, h.key, testKeyID, goodClaims(now)))
	form.Del("client_assertion_type")
	if rec := h.do(http.MethodPost, "/auth/oauth2/token", form, nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_request") {
		t.Errorf("missing parameter: %d %s", rec.Code, rec.Body.String())
	}
	if got := h.sim.Stats().TokensIssued; got != 0 {
		t.Errorf("tokens issued for bad requests: %d", got)
	}
}

func TestAppleRequiresAValidAccessToken(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	path := "/v1/orgDevices/SER1/relationships/assignedServer"
	for name, hdr := range map[string]map[string]string{"none": nil, "unknown": auth("made-up"), "console's": auth(testToken)} {
		rec := h.do(http.MethodGet, path, nil, hdr)
		if rec.Code != http.StatusUnauthorized || appleCode(t, rec) != "NOT_AUTHORIZED" {
			t.Errorf("%s token: %d %s", name, rec.Code, rec.Body.String())
		}
	}
	token := h.appleToken()
	if rec := h.do(http.MethodGet, path, nil, auth(token)); rec.Code != http.StatusOK {
		t.Fatalf("fresh token: %d", rec.Code)
	}
	h.wall.Advance(AccessTokenLifetime)
	if rec := h.do(http.MethodGet, path, nil, auth(token)); rec.Code != http.StatusUnauthorized || appleCode(t, rec) != "NOT_AUTHORIZED" {
		t.Errorf("expired token: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAssignedServer(t *testing.T) {
	h := newHarness(t)
	unassigned := DeviceSpecFor("LOOSE", EnrollmentADE)
	unassigned.Assigned = false
	h.add(DeviceSpecFor("ADE1", EnrollmentADE), unassigned, DeviceSpecFor("MANUAL", EnrollmentManual))
	token := h.appleToken()
	read := func(serial string) (int, *resourceID) {
		rec := h.do(http.MethodGet, "/v1/orgDevices/"+serial+"/relationships/assignedServer", nil, auth(token))
		var doc struct {
			Data  *resourceID       `json:"data"`
			Links map[string]string `json:"links"`
		}
		if rec.Code == http.StatusOK {
			decode(t, rec, &doc)
			if !strings.HasSuffix(doc.Links["self"], "/v1/orgDevices/"+serial+"/relationships/assignedServer") {
				t.Errorf("%s: links %v", serial, doc.Links)
			}
		} else if code := appleCode(t, rec); code != "NOT_FOUND" {
			t.Errorf("%s: code %s", serial, code)
		}
		return rec.Code, doc.Data
	}
	if status, data := read("ADE1"); status != http.StatusOK || data == nil || *data != (resourceID{Type: "mdmServers", ID: testServer}) {
		t.Errorf("ADE1: %d %+v", status, data)
	}
	if status, data := read("LOOSE"); status != http.StatusOK || data != nil {
		t.Errorf("LOOSE: %d %+v, want data null", status, data)
	}
	if status, _ := read("MANUAL"); status != http.StatusNotFound {
		t.Errorf("a manual device: %d, want 404 (Apple does not know it)", status)
	}
}

type activityAnswer struct {
	Data struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		Attributes struct {
			Status            string     `json:"status"`
			SubStatus         string     `json:"subStatus"`
			CreatedDateTime   time.Time  `json:"createdDateTime"`
			CompletedDateTime *time.Time `json:"completedDateTime"`
			DownloadURL       string     `json:"downloadUrl"`
		} `json:"attributes"`
	} `json:"data"`
}

func TestUnassignActivityLifecycle(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("ADE1", EnrollmentADE), DeviceSpecFor("ADE2", EnrollmentADERestricted), DeviceSpecFor("MANUAL", EnrollmentManual))
	token := h.appleToken()

	rec := h.unassign(token, "ADE1", "ADE2")
	var created activityAnswer
	decode(t, rec, &created)
	a := created.Data.Attributes
	if rec.Code != http.StatusCreated || created.Data.Type != "orgDeviceActivities" || created.Data.ID == "" ||
		a.Status != "IN_PROGRESS" || a.SubStatus != "SUBMITTED" || !a.CreatedDateTime.Equal(t0) {
		t.Fatalf("created: %d %s", rec.Code, rec.Body.String())
	}
	get := func(id string) activityAnswer {
		rec := h.do(http.MethodGet, "/v1/orgDeviceActivities/"+id, nil, auth(token))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET activity: %d %s", rec.Code, rec.Body.String())
		}
		var got activityAnswer
		decode(t, rec, &got)
		return got
	}
	h.clock.Advance(DefaultActivityDelay - time.Second)
	if got := get(created.Data.ID).Data.Attributes; got.Status != "IN_PROGRESS" || got.SubStatus != "PROCESSING" || got.CompletedDateTime != nil {
		t.Errorf("before the delay: %+v", got)
	}
	h.clock.Advance(time.Second)
	done := get(created.Data.ID).Data.Attributes
	if done.Status != applebusiness.ActivityCompleted || done.SubStatus != applebusiness.SubStatusCompletedWithSuccess ||
		done.CompletedDateTime == nil || !strings.Contains(done.DownloadURL, "/sim/activities/"+created.Data.ID+"/log") {
		t.Errorf("after the delay: %+v", done)
	}
	for _, serial := range []string{"ADE1", "ADE2"} {
		if d := h.device(serial); d.AssignedServer != "" {
			t.Errorf("%s still assigned to %q", serial, d.AssignedServer)
		}
	}
	logRec := h.do(http.MethodGet, "/sim/activities/"+created.Data.ID+"/log", nil, nil)
	if logRec.Code != http.StatusOK || !strings.Contains(logRec.Body.String(), "ADE1,SUCCESS") {
		t.Errorf("activity log: %d %q", logRec.Code, logRec.Body.String())
	}

	// Not idempotent: a second POST is a second activity, and fails for devices no longer assigned.
	rec = h.unassign(token, "ADE1", "MANUAL")
	var second activityAnswer
	decode(t, rec, &second)
	if rec.Code != http.StatusCreated || second.Data.ID == created.Data.ID {
		t.Fatalf("second POST: %d %s", rec.Code, rec.Body.String())
	}
	h.clock.Advance(DefaultActivityDelay)
	if got := get(second.Data.ID).Data.Attributes; got.Status != applebusiness.ActivityFailed || got.SubStatus != applebusiness.SubStatusCompletedWithFailure {
		t.Errorf("second activity: %+v, want FAILED (nothing to unassign)", got)
	}
	if n := h.ledgerCount("ADE1", "UNASSIGN_DEVICES", OutcomeAccepted); n != 2 {
		t.Errorf("ADE1 unassign requests in the ledger: %d, want 2 (the ledger must show a double unassign)", n)
	}
	if n := h.ledgerCount("ADE2", "UNASSIGN_DEVICES", OutcomeAccepted); n != 1 {
		t.Errorf("ADE2 unassign requests: %d, want 1", n)
	}
	if n := h.ledgerCount("ADE1", "UNASSIGN_DEVICES", OutcomeFailed); n != 1 {
		t.Errorf("ADE1 failed unassigns: %d, want 1", n)
	}
}

func TestPartlyFailedActivity(t *testing.T) {
	h := newHarness(t)
	other := DeviceSpecFor("OTHER", EnrollmentADE)
	other.AssignedServer = "ANOTHER-MDM"
	h.add(DeviceSpecFor("ADE1", EnrollmentADE), other)
	token := h.appleToken()
	var created activityAnswer
	decode(t, h.unassign(token, "ADE1", "OTHER", "NEVER-HEARD-OF"), &created)
	h.clock.Advance(DefaultActivityDelay)
	act, ok := h.sim.Activity(created.Data.ID)
	if !ok || act.Status != applebusiness.ActivityCompleted || act.SubStatus != applebusiness.SubStatusCompletedWithFailure || len(act.Results) != 3 {
		t.Fatalf("activity: %+v", act)
	}
	if d := h.device("OTHER"); d.AssignedServer != "ANOTHER-MDM" {
		t.Errorf("a device of another MDM server was unassigned: %q", d.AssignedServer)
	}
}

func TestActivityRequestLimits(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("ADE1", EnrollmentADE))
	token := h.appleToken()
	serials := make([]string, MaxActivityDevices+1)
	for i := range serials {
		serials[i] = fmt.Sprintf("S%05d", i)
	}
	if rec := h.unassign(token, serials...); rec.Code != http.StatusBadRequest {
		t.Errorf("%d devices: %d, want 400", len(serials), rec.Code)
	}
	if rec := h.unassign(token, serials[:MaxActivityDevices]...); rec.Code != http.StatusCreated {
		t.Errorf("%d devices: %d, want 201", MaxActivityDevices, rec.Code)
	}
	body := `{"data":{"type":"orgDeviceActivities","attributes":{"activityType":"UNASSIGN_DEVICES"},
		"relationships":{"mdmServer":{"data":{"type":"mdmServers","id":"NO-SUCH-SERVER"}},"devices":{"data":[{"type":"orgDevices","id":"ADE1"}]}}}}`
	if rec := h.do(http.MethodPost, "/v1/orgDeviceActivities", body, auth(token)); rec.Code != http.StatusNotFound || appleCode(t, rec) != "NOT_FOUND" {
		t.Errorf("unknown server: %d %s", rec.Code, rec.Body.String())
	}
	if rec := h.do(http.MethodPost, "/v1/orgDeviceActivities", strings.Replace(body, "UNASSIGN_DEVICES", "RELEASE_DEVICES", 1), auth(token)); rec.Code != http.StatusBadRequest {
		t.Errorf("unsupported activity type: %d", rec.Code)
	}
	if rec := h.do(http.MethodGet, "/v1/orgDeviceActivities/nope", nil, auth(token)); rec.Code != http.StatusNotFound || appleCode(t, rec) != "NOT_FOUND" {
		t.Errorf("unknown activity: %d", rec.Code)
	}
	if st := h.sim.Stats(); st.Calls["POST /v1/orgDeviceActivities"] != 4 || st.Calls["POST /auth/oauth2/token"] != 1 || st.AppleCalls != 6 {
		b, _ := json.Marshal(st)
		t.Errorf("stats: %s", b)
	}
}
