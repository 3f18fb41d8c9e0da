package simulator

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/console"
)

// The product's own clients run against the simulator over HTTP: the wire formats agree.
func TestTheProductsClientsRunAgainstTheSimulator(t *testing.T) {
	h := newHarness(t)
	h.add(DeviceSpecFor("SER1", EnrollmentADE))
	srv := httptest.NewServer(h.sim.Handler())
	defer srv.Close()
	ctx := context.Background()

	cc, err := console.New(console.Config{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := cc.SendCommand(ctx, "SER1", "offboard-SER1/console-wipe", console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"})
	if err != nil || cmd.Status != console.CommandQueued {
		t.Fatalf("erase: %+v %v", cmd, err)
	}
	h.clock.Advance(DefaultCheckInEvery)
	if cmd, err = cc.Command(ctx, "SER1", cmd.ID); err != nil || cmd.Status != console.CommandCompleted {
		t.Fatalf("erase after the check-in: %+v %v", cmd, err)
	}
	if d, err := cc.Device(ctx, "SER1"); err != nil || d.Status != console.StatusGreyedOut {
		t.Fatalf("record: %+v %v", d, err)
	}
	_, err = cc.SendCommand(ctx, "SER1", "offboard-SER1/purge", console.CommandRequest{Type: console.CmdPurgeDevice, Confirmation: "YES"})
	if console.CodeOf(err) != console.CodeVPPLicenseRemains {
		t.Errorf("purge with licenses: %v, want vpp-license-remains", err)
	}
	h.sim.SetFaults(Faults{Rate429: 1, RetryAfterSeconds: 3})
	_, err = cc.Device(ctx, "SER1")
	if ae, ok := err.(*console.APIError); !ok || !ae.Temporary() || ae.RetryAfter != 3*time.Second {
		t.Errorf("rate limited: %#v", err)
	}
	h.sim.SetFaults(Faults{})

	ac, err := applebusiness.New(applebusiness.Config{ClientID: testClientID, KeyID: testKeyID, PrivateKey: h.key,
		ServerID: testServer, APIBaseURL: srv.URL, TokenURL: srv.URL + "/auth/oauth2/token"})
	if err != nil {
		t.Fatal(err)
	}
	if server, assigned, err := ac.AssignedServer(ctx, "SER1"); err != nil || !assigned || server != testServer {
		t.Fatalf("assigned server: %q %v %v", server, assigned, err)
	}
	act, err := ac.UnassignDevices(ctx, []string{"SER1"})
	if err != nil || act.Final() {
		t.Fatalf("unassign: %+v %v", act, err)
	}
	h.clock.Advance(DefaultActivityDelay)
	if act, err = ac.Activity(ctx, act.ID); err != nil || !act.Succeeded() || act.CompletedDateTime == nil {
		t.Fatalf("activity: %+v %v", act, err)
	}
	if _, assigned, err := ac.AssignedServer(ctx, "SER1"); err != nil || assigned {
		t.Errorf("after the activity: assigned %v %v", assigned, err)
	}
	if got, want := h.sim.Stats().TokensIssued, ac.TokensFetched(); got != 1 || want != 1 {
		t.Errorf("tokens: simulator issued %d, client fetched %d; want 1 and 1", got, want)
	}
}
