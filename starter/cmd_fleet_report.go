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
	var asCSV, withEvidence bool
	var keyFiles []string
	var bundleOut string
	cmd := &cobra.Command{
		Use:   "report <fleet-id> [--csv] [--evidence [--dir D] [--public-key F]... [--out DIR|F.tar.gz|F.zip]]",
		Short: "every device: outcome, path, warnings, time taken",
		Example: `  starter fleet report mar-2026
  starter fleet report mar-2026 -o csv > mar-2026-report.csv
  starter fleet report mar-2026 --evidence --out mar-2026-evidence.tar.gz   # the signed records, for an auditor`,
		Args: cobra.ArbitraryArgs,
	}
	cmd.Flags().BoolVar(&asCSV, "csv", false, "same as --output csv: line,serial,path,outcome,step,waiting_on,took_seconds,warnings,error,other_fleet,reusable")
	cmd.Flags().BoolVar(&withEvidence, "evidence", false, "bundle the fleet's signed retirement records with a summary, verifiable offline (reads the evidence archive, not Temporal)")
	dir := dirFlag(cmd.Flags())
	cmd.Flags().StringArrayVar(&keyFiles, "public-key", nil, "with --evidence: a trusted public key (PEM; repeatable); default: the public half of EVIDENCE_SIGNING_KEY_FILE")
	cmd.Flags().StringVar(&bundleOut, "out", "", "with --evidence: a directory, or a .tar.gz/.tgz/.zip file (default <fleet-id>-evidence)")
	out := addOutput(cmd, jsonIndented, formatCSV)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := fleetIDArg(cmd.Name(), args)
		if err != nil {
			return err
		}
		if withEvidence {
			if asCSV || !out.is(formatTable) {
				return fmt.Errorf("--evidence writes a bundle with its own summary: leave out --csv and --output")
			}
			return fleetEvidenceReport(cmd.Context(), c.stdout, *dir, id, bundleOut, keyFiles)
		}
		if bundleOut != "" || len(keyFiles) > 0 {
			return fmt.Errorf("--out and --public-key go with --evidence")
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
