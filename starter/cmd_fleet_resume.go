package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/contract"
)

func init() { register("fleet", fleetResumeCmd) }

// fleetResumeCmd lets a paused fleet start devices again.
func fleetResumeCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "resume <fleet-id>",
		Short: "start devices again",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.fleetSignal(cmd, args, contract.SignalResume)
			if err == nil {
				fmt.Fprintf(c.stdout, "fleet %s resumed\n", id)
			}
			return err
		},
	}
}
