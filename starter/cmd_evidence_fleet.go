package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/evidence"
)

func init() { register("evidence", evidenceFleetCmd) }

// evidenceFleetCmd bundles the records of one fleet (every run of every device) with a summary;
// as JSON it prints the bundle itself.
func evidenceFleetCmd(c *cli) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "fleet <fleet-id> [--dir D] [--out bundle.json]",
		Short: "bundle a fleet's records with a summary",
		Args:  cobra.ArbitraryArgs,
	}
	dir := dirFlag(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "", "write the bundle (JSON) here; default: print the summary only")
	format := addOutput(cmd, jsonIndented)
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return errors.New("evidence fleet needs exactly one fleet ID")
		}
		recs, names, err := (&evidence.Archive{Dir: *dir}).Records(func(r evidence.Record) bool { return r.FleetID == args[0] })
		if err != nil {
			return err
		}
		b := FleetBundle{FleetID: args[0], Summary: map[string]int{}, Files: names, Records: recs, Generated: time.Now().UTC()}
		serials := map[string]bool{}
		for _, r := range recs {
			b.Summary[r.Outcome]++
			serials[r.Serial] = true
		}
		b.Devices = len(serials)
		if err := format.print(c.stdout, b, func() { printBundle(c, b) }); err != nil {
			return err
		}
		if out == "" {
			return nil
		}
		data, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			return err
		}
		note := c.stdout
		if format.is(formatJSON) {
			note = c.stderr // stdout holds the one JSON document
		}
		fmt.Fprintf(note, "bundle written to %s (verify the archive itself with starter evidence verify)\n", out)
		return nil
	}
	return cmd
}

func printBundle(c *cli, b FleetBundle) {
	outcomes := make([]string, 0, len(b.Summary))
	for o := range b.Summary {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	fmt.Fprintf(c.stdout, "fleet %s: %d records of %d devices\n", b.FleetID, len(b.Records), b.Devices)
	for _, o := range outcomes {
		fmt.Fprintf(c.stdout, "  %-10s %d\n", o, b.Summary[o])
	}
}
