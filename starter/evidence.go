package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/evidence"
)

func ts(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func printRecord(w io.Writer, r evidence.Record, name string) {
	fmt.Fprintf(w, "Retirement record of %s (%s)\n", r.Serial, name)
	fmt.Fprintf(w, "  workflow   %s run %s\n", r.WorkflowID, r.RunID)
	if r.FleetID != "" {
		fmt.Fprintf(w, "  fleet      %s\n", r.FleetID)
	}
	fmt.Fprintf(w, "  path       %s (console %s, requested by %s)\n", r.Path, orDash(r.ConsoleMode), orDash(r.RequestedBy))
	fmt.Fprintf(w, "  outcome    %s\n", r.Outcome)
	if r.Error != "" {
		fmt.Fprintf(w, "  error      %s\n", r.Error)
	}
	fmt.Fprintf(w, "  started    %s\n  ended      %s\n", ts(&r.StartedAt), ts(&r.EndedAt))
	fmt.Fprintf(w, "  greyed-out %s\n  record gone %s\n", ts(r.GreyedOutAt), ts(r.RecordGoneAt))
	if r.Wipe != nil {
		fmt.Fprintf(w, "  wipe       %s %s %s (remove eSIM %v, return to service %v)\n", r.Wipe.Method, r.Wipe.Step, r.Wipe.State, r.Wipe.RemoveESIM, r.Wipe.ReturnToService)
		if r.Wipe.Meaning != "" {
			fmt.Fprintf(w, "             %s\n             %s\n", r.Wipe.Meaning, r.Wipe.Reference)
		}
	}
	if a := r.Apple; a != nil {
		fmt.Fprintf(w, "  apple      activity %s %s %s\n", a.ActivityID, a.ActivityStatus, a.SubStatus)
		if a.LogLine != nil {
			fmt.Fprintf(w, "             log: %s %s %s %s\n", a.LogLine.Serial, a.LogLine.Status, a.LogLine.Code, a.LogLine.Detail)
		} else if a.LogNote != "" {
			fmt.Fprintf(w, "             log: %s\n", a.LogNote)
		}
	}
	fmt.Fprintf(w, "  activation lock %s\n", r.ActivationLock)
	fmt.Fprintf(w, "  software   %s %s %s\n", r.Software.Module, r.Software.Version, r.Software.Revision)
	fmt.Fprintln(w, "Steps:")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %-28s %-8s attempts %d  %s → %s\n", s.ID, s.State, s.Attempts, ts(s.StartedAt), ts(s.EndedAt))
		if s.Note != "" {
			fmt.Fprintf(w, "      %s\n", s.Note)
		}
		if len(s.CommandIDs) > 0 {
			fmt.Fprintf(w, "      commands %s; keys %s\n", strings.Join(s.CommandIDs, ", "), strings.Join(s.IdempotencyKeys, ", "))
		}
	}
	if len(r.Reports) > 0 {
		fmt.Fprintln(w, "Reports:")
		for _, p := range r.Reports {
			fmt.Fprintf(w, "  %s %s reported %s %s %s\n", ts(&p.Time), p.By, p.Step, p.Outcome, p.Note)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "Warnings:")
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "  - %s\n", x)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FleetBundle is a fleet's records with a summary.
type FleetBundle struct {
	FleetID   string            `json:"fleetId"`
	Summary   map[string]int    `json:"summary"` // records by outcome
	Devices   int               `json:"devices"`
	Files     []string          `json:"files"`
	Records   []evidence.Record `json:"records"`
	Generated time.Time         `json:"generated"`
}
