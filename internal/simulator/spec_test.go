package simulator

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestDeviceSpecForTheMatrix(t *testing.T) {
	for _, c := range []struct {
		enrollment                string
		ade, removable, inApple   bool
		assignedServerOfNewDevice string
	}{
		{EnrollmentADERestricted, true, false, true, testServer},
		{EnrollmentADE, true, true, true, testServer},
		{EnrollmentManual, false, true, false, ""},
	} {
		h := newHarness(t)
		h.add(DeviceSpecFor("SER1", c.enrollment))
		d := h.device("SER1")
		if d.ADE != c.ade || d.MDMProfileRemovable != c.removable || d.InAppleBusiness != c.inApple || d.AssignedServer != c.assignedServerOfNewDevice {
			t.Errorf("%s: %+v", c.enrollment, d)
		}
		if d.Status != StatusManaged || !d.Supervised || len(d.Profiles) != 2 || d.VPPLicenses != 2 || d.Certificates != 0 ||
			d.CheckInEvery.Std() != 4*time.Hour || d.User.ActsAfter.Std() != 2*time.Hour || d.NextCheckIn == nil {
			t.Errorf("%s: defaults %+v", c.enrollment, d)
		}
	}
}

func TestPostDevicesKeepsDefaultsForFieldsLeftOut(t *testing.T) {
	h := newHarness(t)
	body := `[{"serial":"a1","enrollment":"ade-restricted","lostMode":true,"checkInEvery":"never","userActsAfter":"3d"},
	          {"serial":"B2","vppLicenses":0,"profiles":[]}]`
	rec := h.do(http.MethodPost, "/sim/devices", body, nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /sim/devices: %d %s", rec.Code, rec.Body.String())
	}
	var got []DeviceState
	decode(t, rec, &got)
	if len(got) != 2 {
		t.Fatalf("answer: %s", rec.Body.String())
	}
	a, b := got[0], got[1]
	if a.Serial != "A1" || !a.ADE || a.MDMProfileRemovable || !a.LostMode || !a.CheckInEvery.IsNever() || a.NextCheckIn != nil ||
		a.User.ActsAfter.Std() != 72*time.Hour || a.VPPLicenses != 2 || len(a.Profiles) != 2 {
		t.Errorf("A1: %+v", a)
	}
	if b.ADE || b.InAppleBusiness || b.VPPLicenses != 0 || len(b.Profiles) != 0 || !b.Supervised {
		t.Errorf("B2 (manual by default): %+v", b)
	}
	for name, bad := range map[string]string{
		"duplicate":        `{"serial":"A1"}`,
		"typo":             `{"serial":"C3","lostmod":true}`,
		"bad enrollment":   `{"serial":"C3","enrollment":"byod"}`,
		"bad serial":       `{"serial":"has space"}`,
		"bad profile kind": `{"serial":"C3","profiles":[{"id":"x","name":"x","kind":"app"}]}`,
	} {
		if rec := h.do(http.MethodPost, "/sim/devices", bad, nil); rec.Code < 400 {
			t.Errorf("%s: %d, want an error", name, rec.Code)
		}
	}
	if rec := h.do(http.MethodPost, "/sim/devices", `{"serial":"A1"}`, nil); rec.Code != http.StatusConflict {
		t.Errorf("duplicate: %d, want 409", rec.Code)
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]Duration{`"4h"`: Duration(4 * time.Hour), `"never"`: Never, `"2d"`: Duration(48 * time.Hour), `90`: Duration(90 * time.Second)} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d != want {
			t.Errorf("%s: %v %v, want %v", in, d, err, want)
		}
	}
	for _, bad := range []string{`"-1h"`, `"soon"`, `true`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if b, _ := json.Marshal(Never); string(b) != `"never"` {
		t.Errorf("Never marshals to %s", b)
	}
}

func TestScaledClockRunsFaster(t *testing.T) {
	c := NewScaledClock(t0, 3600)
	real := t0
	c.real = func() time.Time { return real }
	c.realStart = t0
	real = t0.Add(time.Second)
	if got := c.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("after one real second: %s, want an hour later", got)
	}
	c.Advance(24 * time.Hour)
	if got := c.Now(); !got.Equal(t0.Add(25 * time.Hour)) {
		t.Errorf("after Advance: %s", got)
	}
}
