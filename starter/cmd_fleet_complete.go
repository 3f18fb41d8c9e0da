package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

func init() { register("fleet", fleetCompleteCmd) }

// fleetCompleteCmd reports one step for every device of the fleet waiting at it (CLOMO PANEL's
// multi-select at 4-1 and 4-2), the exceptions with their own outcome; each device records its own.
func fleetCompleteCmd(c *cli) *cobra.Command {
	var by, outcome, note string
	var except, exceptNotes []string
	cmd := &cobra.Command{
		Use:   "complete <fleet-id> <step> --by WHO [--outcome O] [--note N] [--except SERIAL=OUTCOME]... [--except-note SERIAL=NOTE]...",
		Short: "report a step once for every device of the fleet waiting at it (multi-select in CLOMO PANEL)",
		Long: `Report a step once for all the fleet's devices waiting at it, as CLOMO PANEL's multi-select does
them at once (4-1 delete-managed-record, 4-2 delete-greyed-out-record). The devices are those
'starter inbox' or 'starter fleet watch' shows for the task; a device the console answered
differently for is an exception with its own outcome (for 4-2: certificates-remain,
vpp-license-remains, work-smart). Each device records its own outcome and audit entry.`,
		Example: `  starter fleet complete mar-2026 delete-greyed-out-record --by sato
  starter fleet complete mar-2026 delete-greyed-out-record --by sato --except F2LXK0A1HG7J=certificates-remain`,
		Args: cobra.ExactArgs(2),
	}
	fs := cmd.Flags()
	fs.StringVar(&by, "by", envOr("USER", "operator"), "who carried the step out")
	fs.StringVar(&outcome, "outcome", procedure.OutcomeDone, "what the console showed for all but the exceptions")
	fs.StringVar(&note, "note", "", "a note for every device's audit entry")
	fs.StringArrayVar(&except, "except", nil, "a device with its own outcome, SERIAL=OUTCOME (repeatable)")
	fs.StringArrayVar(&exceptNotes, "except-note", nil, "an exception's own note, SERIAL=NOTE (repeatable)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := fleetIDArg(cmd.Name(), args[:1])
		if err != nil {
			return err
		}
		exceptions, err := fleetExceptions(except, exceptNotes)
		if err != nil {
			return err
		}
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		return FleetComplete(cmd.Context(), tc, c.stdout, id, procedure.StepID(args[1]), by, outcome, note, exceptions)
	}
	return cmd
}

// fleetExceptions reads --except SERIAL=OUTCOME and --except-note SERIAL=NOTE; a note for a serial
// that is no exception is refused, as it would be lost.
func fleetExceptions(except, notes []string) ([]workflows.FleetStepException, error) {
	var out []workflows.FleetStepException
	index := map[string]int{}
	for _, e := range except {
		serial, outcome, ok := strings.Cut(e, "=")
		serial = strings.ToUpper(strings.TrimSpace(serial))
		if !ok || serial == "" || strings.TrimSpace(outcome) == "" {
			return nil, fmt.Errorf("--except %q: give SERIAL=OUTCOME, e.g. --except F2LXK0A1HG7J=certificates-remain", e)
		}
		index[serial] = len(out)
		out = append(out, workflows.FleetStepException{Serial: serial, Outcome: strings.TrimSpace(outcome)})
	}
	for _, n := range notes {
		serial, note, ok := strings.Cut(n, "=")
		i, known := index[strings.ToUpper(strings.TrimSpace(serial))]
		if !ok || !known {
			return nil, fmt.Errorf("--except-note %q: give SERIAL=NOTE for a serial also given with --except", n)
		}
		out[i].Note = note
	}
	return out, nil
}
