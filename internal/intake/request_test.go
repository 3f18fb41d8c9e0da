package intake

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/internal/fleetfile"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

func TestParseRequestNamesEachBadField(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		field      string // the field named in invalid-params
		reason     string // in its reason
	}{
		{"not JSON", `{"serial": `, "body", "not valid JSON"},
		{"an array", `[{"serial": "F2LXK0A1HG7J"}]`, "body", "one JSON object"},
		{"two objects", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false} {}`, "body", "more than one"},
		{"unknown field", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false, "wipe_method": "console"}`, "wipe_method", "unknown field"},
		{"missing serial", `{"enrollment": "ade", "wipe": false}`, "serial", "missing"},
		{"serial not a string", `{"serial": 12345678, "enrollment": "ade", "wipe": false}`, "serial", "must be a string"},
		{"serial shape", `{"serial": "F2-LX", "enrollment": "ade", "wipe": false}`, "serial", "is not a serial number"},
		{"missing enrollment", `{"serial": "F2LXK0A1HG7J", "wipe": false}`, "enrollment", "missing"},
		{"unknown enrollment", `{"serial": "F2LXK0A1HG7J", "enrollment": "dep", "wipe": false}`, "enrollment", `unknown enrollment "dep"`},
		{"missing wipe", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade"}`, "wipe", "missing"},
		{"null wipe", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": null}`, "wipe", "missing"},
		{"wipe word", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": "maybe"}`, "wipe", "use true"},
		{"wipe method", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "wipeMethod": "remote"}`, "wipeMethod", "unknown wipe method"},
		{"wipe method on a keep", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false, "wipeMethod": "console", "contact": "u@example.com"}`,
			"wipeMethod", "wipe is false"},
		{"unknown option", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "options": ["remove-sim"]}`, "options", `unknown option "remove-sim"`},
		{"options not a list", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "options": {"remove-esim": true}}`, "options", "list of strings"},
		{"return to service", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "options": ["return-to-service"]}`, "options", "re-enrolls"},
		{"eSIM on a user wipe", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "wipeMethod": "device", "options": ["remove-esim"], "contact": "u@example.com"}`,
			"options", "console wipe (2-2) only"},
		{"auto apps on a wipe", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade-restricted", "wipe": true, "options": ["remove-auto-installed-apps"]}`,
			"options", "path wipe/ade-restricted does not use"},
		{"contact", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "contact": "Jane <jane@example.com>"}`, "contact", "not an e-mail address"},
		{"contact needed", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false}`, "contact", "asks the device's user to act"},
		{"confirm", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "confirm": "YES"}`, "confirm", "F2LXK0A1HG7J"},
		{"console mode", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "consoleMode": "manual"}`, "consoleMode", "use automated"},
		{"reference", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "reference": "HR-1\nrm"}`, "reference", "control characters"},
		{"long reference", `{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "reference": "` + strings.Repeat("x", 129) + `"}`, "reference", "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, params := ParseRequest([]byte(tc.body))
			i := slices.IndexFunc(params, func(p Param) bool { return p.Name == tc.field })
			if i < 0 {
				t.Fatalf("%s not named: %+v", tc.field, params)
			}
			if !strings.Contains(params[i].Reason, tc.reason) {
				t.Errorf("%s: %q, want %q", tc.field, params[i].Reason, tc.reason)
			}
		})
	}
}

func TestParseRequestReportsEveryField(t *testing.T) {
	_, serial, params := ParseRequest([]byte(`{"serial": "f2lxk0a1hg7j", "enrollment": "dep", "wipe": "perhaps", "consoleMode": "x", "colour": "red"}`))
	var names []string
	for _, p := range params {
		names = append(names, p.Name)
	}
	if want := []string{"colour", "enrollment", "wipe", "consoleMode"}; !slices.Equal(names, want) {
		t.Errorf("named %v, want %v", names, want)
	}
	if serial != "F2LXK0A1HG7J" {
		t.Errorf("serial %q: the detail names the device when its serial could be read", serial)
	}
}

func TestParseRequestNormalizes(t *testing.T) {
	o, serial, params := ParseRequest([]byte(`{"serial": " f2lxk0a1hg7j ", "enrollment": "ADE", "wipe": "yes", "options": "remove-esim",
		"contact": "user@example.com", "confirm": "f2lxk0a1hg7j", "consoleMode": "operator", "reference": " HR-7 "}`))
	if len(params) > 0 {
		t.Fatal(params)
	}
	want := procedure.Request{Serial: "F2LXK0A1HG7J", Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole, RemoveESIM: true}
	if serial != "F2LXK0A1HG7J" || o.Request != want || o.Contact != "user@example.com" || o.ConsoleMode != "operator" || o.Reference != "HR-7" {
		t.Errorf("%+v", o)
	}
	if o.Plan.Path != "wipe/ade" || !o.Plan.Has(procedure.ConsoleWipe) || o.Scope() != ScopeWipe {
		t.Errorf("plan %+v scope %v", o.Plan, o.Scope())
	}
}

// The body takes a fleet file's device: a device the fleet file accepts (with --yes) the intake
// accepts with the same path, and one it refuses the intake refuses.
func TestParseRequestAgreesWithTheFleetFile(t *testing.T) {
	bodies := []string{
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": "yes", "wipeMethod": "device", "contact": "u@example.com"}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "wipeMethod": "device"}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "manual", "wipe": true, "options": ["remove-esim"]}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "manual", "wipe": false, "options": ["remove-esim"], "contact": "u@example.com"}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade-restricted", "wipe": false, "options": ["remove-auto-installed-apps"]}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false, "options": ["remove-auto-installed-apps"], "contact": "u@example.com"}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "manual", "wipe": "no", "contact": "u@example.com"}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "options": ["return-to-service"]}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false, "wipeMethod": "console", "contact": "u@example.com"}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "contact": "not-an-address"}`,
		`{"serial": "F2", "enrollment": "ade", "wipe": true}`,
		`{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": "later"}`,
	}
	for _, body := range bodies {
		f, err := fleetfile.ParseJSON([]byte("["+body+"]"), fleetfile.Options{WipesConfirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		o, _, params := ParseRequest([]byte(body))
		fleetOK := len(f.Devices) == 1
		if fleetOK != (len(params) == 0) {
			t.Errorf("%s\n  fleet file: %+v\n  intake: %+v", body, f.Problems, params)
			continue
		}
		if fleetOK && (f.Devices[0].Path != o.Plan.Path || f.Devices[0].Request != o.Request) {
			t.Errorf("%s: fleet file %+v, intake %+v", body, f.Devices[0], o)
		}
	}
}

func TestDifferences(t *testing.T) {
	base := workflows.DeviceInput{Request: procedure.Request{Serial: "F2LXK0A1HG7J", Enrollment: procedure.ADE, Wipe: true},
		Contact: "User@Example.com", RequestedBy: "starter"}
	same := base
	same.Request.WipeMethod = procedure.WipeConsole // the fleet file's and the intake's default, `starter start`'s empty
	same.Contact = "user@example.com"
	same.RequestedBy = "hr (HR-2)"
	same.Request.LostMode = true // a fact of pre-flight, not of the request
	if d := differences(same, base); len(d) != 0 {
		t.Errorf("same request: %+v", d)
	}
	other := base
	other.Request.Wipe, other.Request.Enrollment = false, procedure.Manual
	other.Contact = "someone@example.com"
	other.ConsoleMode = "operator"
	d := differences(other, base)
	var names []string
	for _, p := range d {
		names = append(names, p.Name)
		if strings.Contains(p.Reason, "example.com") {
			t.Errorf("a conflict shows the contact: %q", p.Reason)
		}
	}
	if want := []string{"enrollment", "wipe", "contact", "consoleMode"}; !slices.Equal(names, want) {
		t.Errorf("named %v, want %v: %+v", names, want, d)
	}
	if d[1].Reason != "asked false, the running request has true" {
		t.Errorf("wipe: %q", d[1].Reason)
	}
}

func TestBadInputAnswers400(t *testing.T) {
	s := newTestServer(t)
	a := s.post(t, wipeToken, `{"serial": "F2LXK0A1HG7J", "enrollment": "dep", "wipe": true}`)
	if a.status != http.StatusBadRequest {
		t.Fatalf("%d %s", a.status, a.body)
	}
	p := a.problem(t)
	if p.Type != TypeInvalidRequest || len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != "enrollment" ||
		!strings.Contains(p.Detail, "device F2LXK0A1HG7J") || !strings.Contains(p.Detail, "nothing was started") || p.Serial != "F2LXK0A1HG7J" {
		t.Errorf("%+v", p)
	}
	if s.fake.startCount() != 0 {
		t.Error("bad input started a workflow")
	}
}
