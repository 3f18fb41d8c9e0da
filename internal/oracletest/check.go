package oracletest

import (
	"fmt"
	"slices"
	"strings"
)

// Event is one thing that happened to a device, in the order it happened: a command the console
// accepted, its effect at a check-in, a message to the device's user, an Apple activity.
type Event struct {
	Name     string
	LostMode bool // lost mode was on on the device at that moment
	Wiped    bool // the device had been erased by then
}

// Observed is how a run ended.
type Observed struct {
	Outcome    string // Removed, Rejected, Waiting, or whatever else the run ended as
	Error      string // the workflow's error
	Party      string // Waiting: WaitingOn
	Step       string // Waiting: the current step
	RecordGone bool   // the console no longer has the record
}

// Describe is the observed outcome in one line.
func (o Observed) Describe() string {
	switch o.Outcome {
	case Waiting:
		return "waiting on " + o.Party + " at " + o.Step
	case Rejected:
		return "rejected at " + o.Step + " (" + o.Error + ")"
	case Removed:
		if !o.RecordGone {
			return "removed, but the console still has the record"
		}
		return "removed"
	}
	if o.Error != "" {
		return o.Outcome + " (" + o.Error + ")"
	}
	return o.Outcome
}

// CheckOutcome checks how the run ended against the expectation; "" when it fits.
func (e Expectation) CheckOutcome(o Observed) string {
	ok := false
	switch e.Outcome {
	case Removed:
		ok = o.Outcome == Removed && o.RecordGone
	case Rejected:
		ok = o.Outcome == Rejected && strings.Contains(o.Error, e.Reason) && o.Step == StepPreflight
	case Waiting:
		ok = o.Outcome == Waiting && o.Party == e.Party && (len(e.AtSteps) == 0 || slices.Contains(e.AtSteps, o.Step))
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("outcome: observed %s, expected %s", o.Describe(), e.Describe())
}

// Verify checks a run against the expectation and its alternatives: no problems if it fits any
// of them, else the problems against the expectation itself.
func (e Expectation) Verify(o Observed, events []Event) []string {
	check := func(e Expectation) []string {
		var out []string
		if msg := e.CheckOutcome(o); msg != "" {
			out = append(out, msg)
		}
		return append(out, e.CheckEvents(events)...)
	}
	problems := check(e)
	if len(problems) == 0 {
		return nil
	}
	for _, alt := range e.Alternatives {
		if len(check(alt)) == 0 {
			return nil
		}
	}
	return problems
}

// CheckEvents checks what happened to the device against the expectation and the page's rules that
// hold on every path; it returns every violation, each in one line.
func (e Expectation) CheckEvents(events []Event) []string {
	var out []string
	seen := map[string]bool{}
	report := func(format string, a ...any) {
		if msg := fmt.Sprintf(format, a...); !seen[msg] {
			seen[msg] = true
			out = append(out, msg)
		}
	}
	first := map[string]int{}
	count := map[string]int{}
	for i, ev := range events {
		if _, ok := first[ev.Name]; !ok {
			first[ev.Name] = i
		}
		count[ev.Name]++
		switch {
		case (ev.Name == CmdDeleteDevice || ev.Name == CmdPurgeDevice) && ev.LostMode && !ev.Wiped:
			// §4: "Never delete while lost mode is on, unless the path wipes the device first."
			report("order: %s while lost mode was on on a device that was not wiped", ev.Name)
		case strings.HasPrefix(ev.Name, "told:") && ev.LostMode:
			// "Lost mode locks the device: its user cannot reach Settings ... A path that needs
			// the user and finds lost mode on turns it off first."
			report("order: the device's user was told (%s) while lost mode locked the device", strings.TrimPrefix(ev.Name, "told:"))
		case ev.Name == ReturnToService:
			// §2-2: Return to Service "is NOT a removal".
			report("an erase was sent with Return to Service (MDMへの再登録)")
		}
		if e.NothingChanged && (strings.HasPrefix(ev.Name, "cmd:") || ev.Name == Unassign) {
			report("%s ran, but nothing may change", ev.Name)
		}
	}
	for _, d := range Destructive {
		if count[d] > 1 {
			report("twice: %s ran %d times", d, count[d])
		}
		if count[d] > 0 && !slices.Contains(e.Allowed, d) && !e.NothingChanged {
			report("extra: %s ran, which the page does not call for here", d)
		}
	}
	for _, r := range e.Required {
		if count[r] == 0 {
			report("missing: %s never happened", r)
		}
	}
	for _, pair := range e.Before {
		a, b := pair[0], pair[1]
		ib, okB := first[b]
		if !okB {
			continue
		}
		if ia, okA := first[a]; !okA || ia > ib {
			report("order: %s before %s", b, a)
		}
	}
	return out
}

// Names lists the events' names, for a failure message.
func Names(events []Event) string {
	var b strings.Builder
	for i, ev := range events {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(ev.Name)
		if ev.LostMode {
			b.WriteString("(lost)")
		}
	}
	return b.String()
}
