package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/workflows"
)

func init() { register("fleet", fleetWatchCmd) }

// fleetWatchCmd prints the fleet's progress until it ends; as JSON, the progress query once.
func fleetWatchCmd(c *cli) *cobra.Command {
	var every time.Duration
	var once bool
	cmd := &cobra.Command{
		Use:   "watch <fleet-id> [--every 2s] [--once]",
		Short: "live progress: bar, counts, who needs a person",
		Example: `  starter fleet watch mar-2026
  starter fleet watch mar-2026 -o json`,
		Args: cobra.ArbitraryArgs,
	}
	cmd.Flags().DurationVar(&every, "every", 2*time.Second, "how often to refresh")
	cmd.Flags().BoolVar(&once, "once", false, "print the progress once and return")
	out := addOutput(cmd, jsonIndented)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := fleetIDArg(cmd.Name(), args)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		tc, err := c.dial(ctx)
		if err != nil {
			return err
		}
		defer tc.Close()
		clear := !once && isTerminal(c.stdout)
		for {
			p, err := queryFleet(ctx, tc, id)
			if err != nil {
				return err
			}
			if out.is(formatJSON) {
				return writeJSON(c.stdout, p, jsonIndented) // one document: the progress now
			}
			if clear {
				fmt.Fprint(c.stdout, "\033[H\033[2J")
			}
			printProgress(c.stdout, p, time.Now())
			if once || p.State == workflows.FleetFinished || p.State == workflows.FleetCancelled {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(every):
			}
			if !clear {
				fmt.Fprintln(c.stdout)
			}
		}
	}
	return cmd
}
