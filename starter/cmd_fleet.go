package main

import (
	"github.com/spf13/cobra"
)

func init() { register("", fleetCmd) }

// fleetCmd holds the fleet commands (cmd_fleet_*.go register under it): retire many devices
// from a fleet file.
func fleetCmd(c *cli) *cobra.Command {
	cmd := group(c, "fleet", "retire many devices from a fleet file (fleet start|watch|report|pause|resume|cancel)")
	cmd.Long = `Retire many devices from a fleet file: validate it and start it (every wipe confirmed), watch its
progress, report every device, pause, resume or cancel it. Running devices always go on to their
outcome.`
	return cmd
}
