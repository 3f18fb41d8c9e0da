package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/temporalclient"
)

func init() { register("fleet", fleetReportCmd) }

const formatCSV = "csv"

// fleetReport is the report as JSON: every device and the tally by outcome.
type fleetReport struct {
	FleetID   string         `json:"fleetId"`
	Devices   []reportRow    `json:"devices"`
	ByOutcome map[string]int `json:"byOutcome"`
}

// fleetReportCmd prints every device of the fleet with its outcome, path, warnings and time taken.
func fleetReportCmd(c *cli) *cobra.Command {
	var asCSV bool
	cmd := &cobra.Command{
		Use:   "report <fleet-id> [--csv]",
		Short: "every device: outcome, path, warnings, time taken",
		Example: `  starter fleet report mar-2026
  starter fleet report mar-2026 -o csv > mar-2026-report.csv`,
		Args: cobra.ArbitraryArgs,
	}
	cmd.Flags().BoolVar(&asCSV, "csv", false, "same as --output csv: line,serial,path,outcome,step,waiting_on,took_seconds,warnings,error,other_fleet,reusable")
	out := addOutput(cmd, jsonIndented, formatCSV)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := fleetIDArg(cmd.Name(), args)
		if err != nil {
			return err
		}
		if asCSV && !out.is(formatTable) && !out.is(formatCSV) {
			return fmt.Errorf("--csv and --output %s disagree: give one", out)
		}
		cfg, err := c.temporalConfig()
		if err != nil {
			return err
		}
		dc, err := temporalclient.DataConverter(cfg)
		if err != nil {
			return err
		}
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		rows, err := fleetReportRows(cmd.Context(), tc, dc, id)
		if err != nil {
			return err
		}
		if asCSV || out.is(formatCSV) {
			return writeReportCSV(c.stdout, rows)
		}
		return out.print(c.stdout, fleetReport{FleetID: id, Devices: rows, ByOutcome: byOutcome(rows)}, func() { printReport(c.stdout, rows) })
	}
	return cmd
}
