package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/contract"
)

func init() { register("fleet", fleetPauseCmd) }

// fleetPauseCmd stops the fleet from starting devices; running ones go on.
func fleetPauseCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "pause <fleet-id>",
		Short: "start no more devices (running ones go on)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.fleetSignal(cmd, args, contract.SignalPause)
			if err == nil {
				fmt.Fprintf(c.stdout, "fleet %s paused: no device starts until `starter fleet resume %s`; running devices go on\n", id, id)
			}
			return err
		},
	}
}
