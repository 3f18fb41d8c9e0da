// Package fleetfile reads a fleet file (CSV or JSON, one device a row) and validates the whole of
// it before anything starts: every bad row is reported with its line and what to change. It knows
// nothing of Temporal; the starter turns its devices into a FleetRetirement.
package fleetfile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/offboard/offboard/internal/procedure"
)

// MaxDevices bounds a fleet: the list travels once, in the fleet's first start (Temporal takes
// payloads of up to 2 MB). Split a larger retirement into several fleets.
const MaxDevices = 10000

// Options of the row options column.
const (
	OptionRemoveESIM              = "remove-esim"
	OptionRemoveAutoInstalledApps = "remove-auto-installed-apps"
	OptionReturnToService         = "return-to-service"
)

// Device is a valid row.
type Device struct {
	Line    int               `json:"line"`
	Request procedure.Request `json:"request"`
	Contact string            `json:"contact,omitempty"`
	Path    string            `json:"path"`
}

// Problem is a bad row: its line, its serial when it has one, and what is wrong.
type Problem struct {
	Line   int    `json:"line"`
	Serial string `json:"serial,omitempty"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Serial != "" {
		return fmt.Sprintf("line %d (%s): %s", p.Line, p.Serial, p.Reason)
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
}

// Options shape the validation.
type Options struct {
	// FleetID is the fleet's ID, which is also its typed confirmation: a wipe row must carry it in
	// its confirm column, unless WipesConfirmed.
	FleetID string
	// WipesConfirmed waives the confirm column (--yes, for pipelines).
	WipesConfirmed bool
}

// File is a read fleet file: its valid devices and its bad rows, in file order.
type File struct {
	// FleetID is the fleet ID the file names (JSON "fleetId"), if any.
	FleetID  string    `json:"fleetId,omitempty"`
	Devices  []Device  `json:"devices"`
	Problems []Problem `json:"problems,omitempty"`
}

// Wipes counts the valid devices that are wiped.
func (f File) Wipes() int {
	n := 0
	for _, d := range f.Devices {
		if d.Request.Wipe {
			n++
		}
	}
	return n
}

// row is a row as written, before validation.
type row struct {
	line                                               int
	serial, enrollment, wipe, method, contact, confirm string
	options                                            []string
	problem                                            string // a shape error found while reading
}

// ReadFile reads a fleet file; the extension (.csv or .json) picks the format.
func ReadFile(path string, opts Options) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return ParseJSON(b, opts)
	case ".csv", ".txt":
		return ParseCSV(b, opts)
	}
	return File{}, fmt.Errorf("%s: a fleet file is .csv or .json", path)
}

// DefaultFleetID makes a fleet ID from a file name: its base, without extension, with every
// character a fleet ID does not take replaced by '-'.
func DefaultFleetID(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	id := strings.Trim(regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(base, "-"), "-._")
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

// Columns of a CSV fleet file, by their normalized name (case, spaces, '-' and '_' ignored).
var columns = map[string]string{
	"serial": "serial", "serialnumber": "serial",
	"enrollment": "enrollment",
	"wipe":       "wipe",
	"wipemethod": "method", "method": "method",
	"options": "options",
	"contact": "contact", "email": "contact", "usercontact": "contact",
	"confirm": "confirm", "confirmation": "confirm",
}

func normalize(name string) string {
	return strings.NewReplacer(" ", "", "_", "", "-", "", "\ufeff", "").Replace(strings.ToLower(strings.TrimSpace(name)))
}

// ParseCSV reads a CSV fleet file: a header line naming the columns (serial, enrollment and wipe
// are required; wipe_method, options, contact and confirm are optional), then one device a line.
// Lines starting with '#' are comments.
func ParseCSV(data []byte, opts Options) (File, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return File{}, errors.New("the fleet file is empty: want a header line (serial,enrollment,wipe,wipe_method,options,contact,confirm) and one device a line")
	}
	if err != nil {
		return File{}, fmt.Errorf("the fleet file is not CSV: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		c, ok := columns[normalize(name)]
		if !ok {
			return File{}, fmt.Errorf("line 1: unknown column %q: use serial, enrollment, wipe, wipe_method, options, contact, confirm", name)
		}
		if _, dup := col[c]; dup {
			return File{}, fmt.Errorf("line 1: column %q appears twice", name)
		}
		col[c] = i
	}
	for _, need := range []string{"serial", "enrollment", "wipe"} {
		if _, ok := col[need]; !ok {
			return File{}, fmt.Errorf("line 1: the header has no %s column (want serial,enrollment,wipe,wipe_method,options,contact,confirm)", need)
		}
	}
	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			rows = append(rows, row{line: perr.StartLine, problem: "not valid CSV: " + perr.Err.Error()})
			continue
		}
		if err != nil {
			return File{}, err
		}
		line, _ := r.FieldPos(0)
		cell := func(c string) string {
			i, ok := col[c]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		rw := row{line: line, serial: cell("serial"), enrollment: cell("enrollment"), wipe: cell("wipe"), method: cell("method"),
			contact: cell("contact"), confirm: cell("confirm")}
		if len(rec) > len(header) {
			rw.problem = fmt.Sprintf("%d fields, but the header names %d", len(rec), len(header))
		}
		if o := cell("options"); o != "" {
			rw.options = strings.FieldsFunc(o, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '|' })
		}
		rows = append(rows, rw)
	}
	return validate(rows, opts, "")
}

// jsonFile is the object form of a JSON fleet file; a bare array of devices is read too.
type jsonFile struct {
	FleetID string            `json:"fleetId"`
	Devices []json.RawMessage `json:"devices"`
}

type jsonDevice struct {
	Serial     string          `json:"serial"`
	Enrollment string          `json:"enrollment"`
	Wipe       json.RawMessage `json:"wipe"`
	WipeMethod string          `json:"wipeMethod"`
	Options    json.RawMessage `json:"options"`
	Contact    string          `json:"contact"`
	Confirm    string          `json:"confirm"`
}

var jsonFields = []string{"serial", "enrollment", "wipe", "wipeMethod", "options", "contact", "confirm"}

// ParseJSON reads a JSON fleet file: {"fleetId": "...", "devices": [{"serial", "enrollment",
// "wipe", "wipeMethod", "options", "contact", "confirm"}, ...]} or just the array. Line numbers
// are the lines where each device's object starts.
func ParseJSON(data []byte, opts Options) (File, error) {
	trimmed := bytes.TrimSpace(data)
	var raws []json.RawMessage
	var fleetID string
	var arrayStart int
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return File{}, jsonError(data, err)
		}
		arrayStart = bytes.IndexByte(data, '[')
	default:
		var f jsonFile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return File{}, jsonError(data, err)
		}
		if f.Devices == nil {
			return File{}, errors.New(`the fleet file has no "devices" list`)
		}
		raws, fleetID = f.Devices, f.FleetID
		arrayStart = devicesArrayStart(data)
	}
	lines := elementLines(data, arrayStart, len(raws))
	rows := make([]row, 0, len(raws))
	for i, raw := range raws {
		rw := row{line: lines[i]}
		var d jsonDevice
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			rw.problem = "not a device object: " + err.Error()
			rows = append(rows, rw)
			continue
		}
		var unknown []string
		for k := range fields {
			if !slices.Contains(jsonFields, k) {
				unknown = append(unknown, strconv.Quote(k))
			}
		}
		slices.Sort(unknown)
		if len(unknown) > 0 {
			rw.problem = "unknown field " + strings.Join(unknown, ", ") + ": use " + strings.Join(jsonFields, ", ")
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			rw.problem = "not a device object: " + err.Error()
			rows = append(rows, rw)
			continue
		}
		rw.serial, rw.enrollment, rw.method, rw.contact, rw.confirm = d.Serial, d.Enrollment, d.WipeMethod, d.Contact, d.Confirm
		if len(d.Wipe) > 0 {
			var b bool
			var s string
			switch {
			case json.Unmarshal(d.Wipe, &b) == nil:
				rw.wipe = strconv.FormatBool(b)
			case json.Unmarshal(d.Wipe, &s) == nil:
				rw.wipe = s
			default:
				rw.wipe = string(d.Wipe)
			}
		}
		if len(d.Options) > 0 && string(d.Options) != "null" {
			var list []string
			var s string
			switch {
			case json.Unmarshal(d.Options, &list) == nil:
				rw.options = list
			case json.Unmarshal(d.Options, &s) == nil:
				rw.options = strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
			default:
				rw.problem = `options: want a list of strings, e.g. ["remove-esim"]`
			}
		}
		rows = append(rows, rw)
	}
	return validate(rows, opts, fleetID)
}

func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: the fleet file is not valid JSON: %w", lineAt(data, int(se.Offset)), err)
	}
	return fmt.Errorf("the fleet file is not a fleet: %w", err)
}

// devicesArrayStart finds the '[' of the top-level "devices" member.
func devicesArrayStart(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return 0
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				depth++
				expectKey = depth == 1
			case '[':
				depth++
			case '}', ']':
				depth--
				expectKey = depth == 1
			}
		case string:
			if depth == 1 && expectKey && t == "devices" {
				off := int(dec.InputOffset())
				if i := bytes.IndexByte(data[off:], '['); i >= 0 {
					return off + i
				}
				return 0
			}
			if depth == 1 {
				expectKey = !expectKey
			}
		default:
			if depth == 1 {
				expectKey = true
			}
		}
	}
}

// elementLines returns the line on which each of the first n elements of the array at start begins.
func elementLines(data []byte, start, n int) []int {
	lines := make([]int, n)
	dec := json.NewDecoder(bytes.NewReader(data[start:]))
	if _, err := dec.Token(); err != nil { // '['
		return lines
	}
	for i := 0; i < n && dec.More(); i++ {
		off := start + int(dec.InputOffset())
		for off < len(data) && (data[off] == ',' || data[off] == ' ' || data[off] == '\n' || data[off] == '\r' || data[off] == '\t') {
			off++
		}
		lines[i] = lineAt(data, off)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			break
		}
	}
	return lines
}

func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// validate checks every row and the file as a whole.
func validate(rows []row, opts Options, fleetID string) (File, error) {
	if len(rows) == 0 {
		return File{}, errors.New("the fleet file lists no device")
	}
	if len(rows) > MaxDevices {
		return File{}, fmt.Errorf("the fleet file lists %d devices; a fleet takes at most %d: split it into several fleets", len(rows), MaxDevices)
	}
	confirmAs := opts.FleetID
	if confirmAs == "" {
		confirmAs = fleetID
	}
	out := File{FleetID: fleetID}
	seen := map[string]int{} // serial → line
	for _, rw := range rows {
		d, problems := check(rw, opts.WipesConfirmed, confirmAs)
		if d.Request.Serial != "" {
			if first, dup := seen[d.Request.Serial]; dup {
				problems = append(problems, fmt.Sprintf("duplicate serial: also on line %d", first))
			} else {
				seen[d.Request.Serial] = rw.line
			}
		}
		if len(problems) > 0 {
			out.Problems = append(out.Problems, Problem{Line: rw.line, Serial: d.Request.Serial, Reason: strings.Join(problems, "; ")})
			continue
		}
		out.Devices = append(out.Devices, d)
	}
	return out, nil
}

// check validates one row and returns its device and every problem it has.
func check(rw row, wipesConfirmed bool, fleetID string) (Device, []string) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if rw.problem != "" {
		add("%s", rw.problem)
	}
	d := Device{Line: rw.line, Contact: rw.contact}
	switch {
	case strings.TrimSpace(rw.serial) == "":
		add("missing serial")
	default:
		serial, err := procedure.NormalizeSerial(rw.serial)
		if err != nil {
			add("%v", err)
		} else {
			d.Request.Serial = serial
		}
	}
	if strings.TrimSpace(rw.enrollment) == "" {
		add("missing enrollment: use ade-restricted, ade or manual")
	} else if e, err := procedure.ParseEnrollment(rw.enrollment); err != nil {
		add("%v", err)
	} else {
		d.Request.Enrollment = e
	}
	wipe, ok := parseWipe(rw.wipe)
	if !ok {
		add("wipe %q: use yes (wipe the device) or no (keep it)", rw.wipe)
	}
	d.Request.Wipe = wipe
	if m := strings.TrimSpace(rw.method); m != "" {
		if method, err := procedure.ParseWipeMethod(m); err != nil {
			add("%v", err)
		} else if !wipe && ok {
			add("wipe method %q on a row that keeps the device: leave wipe_method empty, or set wipe to yes", m)
		} else {
			d.Request.WipeMethod = method
		}
	} else if wipe {
		d.Request.WipeMethod = procedure.WipeConsole
	}
	for _, o := range rw.options {
		switch strings.ToLower(strings.TrimSpace(o)) {
		case "":
		case OptionRemoveESIM:
			d.Request.RemoveESIM = true
		case OptionRemoveAutoInstalledApps:
			d.Request.RemoveAutoInstalledApps = true
		case OptionReturnToService:
			d.Request.ReturnToService = true
		default:
			add("unknown option %q: use %s or %s", o, OptionRemoveESIM, OptionRemoveAutoInstalledApps)
		}
	}
	if rw.contact != "" {
		if a, err := mail.ParseAddress(rw.contact); err != nil || a.Address != rw.contact {
			add("contact %q is not an e-mail address", rw.contact)
		}
	}
	if len(problems) > 0 {
		return d, problems
	}
	plan, err := procedure.Plan(d.Request)
	if err != nil {
		add("%s", strings.TrimPrefix(err.Error(), "device "+d.Request.Serial+": "))
		return d, problems
	}
	d.Path = plan.Path
	if rw.contact == "" {
		for _, s := range []procedure.StepID{procedure.UserWipe, procedure.UserRemoveMDMProfile} {
			if plan.Has(s) {
				add("path %s asks the device's user to act (%s): give their contact (an e-mail address)", plan.Path, s)
			}
		}
	}
	if wipe && !wipesConfirmed && (fleetID == "" || strings.TrimSpace(rw.confirm) != fleetID) {
		add("a wipe without the fleet's typed confirmation: put the fleet ID (%s) in the confirm column, or pass --yes", orDash(fleetID))
	}
	return d, problems
}

func parseWipe(s string) (wipe, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true", "1", "wipe":
		return true, true
	case "no", "n", "false", "0", "keep":
		return false, true
	}
	return false, false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Summary counts the valid devices by path, in a stable order.
func (f File) Summary() []string {
	counts := map[string]int{}
	for _, d := range f.Devices {
		counts[d.Path]++
	}
	paths := make([]string, 0, len(counts))
	for p := range counts {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		out = append(out, fmt.Sprintf("%s %d", p, counts[p]))
	}
	return out
}
