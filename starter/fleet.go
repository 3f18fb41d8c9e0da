package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/contract"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/fleetfile"
	"github.com/offboard/offboard/internal/temporalclient"
	"github.com/offboard/offboard/workflows"
)

const fleetUsage = `usage: starter fleet <command> [flags]

  start   --file F [--fleet-id ID] [--window N] [--skip-invalid] [--yes]   validate a fleet file and start it
  watch   <fleet-id> [--every 2s] [--once]                                 live progress: bar, counts, who needs a person
  report  <fleet-id> [--csv]                                               every device: outcome, path, warnings, time taken
  pause   <fleet-id>                                                       start no more devices (running ones go on)
  resume  <fleet-id>                                                       start devices again
  cancel  <fleet-id>                                                       stop the fleet (running devices go on to their outcome)`

// fleet dispatches the fleet subcommands.
func (c *cli) fleet(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, fleetUsage)
		return errors.New("fleet needs a command")
	}
	switch args[0] {
	case "start":
		return c.fleetStart(ctx, args[1:])
	case "watch":
		return c.fleetWatch(ctx, args[1:])
	case "report":
		return c.fleetReport(ctx, args[1:])
	case "pause", "resume":
		return c.fleetSignal(ctx, args[0], args[1:])
	case "cancel":
		return c.fleetCancel(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(c.stdout, fleetUsage)
		return nil
	}
	return fmt.Errorf("unknown fleet command %q\n\n%s", args[0], fleetUsage)
}

// fleetStart validates the whole fleet file, reports every bad row, asks for the fleet's typed
// confirmation and starts FleetRetirement.
func (c *cli) fleetStart(ctx context.Context, args []string) error {
	fs := c.flags("fleet start", "--file F [--fleet-id ID] [--window N] [--skip-invalid] [--yes]")
	file := fs.String("file", "", "the fleet file: .csv (serial,enrollment,wipe,wipe_method,options,contact,confirm) or .json")
	fleetID := fs.String("fleet-id", "", "the fleet's ID (default: the file's fleetId, else its name); wipe rows carry it in their confirm column")
	window := fs.Int("window", workflows.DefaultFleetWindow, "how many devices are offboarded at once")
	skip := fs.Bool("skip-invalid", false, "start the valid rows and list the bad ones (default: nothing starts while a row is bad)")
	yes := fs.Bool("yes", false, "confirm every row, wipes included, without typing (for pipelines)")
	mode := fs.String("mode", "", "console mode for every device: automated | operator (default: the worker's CONSOLE_MODE)")
	by := fs.String("requested-by", envOr("USER", "starter"), "who asks (an HR ticket, your name)")
	dryRun := fs.Bool("dry-run", false, "validate and print the summary; start nothing")
	var t timingFlags
	t.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("fleet start needs --file")
	}
	if *window < 1 || *window > workflows.MaxFleetWindow {
		return fmt.Errorf("--window %d: use 1 to %d", *window, workflows.MaxFleetWindow)
	}
	id, f, err := readFleetFile(*file, *fleetID, *yes)
	if err != nil {
		return err
	}
	for _, p := range f.Problems {
		fmt.Fprintf(c.stderr, "  %s\n", p)
	}
	if len(f.Problems) > 0 && !*skip {
		return fmt.Errorf("%s: %d bad row(s), listed above: nothing started; fix them, or pass --skip-invalid to start the %d valid row(s)",
			*file, len(f.Problems), len(f.Devices))
	}
	if len(f.Devices) == 0 {
		return fmt.Errorf("%s: no valid row: nothing to start", *file)
	}
	fmt.Fprintf(c.stderr, "Fleet %s: %d device(s) (%s), %d wiped, %d at once", id, len(f.Devices), strings.Join(f.Summary(), ", "), f.Wipes(), *window)
	if len(f.Problems) > 0 {
		fmt.Fprintf(c.stderr, "; %d bad row(s) not started", len(f.Problems))
	}
	fmt.Fprintln(c.stderr)
	if *dryRun {
		return nil
	}
	if !*yes {
		if err := c.confirmFleet(id, len(f.Devices), f.Wipes()); err != nil {
			return err
		}
	}
	timing, err := t.timing()
	if err != nil {
		return err
	}
	in := workflows.FleetInput{FleetID: id, Window: *window, ConsoleMode: *mode, RequestedBy: *by, Confirmed: true, Timing: timing}
	for _, d := range f.Devices {
		in.Devices = append(in.Devices, workflows.FleetDevice{Request: d.Request, Contact: d.Contact, Line: d.Line})
	}
	tc, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: contract.FleetWorkflowID(id), TaskQueue: contract.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.SAFleetID.ValueSet(id)),
		StaticSummary:                            fmt.Sprintf("Fleet %s: %d devices", id, len(in.Devices)),
	}, contract.FleetWorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return fmt.Errorf("fleet %s exists already (workflow %s): watch it with `starter fleet watch %s`, or choose another --fleet-id",
			id, contract.FleetWorkflowID(id), id)
	}
	if err != nil {
		return fmt.Errorf("fleet %s: start: %w", id, err)
	}
	fmt.Fprintf(c.stdout, "started %s (run %s): %d devices\nfollow it with: starter fleet watch %s\n", run.GetID(), run.GetRunID(), len(in.Devices), id)
	return nil
}

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

// fleetClient parses a fleet command's arguments (one fleet ID) and dials Temporal, as
// deviceClient does for a device's commands.
func (c *cli) fleetClient(ctx context.Context, fs *flag.FlagSet, args []string) (string, client.Client, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", nil, err
	}
	id, err := fleetIDArg(strings.TrimPrefix(fs.Name(), "fleet "), pos)
	if err != nil {
		return "", nil, err
	}
	tc, err := c.dial(ctx)
	return id, tc, err
}

func queryFleet(ctx context.Context, tc client.Client, id string) (workflows.FleetProgress, error) {
	return queryWorkflow[workflows.FleetProgress](ctx, tc, contract.FleetWorkflowID(id), contract.QueryProgress,
		fmt.Sprintf("fleet %s: no fleet workflow (%s): start one with `starter fleet start`", id, contract.FleetWorkflowID(id)),
		"fleet "+id+": progress")
}

// fleetWatch prints the fleet's progress until it ends.
func (c *cli) fleetWatch(ctx context.Context, args []string) error {
	fs := c.flags("fleet watch", "<fleet-id> [--every 2s] [--once]")
	every := fs.Duration("every", 2*time.Second, "how often to refresh")
	once := fs.Bool("once", false, "print the progress once and return")
	asJSON := fs.Bool("json", false, "print the progress query's JSON (with --once)")
	id, tc, err := c.fleetClient(ctx, fs, args)
	if err != nil {
		return err
	}
	defer tc.Close()
	clear := !*once && isTerminal(c.stdout)
	for {
		p, err := queryFleet(ctx, tc, id)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(p)
		}
		if clear {
			fmt.Fprint(c.stdout, "\033[H\033[2J")
		}
		printProgress(c.stdout, p, time.Now())
		if *once || p.State == workflows.FleetFinished || p.State == workflows.FleetCancelled {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
		if !clear {
			fmt.Fprintln(c.stdout)
		}
	}
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
	Fleet     string        `json:"fleet,omitempty"` // the fleet its workflow belongs to, when another
}

// fleetReport prints every device of the fleet with its outcome, path, warnings and time taken.
func (c *cli) fleetReport(ctx context.Context, args []string) error {
	fs := c.flags("fleet report", "<fleet-id> [--csv]")
	asCSV := fs.Bool("csv", false, "print CSV (line,serial,path,outcome,step,waiting_on,took_seconds,warnings,error)")
	id, tc, err := c.fleetClient(ctx, fs, args)
	if err != nil {
		return err
	}
	defer tc.Close()
	devices, err := fleetDeviceList(ctx, tc, id)
	if err != nil {
		return err
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
	if *asCSV {
		return writeReportCSV(c.stdout, rows)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tSERIAL\tPATH\tOUTCOME\tSTEP\tTOOK\tWARNINGS\tERROR")
	tally := map[string]int{}
	for _, r := range rows {
		tally[r.Outcome]++
		step := r.Step
		if r.WaitingOn != "" {
			step += " (" + r.WaitingOn + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Line, r.Serial, r.Path, r.Outcome, orNone(step),
			r.Took.Round(time.Second), len(r.Warnings), truncate(r.Error, 80))
	}
	_ = tw.Flush()
	fmt.Fprintf(c.stdout, "%d device(s): %s (warnings in full: --csv)\n", len(rows), counts(tally, nil))
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func writeReportCSV(w io.Writer, rows []reportRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"line", "serial", "path", "outcome", "step", "waiting_on", "took_seconds", "warnings", "error", "other_fleet"})
	for _, r := range rows {
		_ = cw.Write([]string{strconv.Itoa(r.Line), r.Serial, r.Path, r.Outcome, r.Step, r.WaitingOn,
			strconv.FormatFloat(r.Took.Seconds(), 'f', 0, 64), strings.Join(r.Warnings, " | "), r.Error, r.Fleet})
	}
	cw.Flush()
	return cw.Error()
}

// fleetDeviceList reads the fleet's device list from the start of its FleetDeviceList workflow
// (open while the fleet starts devices, kept for the namespace's retention after).
func fleetDeviceList(ctx context.Context, tc client.Client, id string) ([]workflows.FleetDevice, error) {
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
	// is set, so it is decoded with the same keys the client uses.
	cfg, err := config.LoadTemporal()
	if err != nil {
		return nil, err
	}
	dc, err := temporalclient.DataConverter(cfg)
	if err != nil {
		return nil, err
	}
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

// fleetSignal sends pause or resume.
func (c *cli) fleetSignal(ctx context.Context, name string, args []string) error {
	fs := c.flags("fleet "+name, "<fleet-id>")
	id, tc, err := c.fleetClient(ctx, fs, args)
	if err != nil {
		return err
	}
	defer tc.Close()
	signal := contract.SignalPause
	if name == "resume" {
		signal = contract.SignalResume
	}
	if err := tc.SignalWorkflow(ctx, contract.FleetWorkflowID(id), "", signal, nil); err != nil {
		return fmt.Errorf("fleet %s: %s: %w", id, name, err)
	}
	if name == "pause" {
		fmt.Fprintf(c.stdout, "fleet %s paused: no device starts until `starter fleet resume %s`; running devices go on\n", id, id)
	} else {
		fmt.Fprintf(c.stdout, "fleet %s resumed\n", id)
	}
	return nil
}

// fleetCancel cancels the fleet: it starts no more devices; running ones go on.
func (c *cli) fleetCancel(ctx context.Context, args []string) error {
	fs := c.flags("fleet cancel", "<fleet-id>")
	id, tc, err := c.fleetClient(ctx, fs, args)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := tc.CancelWorkflow(ctx, contract.FleetWorkflowID(id), ""); err != nil {
		return fmt.Errorf("fleet %s: cancel: %w", id, err)
	}
	fmt.Fprintf(c.stdout, "cancellation requested for fleet %s: %s\n", id, workflows.OnCancel)
	return nil
}
