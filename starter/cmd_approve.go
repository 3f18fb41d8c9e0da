package main

import (
	"github.com/spf13/cobra"
)

func init() { register("", approveCmd) }

// approveCmd is a second person's approval of the destructive step the destruction budget holds.
func approveCmd(c *cli) *cobra.Command {
	var by, note string
	cmd := &cobra.Command{
		Use:   "approve <serial> --by WHO [--note N]",
		Short: "approve, as a second person, a wipe or delete the destruction budget holds (WaitingOn=approval)",
		Long: `Release a device's wipe or delete that waits for a second person because the organisation's
destruction budget (DESTRUCTIVE_BUDGET in DESTRUCTIVE_BUDGET_WINDOW) is spent. The device refuses
the person who started it. 'starter list --waiting-on approval' and 'starter inbox' list them.`,
		Example: "  starter approve F2LXK0A1HG7J --by tanaka --note \"HR ticket 4411, 60 wipes planned today\"",
		Args:    cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&by, "by", "", "who approves (required; not the person who started the device)")
	cmd.Flags().StringVar(&note, "note", "", "why, for the retirement record")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		return Approve(cmd.Context(), tc, c.stdout, args[0], by, note)
	}
	return cmd
}
