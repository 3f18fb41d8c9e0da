package main

import (
	"github.com/spf13/cobra"
)

func init() { register("", statusCmd) }

// statusCmd prints one device's status: the status query, for a person or as its JSON.
func statusCmd(c *cli) *cobra.Command {
	var history bool
	cmd := &cobra.Command{
		Use:   "status <serial>",
		Short: "show one device's status",
		Long: `Show one device's status: its path, the step it is on and whom it waits on, every step with its
state, what to do when a person owes a step, and the warnings. The status query answers for a
finished device too.`,
		Example: `  starter status F2LXK0A1HG7J --history
  starter status F2LXK0A1HG7J -o json | jq .current`,
		Args: cobra.ArbitraryArgs, // deviceArg names what is wrong
	}
	cmd.Flags().BoolVar(&history, "history", false, "print the audit timeline: who reported what, when (table output)")
	out := addOutput(cmd, jsonIndented)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		serial, err := deviceArg(cmd, args)
		if err != nil {
			return err
		}
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		st, err := queryStatus(cmd.Context(), tc, serial)
		if err != nil {
			return err
		}
		return out.print(c.stdout, st, func() { printStatus(c.stdout, st, history) })
	}
	return cmd
}
