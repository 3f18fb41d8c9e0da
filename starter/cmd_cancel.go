package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/contract"
)

func init() { register("", cancelCmd) }

// cancelCmd cancels a device's workflow; the workflow records where it stopped.
func cancelCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "cancel <serial>",
		Short:   "cancel offboarding of one device",
		Example: `  starter cancel F2LXK0A1HG7J`,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			serial, err := deviceArg(cmd, args)
			if err != nil {
				return err
			}
			tc, err := c.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			if err := tc.CancelWorkflow(cmd.Context(), contract.DeviceWorkflowID(serial), ""); err != nil {
				return fmt.Errorf("device %s: cancel: %w", serial, err)
			}
			fmt.Fprintf(c.stdout, "cancellation requested for %s\n", serial)
			return nil
		},
	}
}
