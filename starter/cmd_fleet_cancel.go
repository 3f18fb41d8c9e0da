package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

func init() { register("fleet", fleetCancelCmd) }

// fleetCancelCmd cancels the fleet: it starts no more devices; running ones go on.
func fleetCancelCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel <fleet-id>",
		Short: "stop the fleet (running devices go on to their outcome)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := fleetIDArg(cmd.Name(), args)
			if err != nil {
				return err
			}
			tc, err := c.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			if err := tc.CancelWorkflow(cmd.Context(), contract.FleetWorkflowID(id), ""); err != nil {
				return fmt.Errorf("fleet %s: cancel: %w", id, err)
			}
			fmt.Fprintf(c.stdout, "cancellation requested for fleet %s: %s\n", id, workflows.OnCancel)
			return nil
		},
	}
}
