package main

import (
	"github.com/spf13/cobra"
)

func init() { register("", activationLockCmd) }

// activationLockCmd prints each device's Activation Lock as Apple last reported it, and whether
// the device can be set up again: a device locked to a personal Apple Account never reads "yes".
func activationLockCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "activation-lock <serial>...",
		Short:   "each device's Activation Lock (Apple's last answer) and whether it can be reused",
		Example: "  starter activation-lock F2LXK0A1HG7J -o json",
		Args:    cobra.MinimumNArgs(1),
	}
	out := addOutput(cmd, jsonIndented)
	cmd.RunE = func(cmd *cobra.Command, serials []string) error {
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		rows, readErr := readActivationLocks(cmd.Context(), tc, serials...)
		if err := out.print(c.stdout, activationLockDocument(rows), func() { writeActivationLocks(c.stdout, rows) }); err != nil {
			return err
		}
		return readErr
	}
	return cmd
}
