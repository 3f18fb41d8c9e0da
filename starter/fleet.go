package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/converter"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/internal/contract"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/fleetfile"
	"github.com/offboard/offboard/internal/temporalclient"
	"github.com/offboard/offboard/workflows"
)

// readFleetFile reads and validates the file under the fleet ID it will run as.
func readFleetFile(path, fleetID string, yes bool) (string, fleetfile.File, error) {
	id := fleetID
	if id == "" {
		// A JSON file may name its fleet: read it once to learn the ID the confirm column must carry.
		if f, err := fleetfile.ReadFile(path, fleetfile.Options{WipesConfirmed: true}); err == nil && f.FleetID != "" {
			id = f.FleetID
		} else if err != nil {
			return "", fleetfile.File{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	if id == "" {
		id = fleetfile.DefaultFleetID(path)
	}
	if err := workflows.ValidFleetID(id); err != nil {
		return "", fleetfile.File{}, fmt.Errorf("%w (pass --fleet-id)", err)
	}
	f, err := fleetfile.ReadFile(path, fleetfile.Options{FleetID: id, WipesConfirmed: yes})
	if err != nil {
		return "", fleetfile.File{}, fmt.Errorf("%s: %w", path, err)
	}
	return id, f, nil
}

// confirmFleet asks for the fleet ID to be typed, as CLOMO PANEL asks for "YES".
func (c *cli) confirmFleet(id string, devices, wipes int) error {
	fmt.Fprintf(c.stderr, "\nThis deletes the console records of %d device(s) and wipes %d. Type the fleet ID (%s) to start: ", devices, wipes, id)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if strings.TrimSpace(line) != id {
		return fmt.Errorf("fleet %s: not confirmed, nothing started (type the fleet ID, or pass --yes)", id)
	}
	return nil
}

// fleetID reads the one positional fleet ID of a command.
func fleetIDArg(name string, positional []string) (string, error) {
	if len(positional) != 1 {
		return "", fmt.Errorf("fleet %s needs exactly one fleet ID", name)
	}
	id := strings.TrimPrefix(strings.TrimSpace(positional[0]), "fleet-")
	return id, workflows.ValidFleetID(id)
}

func queryFleet(ctx context.Context, tc client.Client, id string) (workflows.FleetProgress, error) {
	return queryWorkflow[workflows.FleetProgress](ctx, tc, contract.FleetWorkflowID(id), contract.QueryProgress,
		fmt.Sprintf("fleet %s: no fleet workflow (%s): start one with `starter fleet start`", id, contract.FleetWorkflowID(id)),
		"fleet "+id+": progress")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws done of total in width characters.
func progressBar(done, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat(" ", width) + "]"
	}
	n := min(width, done*width/total)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// printProgress renders the progress query for a person.
func printProgress(w io.Writer, p workflows.FleetProgress, now time.Time) {
	pct := 0.0
	if p.Total > 0 {
		pct = 100 * float64(p.Finished) / float64(p.Total)
	}
	fmt.Fprintf(w, "Fleet %s  %s  %s %d/%d (%.0f%%)\n", p.FleetID, strings.ToUpper(p.State), progressBar(p.Finished, p.Total, 40), p.Finished, p.Total, pct)
	rate := fmt.Sprintf("%.1f devices/min", p.PerMinute)
	if p.AvgDevice > 0 {
		rate += fmt.Sprintf(", %s a device", p.AvgDevice.Round(time.Second))
	}
	if p.ETA != nil {
		rate += fmt.Sprintf(", done about %s (in %s)", p.ETA.Local().Format(time.DateTime), p.ETA.Sub(now).Round(time.Second))
	}
	fmt.Fprintf(w, "Window %d  %s  run %d\n", p.Window, rate, p.Runs)
	fmt.Fprintf(w, "Devices: %s\n", counts(p.ByState, []string{workflows.FleetDevicePending, workflows.FleetDeviceRunning, workflows.OutcomeRemoved,
		workflows.OutcomeRejected, workflows.OutcomeCancelled, workflows.OutcomeConflict, workflows.OutcomeLost, workflows.OutcomeStartFailed}))
	if len(p.ByStep) > 0 {
		at := ""
		if p.CensusAt != nil {
			at = fmt.Sprintf(" (as of %s)", p.CensusAt.Local().Format(time.TimeOnly))
		}
		fmt.Fprintf(w, "Running by step%s: %s\n", at, counts(p.ByStep, nil))
		fmt.Fprintf(w, "Running by waiting-on: %s\n", counts(p.ByWaitingOn, nil))
	}
	if len(p.NeedPerson) > 0 {
		fmt.Fprintf(w, "Need a person (%d):\n", len(p.NeedPerson))
		for i, n := range p.NeedPerson {
			if i == 10 {
				fmt.Fprintf(w, "  ... and %d more: starter fleet report %s\n", len(p.NeedPerson)-10, p.FleetID)
				break
			}
			what := n.Outcome
			if what == "" {
				what = n.Step + " on " + n.WaitingOn
			}
			fmt.Fprintf(w, "  %-20s %-22s %s\n", n.Serial, what, n.Detail)
		}
	}
	if p.State == workflows.FleetCancelled || p.State == workflows.FleetPaused {
		fmt.Fprintf(w, "Note: %s\n", p.OnCancel)
	}
}

// counts prints a map as "k n, k n", the keys in order first, then the rest sorted.
func counts(m map[string]int, order []string) string {
	var parts []string
	seen := map[string]bool{}
	for _, k := range order {
		seen[k] = true
		if m[k] > 0 || k == workflows.FleetDevicePending || k == workflows.FleetDeviceRunning {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] && m[k] > 0 {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", orNone(k), m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// reportRow is one device of a fleet report.
type reportRow struct {
	Line      int           `json:"line"`
	Serial    string        `json:"serial"`
	Path      string        `json:"path"`
	Outcome   string        `json:"outcome"`
	Step      string        `json:"step,omitempty"` // running: the step now; otherwise the step that failed
	WaitingOn string        `json:"waitingOn,omitempty"`
	Took      time.Duration `json:"took"`
	Warnings  []string      `json:"warnings,omitempty"`
	Error     string        `json:"error,omitempty"`
	// Reusable: "yes" only when Apple reported no Activation Lock (workflows.ReusableLabel).
	Reusable string `json:"reusable,omitempty"`
	Fleet    string `json:"fleet,omitempty"` // the fleet its workflow belongs to, when another
}

// fleetReportRows reads every device of the fleet: its outcome, path, warnings and time taken,
// with the fleet's own word on the devices it did not run to the end.
func fleetReportRows(ctx context.Context, tc client.Client, dc converter.DataConverter, id string) ([]reportRow, error) {
	devices, err := fleetDeviceList(ctx, tc, dc, id)
	if err != nil {
		return nil, err
	}
	// The fleet's own view of the devices it did not run to the end (conflict, lost, ...), when it
	// still answers.
	notes := map[string]workflows.FleetNote{}
	if p, err := queryFleet(ctx, tc, id); err == nil {
		for _, n := range p.NeedPerson {
			if n.Outcome != "" {
				notes[n.Serial] = n
			}
		}
	}
	rows := make([]reportRow, len(devices))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, d := range devices {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = deviceReport(ctx, tc, id, d)
		})
	}
	wg.Wait()
	for i, r := range rows {
		n, ok := notes[r.Serial]
		if !ok || n.Outcome == r.Outcome {
			continue
		}
		// The fleet did not run this device: say so first, then what its own workflow shows.
		if r.Fleet != "" || n.Outcome == workflows.OutcomeConflict {
			own := "its own workflow: " + r.Outcome
			if r.Fleet != "" {
				own += " (fleet " + r.Fleet + ")"
			}
			if r.Error != "" {
				own += "; " + r.Error
			}
			rows[i].Error = own
		}
		rows[i].Outcome = n.Outcome
		if rows[i].Error == "" {
			rows[i].Error = n.Detail
		}
	}
	return rows, nil
}

// printReport prints the report's table and its tally.
func printReport(w io.Writer, rows []reportRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tSERIAL\tPATH\tOUTCOME\tSTEP\tREUSABLE\tTOOK\tWARNINGS\tERROR")
	for _, r := range rows {
		step := r.Step
		if r.WaitingOn != "" {
			step += " (" + r.WaitingOn + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Line, r.Serial, r.Path, r.Outcome, orNone(step),
			orNone(r.Reusable), r.Took.Round(time.Second), len(r.Warnings), truncate(r.Error, 80))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "%d device(s): %s (warnings in full: --csv)\n", len(rows), counts(byOutcome(rows), nil))
}

// byOutcome counts the report's devices by outcome.
func byOutcome(rows []reportRow) map[string]int {
	tally := map[string]int{}
	for _, r := range rows {
		tally[r.Outcome]++
	}
	return tally
}

// MarshalJSON writes took in seconds, as the CSV does.
func (r reportRow) MarshalJSON() ([]byte, error) {
	type plain reportRow
	return json.Marshal(struct {
		plain
		Took float64 `json:"took"`
	}{plain(r), r.Took.Seconds()})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func writeReportCSV(w io.Writer, rows []reportRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"line", "serial", "path", "outcome", "step", "waiting_on", "took_seconds", "warnings", "error", "other_fleet", "reusable"})
	for _, r := range rows {
		_ = cw.Write([]string{strconv.Itoa(r.Line), r.Serial, r.Path, r.Outcome, r.Step, r.WaitingOn,
			strconv.FormatFloat(r.Took.Seconds(), 'f', 0, 64), strings.Join(r.Warnings, " | "), r.Error, r.Fleet, r.Reusable})
	}
	cw.Flush()
	return cw.Error()
}

// fleetDeviceList reads the fleet's device list from the start of its FleetDeviceList workflow
// (open while the fleet starts devices, kept for the namespace's retention after).
func fleetDeviceList(ctx context.Context, tc client.Client, dc converter.DataConverter, id string) ([]workflows.FleetDevice, error) {
	iter := tc.GetWorkflowHistory(ctx, workflows.FleetDeviceListID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return nil, fmt.Errorf("fleet %s: no device list (%s)", id, workflows.FleetDeviceListID(id))
	}
	first, err := iter.Next()
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("fleet %s: no device list (%s): is the fleet ID right? (retention may have removed an old one)", id, workflows.FleetDeviceListID(id))
	}
	if err != nil {
		return nil, fmt.Errorf("fleet %s: read the device list: %w", id, err)
	}
	// Read from the history, the input is as the server stores it: encrypted when CODEC_KEY_FILE
	// is set, so it is decoded with dc, the client's own converter.
	var in workflows.FleetDeviceListInput
	if err := dc.FromPayloads(first.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
		return nil, fmt.Errorf("fleet %s: decode the device list: %w", id, err)
	}
	return in.Devices, nil
}

// deviceReport reads one device's workflow: its status (the status query answers for a finished
// workflow too) and its times.
func deviceReport(ctx context.Context, tc client.Client, fleetID string, d workflows.FleetDevice) reportRow {
	serial := strings.ToUpper(strings.TrimSpace(d.Request.Serial))
	r := reportRow{Line: d.Line, Serial: serial, Outcome: workflows.FleetDevicePending}
	desc, err := tc.DescribeWorkflowExecution(ctx, contract.DeviceWorkflowID(serial), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return r
	}
	if err != nil {
		r.Outcome, r.Error = "unknown", err.Error()
		return r
	}
	info := desc.GetWorkflowExecutionInfo()
	fields := info.GetSearchAttributes().GetIndexedFields()
	r.Path = temporalclient.Keyword(fields, "OffboardPath")
	if f := temporalclient.Keyword(fields, "FleetID"); f != fleetID {
		r.Fleet = orNone(f)
	}
	end := time.Now()
	if info.GetCloseTime() != nil {
		end = info.GetCloseTime().AsTime()
	}
	r.Took = end.Sub(info.GetStartTime().AsTime())
	st, err := queryStatus(ctx, tc, serial)
	if err != nil {
		r.Outcome = strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
		r.Error = "status not readable: " + err.Error()
		return r
	}
	r.Outcome, r.Warnings, r.Error = st.Outcome, st.Warnings, st.Error
	r.Reusable = workflows.ReusableLabel(st.ActivationLock)
	if st.Path != "" {
		r.Path = st.Path
	}
	if st.Current != "" {
		r.Step, r.WaitingOn = string(st.Current), string(st.WaitingOn)
	}
	for _, s := range st.Steps {
		if s.State == workflows.StateFailed {
			r.Step = string(s.ID)
		}
	}
	return r
}

// fleetSignal sends a fleet its pause or resume signal.
func (c *cli) fleetSignal(cmd *cobra.Command, args []string, signal string) (string, error) {
	id, err := fleetIDArg(cmd.Name(), args)
	if err != nil {
		return "", err
	}
	tc, err := c.dial(cmd.Context())
	if err != nil {
		return "", err
	}
	defer tc.Close()
	if err := tc.SignalWorkflow(cmd.Context(), contract.FleetWorkflowID(id), "", signal, nil); err != nil {
		return "", fmt.Errorf("fleet %s: %s: %w", id, cmd.Name(), err)
	}
	return id, nil
}
