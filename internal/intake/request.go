package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/fleetfile"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

// Fields of the body of POST /v1/offboardings: a fleet file's device (internal/fleetfile), plus
// the console mode of `starter start --mode` and a reference (an HR ticket).
var Fields = []string{"serial", "enrollment", "wipe", "wipeMethod", "options", "contact", "confirm", "consoleMode", "reference"}

// MaxReferenceLength bounds the reference, which goes into the workflow's requestedBy.
const MaxReferenceLength = 128

// Offboarding is a valid request, normalized: what the workflow is started with.
type Offboarding struct {
	Request     procedure.Request
	Contact     string
	ConsoleMode string
	Reference   string
	Plan        procedure.Result
}

// Destructive reports whether the request wipes the device, which needs the wipe scope.
func (o Offboarding) Destructive() bool { return o.Request.Wipe }

// Scope is the scope a caller needs to start o.
func (o Offboarding) Scope() Scope {
	if o.Destructive() {
		return ScopeWipe
	}
	return ScopeStart
}

// Input is the workflow's input for o, asked by the caller named by.
func (o Offboarding) Input(by string, timing workflows.Timing) workflows.DeviceInput {
	if o.Reference != "" {
		by += " (" + o.Reference + ")"
	}
	return workflows.DeviceInput{Request: o.Request, ConsoleMode: o.ConsoleMode, Contact: o.Contact, RequestedBy: by,
		Confirmed: true, Timing: timing}
}

// ParseRequest reads and checks the body of POST /v1/offboardings. On refusal it returns every
// field that is wrong, by its name, and the serial when it could be read. Nothing is started
// from a request that has a problem.
func ParseRequest(body []byte) (Offboarding, string, []Param) {
	var problems []Param
	add := func(name, format string, a ...any) {
		problems = append(problems, Param{Name: name, Reason: fmt.Sprintf(format, a...)})
	}

	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		reason := "the body must be one JSON object, e.g. {\"serial\": \"F2LXK0A1HG7J\", \"enrollment\": \"ade\", \"wipe\": true}"
		if err != nil {
			reason = "not valid JSON (" + err.Error() + "): " + reason
		}
		return Offboarding{}, "", []Param{{Name: "body", Reason: reason}}
	}
	if dec.More() {
		return Offboarding{}, "", []Param{{Name: "body", Reason: "more than one JSON value: send one object"}}
	}
	var unknown []string
	for k := range fields {
		if !slices.Contains(Fields, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		add(k, "unknown field: use %s", strings.Join(Fields, ", "))
	}
	wrongType := map[string]bool{}
	str := func(name string) string {
		raw, ok := fields[name]
		if !ok || string(raw) == "null" {
			return ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			add(name, "must be a string")
			wrongType[name] = true
			return ""
		}
		return strings.TrimSpace(s)
	}

	var o Offboarding
	var serial string
	switch s := str("serial"); {
	case wrongType["serial"]:
	case s == "":
		add("serial", "missing: give the device's serial number as CLOMO PANEL shows it")
	default:
		n, err := procedure.NormalizeSerial(s)
		if err != nil {
			add("serial", "%v", err)
		} else {
			serial = n
			o.Request.Serial = n
		}
	}

	switch e := str("enrollment"); {
	case wrongType["enrollment"]:
	case e == "":
		add("enrollment", "missing: use ade-restricted (ADE, MDM profile removal restricted), ade (ADE) or manual (not ADE)")
	default:
		v, err := procedure.ParseEnrollment(e)
		if err != nil {
			add("enrollment", "%v", err)
		} else {
			o.Request.Enrollment = v
		}
	}

	wipeOK := false
	if !present(fields, "wipe") {
		add("wipe", "missing: true wipes (erases) the device, false keeps it; say which")
	} else if w, ok := parseWipe(fields["wipe"]); !ok {
		add("wipe", "%s: use true (wipe the device) or false (keep it)", fields["wipe"])
	} else {
		o.Request.Wipe, wipeOK = w, true
	}

	if m := str("wipeMethod"); m != "" {
		method, err := procedure.ParseWipeMethod(m)
		switch {
		case err != nil:
			add("wipeMethod", "%v", err)
		case wipeOK && !o.Request.Wipe:
			add("wipeMethod", "given, but wipe is false: drop wipeMethod, or set wipe to true")
		default:
			o.Request.WipeMethod = method
		}
	} else if o.Request.Wipe {
		o.Request.WipeMethod = procedure.WipeConsole
	}

	var options []string
	if raw, ok := fields["options"]; ok && string(raw) != "null" {
		var list []string
		var s string
		switch {
		case json.Unmarshal(raw, &list) == nil:
			options = list
		case json.Unmarshal(raw, &s) == nil:
			options = strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '|' })
		default:
			add("options", `must be a list of strings, e.g. ["remove-esim"]`)
		}
	}
	for _, opt := range options {
		switch strings.ToLower(strings.TrimSpace(opt)) {
		case "":
		case fleetfile.OptionRemoveESIM:
			o.Request.RemoveESIM = true
		case fleetfile.OptionRemoveAutoInstalledApps:
			o.Request.RemoveAutoInstalledApps = true
		case fleetfile.OptionReturnToService:
			o.Request.ReturnToService = true
		default:
			add("options", "unknown option %q: use %s or %s", opt, fleetfile.OptionRemoveESIM, fleetfile.OptionRemoveAutoInstalledApps)
		}
	}
	if o.Request.ReturnToService {
		add("options", "%s re-enrolls the device after the wipe (MDMへの再登録), which contradicts removing it: drop it to retire the device, "+
			"or re-kit it in CLOMO PANEL instead", fleetfile.OptionReturnToService)
	}
	if o.Request.RemoveESIM && wipeOK && (!o.Request.Wipe || o.Request.WipeMethod != procedure.WipeConsole) {
		add("options", "%s (eSIMを削除) is an option of the console wipe (2-2) only: drop it, or set wipe to true with wipeMethod console",
			fleetfile.OptionRemoveESIM)
	}
	if o.Request.RemoveAutoInstalledApps && wipeOK && o.Request.Enrollment != "" &&
		(o.Request.Wipe || o.Request.Enrollment != procedure.ADERestricted) {
		add("options", "%s (自動インストールしたアプリを削除する) is an option of deleting a managed record (4-1), which path %s does not use: drop it",
			fleetfile.OptionRemoveAutoInstalledApps, procedure.PathName(o.Request.Wipe, o.Request.Enrollment))
	}

	if c := str("contact"); c != "" {
		if a, err := mail.ParseAddress(c); err != nil || a.Address != c {
			add("contact", "not an e-mail address: give the device user's address, e.g. user@example.com")
		} else {
			o.Contact = c
		}
	}
	if c := str("confirm"); c != "" && serial != "" {
		if n := strings.ToUpper(c); n != serial {
			add("confirm", "the typed confirmation is the device's serial (%s): correct it, or leave confirm out", serial)
		}
	}
	switch m := str("consoleMode"); m {
	case "", contract.ModeAutomated, contract.ModeOperator:
		o.ConsoleMode = m
	default:
		add("consoleMode", "%q: use %s (the console API) or %s (a person in CLOMO PANEL), or leave it out for the worker's CONSOLE_MODE",
			m, contract.ModeAutomated, contract.ModeOperator)
	}
	if ref := str("reference"); ref != "" {
		switch {
		case len(ref) > MaxReferenceLength:
			add("reference", "longer than %d characters: give a ticket's ID, not its text", MaxReferenceLength)
		case strings.IndexFunc(ref, unicode.IsControl) >= 0:
			add("reference", "holds control characters: give a ticket's ID on one line")
		default:
			o.Reference = ref
		}
	}
	if len(problems) > 0 {
		return Offboarding{}, serial, problems
	}

	plan, err := procedure.Plan(o.Request)
	if err != nil {
		return Offboarding{}, serial, []Param{{Name: "body", Reason: strings.TrimPrefix(err.Error(), "device "+serial+": ")}}
	}
	if o.Contact == "" {
		for _, s := range []procedure.StepID{procedure.UserWipe, procedure.UserRemoveMDMProfile} {
			if plan.Has(s) {
				return Offboarding{}, serial, []Param{{Name: "contact", Reason: fmt.Sprintf(
					"missing: path %s asks the device's user to act (%s), so give their e-mail address", plan.Path, s)}}
			}
		}
	}
	o.Plan = plan
	return o, serial, nil
}

func present(fields map[string]json.RawMessage, name string) bool {
	raw, ok := fields[name]
	return ok && string(raw) != "null"
}

// parseWipe takes a JSON boolean, or the fleet file's words (yes/no, true/false, wipe/keep).
func parseWipe(raw json.RawMessage) (wipe, ok bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true", "1", "wipe":
		return true, true
	case "no", "n", "false", "0", "keep":
		return false, true
	}
	return false, false
}

// requestKey is what makes two requests for one device the same request: what happens to the
// device (the procedure's request as asked), who is asked to act on it (the contact) and who
// carries out the console steps (the console mode, empty for the worker's). The reference and
// the caller are not part of it: a second ticket for the same offboarding is the same request.
type requestKey struct {
	Serial                  string
	Enrollment              procedure.Enrollment
	Wipe                    bool
	WipeMethod              procedure.WipeMethod
	RemoveESIM              bool
	RemoveAutoInstalledApps bool
	Contact                 string
	ConsoleMode             string
}

// keyOf normalizes a workflow's input as ParseRequest normalizes a body, so a device started by
// `starter start` (no wipe method means the console's) compares with the intake's request.
func keyOf(in workflows.DeviceInput) requestKey {
	r := in.Request
	k := requestKey{Serial: strings.ToUpper(strings.TrimSpace(r.Serial)), Enrollment: r.Enrollment, Wipe: r.Wipe,
		RemoveESIM: r.RemoveESIM, RemoveAutoInstalledApps: r.RemoveAutoInstalledApps,
		Contact: strings.ToLower(strings.TrimSpace(in.Contact)), ConsoleMode: in.ConsoleMode}
	if r.Wipe {
		k.WipeMethod = r.WipeMethod
		if k.WipeMethod == "" {
			k.WipeMethod = procedure.WipeConsole
		}
	}
	return k
}

// differences lists the fields in which the request asked differs from the running one, by the
// body's field names. The contact is personal data: it is said to differ, never shown.
func differences(asked, running workflows.DeviceInput) []Param {
	a, r := keyOf(asked), keyOf(running)
	var out []Param
	diff := func(name, asked, running string) {
		out = append(out, Param{Name: name, Reason: fmt.Sprintf("asked %s, the running request has %s", asked, running)})
	}
	if a.Enrollment != r.Enrollment {
		diff("enrollment", strconv.Quote(string(a.Enrollment)), strconv.Quote(string(r.Enrollment)))
	}
	if a.Wipe != r.Wipe {
		diff("wipe", strconv.FormatBool(a.Wipe), strconv.FormatBool(r.Wipe))
	}
	if a.WipeMethod != r.WipeMethod && a.Wipe == r.Wipe {
		diff("wipeMethod", strconv.Quote(string(a.WipeMethod)), strconv.Quote(string(r.WipeMethod)))
	}
	if a.RemoveESIM != r.RemoveESIM || a.RemoveAutoInstalledApps != r.RemoveAutoInstalledApps {
		diff("options", optionList(a), optionList(r))
	}
	if a.Contact != r.Contact {
		out = append(out, Param{Name: "contact", Reason: "differs from the running request's (not shown: it is personal data)"})
	}
	if a.ConsoleMode != r.ConsoleMode {
		diff("consoleMode", modeName(a.ConsoleMode), modeName(r.ConsoleMode))
	}
	return out
}

func optionList(k requestKey) string {
	var opts []string
	if k.RemoveESIM {
		opts = append(opts, fleetfile.OptionRemoveESIM)
	}
	if k.RemoveAutoInstalledApps {
		opts = append(opts, fleetfile.OptionRemoveAutoInstalledApps)
	}
	return "[" + strings.Join(opts, ", ") + "]"
}

func modeName(mode string) string {
	if mode == "" {
		return "(the worker's CONSOLE_MODE)"
	}
	return strconv.Quote(mode)
}
