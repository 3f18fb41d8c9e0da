package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

func init() { register("fleet", fleetStartCmd) }

// fleetStartCmd validates the whole fleet file, reports every bad row, asks for the fleet's
// typed confirmation and starts FleetRetirement.
func fleetStartCmd(c *cli) *cobra.Command {
	var (
		file, fleetID, mode, by string
		window                  int
		skip, yes, dryRun       bool
		t                       timingFlags
	)
	cmd := &cobra.Command{
		Use:   "start --file F [--fleet-id ID] [--window N] [--skip-invalid] [--yes]",
		Short: "validate a fleet file and start it",
		Long: `Validate a fleet file (every row at once), list the bad rows with their line, and start the fleet
after its ID is typed. Nothing starts while a row is bad, unless --skip-invalid.`,
		Example: `  starter fleet start --file mar-2026.csv --window 20
  starter fleet start --file mar-2026.csv --dry-run`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&file, "file", "", "the fleet file: .csv (serial,enrollment,wipe,wipe_method,options,contact,confirm) or .json")
	fs.StringVar(&fleetID, "fleet-id", "", "the fleet's ID (default: the file's fleetId, else its name); wipe rows carry it in their confirm column")
	fs.IntVar(&window, "window", workflows.DefaultFleetWindow, "how many devices are offboarded at once")
	fs.BoolVar(&skip, "skip-invalid", false, "start the valid rows and list the bad ones (default: nothing starts while a row is bad)")
	fs.BoolVar(&yes, "yes", false, "confirm every row, wipes included, without typing (for pipelines)")
	fs.StringVar(&mode, "mode", "", "console mode for every device: automated | operator (default: the worker's CONSOLE_MODE)")
	fs.StringVar(&by, "requested-by", envOr("USER", "starter"), "who asks (an HR ticket, your name); a fleet past FLEET_APPROVAL_WIPES then needs another person's fleet approve")
	fs.BoolVar(&dryRun, "dry-run", false, "validate and print the summary; start nothing")
	t.register(fs)
	_ = cmd.MarkFlagFilename("file", "csv", "json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if file == "" {
			return errors.New("fleet start needs --file")
		}
		if window < 1 || window > workflows.MaxFleetWindow {
			return fmt.Errorf("--window %d: use 1 to %d", window, workflows.MaxFleetWindow)
		}
		id, f, err := readFleetFile(file, fleetID, yes)
		if err != nil {
			return err
		}
		for _, p := range f.Problems {
			fmt.Fprintf(c.stderr, "  %s\n", p)
		}
		if len(f.Problems) > 0 && !skip {
			return fmt.Errorf("%s: %d bad row(s), listed above: nothing started; fix them, or pass --skip-invalid to start the %d valid row(s)",
				file, len(f.Problems), len(f.Devices))
		}
		if len(f.Devices) == 0 {
			return fmt.Errorf("%s: no valid row: nothing to start", file)
		}
		fmt.Fprintf(c.stderr, "Fleet %s: %d device(s) (%s), %d wiped, %d at once", id, len(f.Devices), strings.Join(f.Summary(), ", "), f.Wipes(), window)
		if len(f.Problems) > 0 {
			fmt.Fprintf(c.stderr, "; %d bad row(s) not started", len(f.Problems))
		}
		fmt.Fprintln(c.stderr)
		if dryRun {
			return nil
		}
		if !yes {
			if err := c.confirmFleet(id, len(f.Devices), f.Wipes()); err != nil {
				return err
			}
		}
		timing, err := t.timing()
		if err != nil {
			return err
		}
		in := workflows.FleetInput{FleetID: id, Window: window, ConsoleMode: mode, RequestedBy: by, StartedBy: by, Confirmed: true, Timing: timing}
		for _, d := range f.Devices {
			in.Devices = append(in.Devices, workflows.FleetDevice{Request: d.Request, Contact: d.Contact, Line: d.Line})
		}
		ctx := cmd.Context()
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
	return cmd
}
