package main

import (
	"github.com/spf13/cobra"
)

func init() { register("evidence", evidenceShowCmd) }

// evidenceShowCmd is `evidence show <serial>`, the same as `evidence <serial>`.
func evidenceShowCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show <serial> [--dir D]",
		Short: "a device's latest retirement record (the same as evidence <serial>)",
		Args:  cobra.ArbitraryArgs,
	}
	show := showFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return c.showRecord(cmd, args, show) }
	return cmd
}
