package main

import (
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/contract"
)

func init() { register("", listCmd) }

// listCmd lists devices from Temporal visibility, filtered by what they wait on, their path,
// step or fleet, oldest first.
func listCmd(c *cli) *cobra.Command {
	var waitingOn, path, step, fleet string
	var all bool
	cmd := &cobra.Command{
		Use:   "list [--waiting-on W] [--path P] [--step S] [--fleet F] [--all]",
		Short: "list devices (by --waiting-on, --path, --step, --fleet)",
		Long: `List the devices being offboarded (with --all, the finished ones too), oldest first, as Temporal
visibility indexes them: it works with any number of workers and after restarts.`,
		Example: `  starter list --waiting-on operator
  starter list --fleet mar-2026 --all -o json`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&waitingOn, "waiting-on", "", "console | device | operator | apple | vendor-support | approval | none")
	fs.StringVar(&path, "path", "", "e.g. wipe/ade, keep/manual")
	fs.StringVar(&step, "step", "", "a step ID, e.g. await-greyed-out")
	fs.StringVar(&fleet, "fleet", "", "a fleet ID")
	fs.BoolVar(&all, "all", false, "include finished devices")
	_ = cmd.RegisterFlagCompletionFunc("waiting-on", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"console", "device", "operator", "apple", "vendor-support", "approval", "none"}, cobra.ShellCompDirectiveNoFileComp
	})
	out := addOutput(cmd, jsonCompact)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		rows, err := listDevices(cmd.Context(), tc, deviceQuery(all, map[string]string{
			contract.SAWaitingOn: waitingOn, contract.SAOffboardPath: path, contract.SAOffboardStep: step, contract.SAFleetID: fleet}))
		if err != nil {
			return err
		}
		slices.SortFunc(rows, func(a, b deviceRow) int { return a.Started.Compare(b.Started) })
		if rows == nil {
			rows = []deviceRow{} // [] rather than null: a program reads a list
		}
		return out.print(c.stdout, rows, func() {
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tSTATUS\tPATH\tSTEP\tWAITING ON\tFLEET\tSTARTED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Serial, r.Status, r.Path, r.Step, r.WaitingOn, orNone(r.FleetID), r.Started.Local().Format(time.DateTime))
			}
			_ = tw.Flush()
			fmt.Fprintf(c.stdout, "%d device(s)\n", len(rows))
		})
	}
	return cmd
}
