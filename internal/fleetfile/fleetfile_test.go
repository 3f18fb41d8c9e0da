package fleetfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/internal/procedure"
)

const goodCSV = `# the March retirement
serial,enrollment,wipe,wipe_method,options,contact,confirm
F2LXK0A1HG7J,ade-restricted,yes,console,remove-esim,taro@example.com,mar-2026
C39J8W1H3VG5,ade,no,,,hanako@example.com,
DMPXK0A1HG7K,manual,yes,device,,jiro@example.com,mar-2026
`

func TestAGoodCSVFile(t *testing.T) {
	f, err := ParseCSV([]byte(goodCSV), Options{FleetID: "mar-2026"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Problems) != 0 || len(f.Devices) != 3 {
		t.Fatalf("problems %v, %d devices", f.Problems, len(f.Devices))
	}
	first := f.Devices[0]
	if first.Line != 3 || first.Path != "wipe/ade-restricted" || !first.Request.RemoveESIM || first.Request.WipeMethod != procedure.WipeConsole {
		t.Errorf("first device %+v", first)
	}
	if d := f.Devices[2]; d.Line != 5 || d.Request.WipeMethod != procedure.WipeDevice || d.Contact != "jiro@example.com" {
		t.Errorf("third device %+v", d)
	}
	if f.Wipes() != 2 || strings.Join(f.Summary(), ", ") != "keep/ade 1, wipe/ade-restricted 1, wipe/manual 1" {
		t.Errorf("wipes %d, summary %v", f.Wipes(), f.Summary())
	}
}

// Every bad row is reported at once, with its line and a reason that says what to change.
func TestEveryBadRowIsReportedWithItsLine(t *testing.T) {
	text := `serial,enrollment,wipe,wipe_method,options,contact,confirm
F2LXK0A1HG7J,ade,yes,console,,a@example.com,fleet-1
,manual,no,,,b@example.com,
C39J8W1H3VG5,ade-supervised,no,,,c@example.com,
F2LXK0A1HG7J,manual,no,,,d@example.com,
DMPXK0A1HG7K,manual,yes,console,,e@example.com,
G7PXK0A1HG7L,manual,maybe,,,f@example.com,
H8PXK0A1HG7M,manual,no,console,,g@example.com,
J9PXK0A1HG7N,manual,no,,,,
K1PXK0A1HG7P,manual,yes,console,sparkles,h@example.com,fleet-1
L2PXK0A1HG7Q,ade,no,,remove-esim,i@example.com,
`
	f, err := ParseCSV([]byte(text), Options{FleetID: "fleet-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{
		3:  "missing serial",
		4:  "unknown enrollment",
		5:  "duplicate serial: also on line 2",
		6:  "without the fleet's typed confirmation",
		7:  `wipe "maybe"`,
		8:  "wipe method \"console\" on a row that keeps",
		9:  "give their contact",
		10: `unknown option "sparkles"`,
		11: "remove eSIM",
	}
	got := map[int]string{}
	for _, p := range f.Problems {
		got[p.Line] = p.String()
	}
	for line, reason := range want {
		if !strings.Contains(got[line], reason) {
			t.Errorf("line %d: got %q, want it to say %q", line, got[line], reason)
		}
	}
	if len(f.Problems) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(f.Problems), len(want), f.Problems)
	}
	if len(f.Devices) != 1 || f.Devices[0].Line != 2 {
		t.Errorf("valid devices %+v: want line 2 only", f.Devices)
	}
	if !strings.Contains(got[5], "(F2LXK0A1HG7J)") {
		t.Errorf("a problem names its serial: %q", got[5])
	}
}

// --yes waives the confirm column of the wipes.
func TestYesConfirmsTheWipes(t *testing.T) {
	text := "serial,enrollment,wipe,contact\nDMPXK0A1HG7K,manual,yes,e@example.com\n"
	f, err := ParseCSV([]byte(text), Options{FleetID: "f"})
	if err != nil || len(f.Problems) != 1 {
		t.Fatalf("without --yes: %v %v", f.Problems, err)
	}
	f, err = ParseCSV([]byte(text), Options{FleetID: "f", WipesConfirmed: true})
	if err != nil || len(f.Problems) != 0 || len(f.Devices) != 1 {
		t.Fatalf("with --yes: %v %v", f.Problems, err)
	}
}

func TestFileLevelErrors(t *testing.T) {
	for name, text := range map[string]string{
		"empty":          "",
		"unknown column": "serial,enrollment,wipe,colour\n",
		"no wipe column": "serial,enrollment\nX1,manual\n",
		"header only":    "serial,enrollment,wipe\n",
	} {
		if _, err := ParseCSV([]byte(text), Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAJSONFile(t *testing.T) {
	text := `{
  "fleetId": "mar-2026",
  "devices": [
    {"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": true, "options": ["remove-esim"],
     "contact": "taro@example.com", "confirm": "mar-2026"},
    {"serial": "C39J8W1H3VG5", "enrollment": "manual", "wipe": "no", "contact": "hanako@example.com"},
    {"serial": "C39J8W1H3VG5", "enrollment": "manual", "wipe": false, "contact": "hanako@example.com"},
    {"serial": "DMPXK0A1HG7K", "enrollment": "ade", "wipe": false, "colour": "red"}
  ]
}`
	f, err := ParseJSON([]byte(text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.FleetID != "mar-2026" || len(f.Devices) != 2 {
		t.Fatalf("fleet %q, devices %+v, problems %v", f.FleetID, f.Devices, f.Problems)
	}
	if f.Devices[0].Line != 4 || !f.Devices[0].Request.RemoveESIM || f.Devices[1].Line != 6 {
		t.Errorf("devices %+v", f.Devices)
	}
	if len(f.Problems) != 2 || f.Problems[0].Line != 7 || !strings.Contains(f.Problems[0].Reason, "also on line 6") ||
		f.Problems[1].Line != 8 || f.Problems[1].Reason != `unknown field "colour": use serial, enrollment, wipe, wipeMethod, options, contact, confirm` {
		t.Errorf("problems %v", f.Problems)
	}
	arr := `[{"serial": "F2LXK0A1HG7J", "enrollment": "ade", "wipe": false, "contact": "a@example.com"}]`
	if f, err := ParseJSON([]byte(arr), Options{}); err != nil || len(f.Devices) != 1 {
		t.Errorf("a bare array: %+v %v", f, err)
	}
	if _, err := ParseJSON([]byte("{\n \"devices\": [\n  {\"serial\": }\n]}"), Options{}); err == nil || !strings.HasPrefix(err.Error(), "line 3") {
		t.Errorf("broken JSON: %v, want the line", err)
	}
}

func TestReadFileAndDefaultFleetID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "March retirement (Tokyo).csv")
	if err := os.WriteFile(path, []byte(goodCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	if id := DefaultFleetID(path); id != "March-retirement-Tokyo" {
		t.Errorf("default fleet ID %q", id)
	}
	f, err := ReadFile(path, Options{FleetID: "mar-2026"})
	if err != nil || len(f.Devices) != 3 {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "fleet.xlsx"), Options{}); err == nil {
		t.Error("an .xlsx file was read")
	}
}
