package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register("fleet", fleetApproveCmd) }

// fleetApproveCmd is the second person's approval of a fleet whose wipes are past the worker's
// FLEET_APPROVAL_WIPES: no device of it starts before. The fleet refuses the person who started it.
func fleetApproveCmd(c *cli) *cobra.Command {
	var by, note string
	cmd := &cobra.Command{
		Use:     "approve <fleet-id> --by WHO [--note N]",
		Short:   "approve, as a second person, a fleet that waits with its wipes past the threshold",
		Example: "  starter fleet approve mar-2026 --by tanaka --note \"checked against HR ticket 4411\"",
		Args:    cobra.ArbitraryArgs,
	}
	cmd.Flags().StringVar(&by, "by", "", "who approves (required; not the person who started the fleet)")
	cmd.Flags().StringVar(&note, "note", "", "why, for the devices' audit and retirement records")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := fleetIDArg(cmd.Name(), args)
		if err != nil {
			return err
		}
		if strings.TrimSpace(by) == "" {
			return fmt.Errorf("fleet %s: say who approves with --by (a second person, not the one who started it)", id)
		}
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		return FleetApprove(cmd.Context(), tc, c.stdout, id, by, note)
	}
	return cmd
}
