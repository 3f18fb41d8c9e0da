package simulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/console"
)

// The simulator's Activation Lock: NONE by default, USER or MDM from the spec, read by the
// product's own client over HTTP; a wipe clears neither; turning it off in Apple Business Manager
// (the admin endpoint) clears it; each read is one GET of the organisation's budget.
func TestActivationLockSurvivesTheWipeUntilTurnedOffInAppleBusinessManager(t *testing.T) {
	h := newHarness(t)
	user := DeviceSpecFor("LOCKUSER1", EnrollmentADE)
	user.ActivationLock = "USER"
	mdm := DeviceSpecFor("LOCKMDM1", EnrollmentADE)
	mdm.ActivationLock = "MDM"
	h.add(DeviceSpecFor("LOCKNONE1", EnrollmentADE), user, mdm, DeviceSpecFor("MANUAL1", EnrollmentManual))
	srv := httptest.NewServer(h.sim.Handler())
	defer srv.Close()
	ctx := context.Background()
	ac, err := applebusiness.New(applebusiness.Config{ClientID: testClientID, KeyID: testKeyID, PrivateKey: h.key,
		ServerID: testServer, APIBaseURL: srv.URL, TokenURL: srv.URL + "/auth/oauth2/token"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(serial string) applebusiness.ActivationLock {
		t.Helper()
		l, err := ac.ActivationLockStatus(ctx, serial)
		if err != nil {
			t.Fatalf("%s: %v", serial, err)
		}
		return l
	}
	for serial, want := range map[string]string{"LOCKNONE1": "NONE", "LOCKUSER1": "USER", "LOCKMDM1": "MDM"} {
		if l := read(serial); l.LockType != want || l.IsLocked != (want != "NONE") {
			t.Errorf("%s: %+v, want %s", serial, l, want)
		}
	}
	if _, err := ac.ActivationLockStatus(ctx, "MANUAL1"); !applebusiness.IsNotFound(err) {
		t.Errorf("a device Apple does not know: %v, want 404", err)
	}

	// The console erases the device: Activation Lock stays on.
	cc, err := console.New(console.Config{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.SendCommand(ctx, "LOCKUSER1", "offboard-LOCKUSER1/console-wipe/1", console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(DefaultCheckInEvery)
	if !h.device("LOCKUSER1").Wiped {
		t.Fatal("the device was not erased")
	}
	if l := read("LOCKUSER1"); l.LockType != applebusiness.LockTypeUser || l.Reusable() {
		t.Errorf("after the wipe: %+v, want still USER and not reusable", l)
	}

	// A person turns it off in Apple Business Manager.
	rec := h.do(http.MethodPost, "/sim/devices/LOCKUSER1/activation-lock/turn-off", map[string]string{"by": "alice"}, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("turn off: %d %s", rec.Code, rec.Body.String())
	}
	if l := read("LOCKUSER1"); l.IsLocked || l.LockType != applebusiness.LockTypeNone || !l.Reusable() {
		t.Errorf("after turning it off: %+v, want NONE", l)
	}
	if n := h.ledgerCount("LOCKUSER1", KindActivationLockOff, OutcomeApplied); n != 1 {
		t.Errorf("ledger: %d turn-offs, want 1", n)
	}
	if rec := h.do(http.MethodPost, "/sim/devices/MANUAL1/activation-lock/turn-off", nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("turn off on a device Apple does not know: %d, want 404", rec.Code)
	}
	if rec := h.do(http.MethodPut, "/sim/devices/LOCKNONE1/activation-lock", map[string]string{"lockType": "SOMETHING"}, nil); rec.Code != http.StatusBadRequest {
		t.Errorf("a lock type Apple does not have: %d, want 400", rec.Code)
	}

	// Six reads of the lock (the 404 included), each one GET of the budget.
	got := h.sim.AppleRequests().Endpoints[EndpointActivationLock]
	if got.Requests != 6 {
		t.Errorf("activation lock GETs: %+v, want 6 requests", got)
	}
}

func TestActivationLockOfASpecMustBeApples(t *testing.T) {
	spec := DeviceSpecFor("BADLOCK1", EnrollmentADE)
	spec.ActivationLock = "FIND-MY"
	if err := spec.validate(); err == nil {
		t.Error("a lock type Apple does not have was taken")
	}
	spec.ActivationLock = "user"
	if err := spec.validate(); err != nil {
		t.Errorf("USER in lower case: %v", err)
	}
}
