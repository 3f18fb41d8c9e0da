package main

import (
	"strings"

	"github.com/spf13/cobra"
)

func init() { register("", planCmd) }

// planCmd prints the plan for a device; it needs no Temporal server. Its JSON is the contract's
// {"path","steps","warnings"} on one line and nothing else.
func planCmd(c *cli) *cobra.Command {
	var rf requestFlags
	cmd := &cobra.Command{
		Use:   "plan --serial S --enrollment ade-restricted|ade|manual --wipe|--no-wipe [--wipe-method console|device]",
		Short: "print the plan for one device (no Temporal server needed)",
		Long: `Print the plan for one device: its path, its steps with their section of the vendor's procedure,
the branches the procedure may take on the way, and the warnings. Planning is the pure function
the workflow runs, so it needs no Temporal server.`,
		Example: `  starter plan --serial F2LXK0A1HG7J --enrollment ade --wipe
  starter plan --serial F2LXK0A1HG7J --enrollment manual --no-wipe -o json`,
		Args: cobra.NoArgs,
	}
	rf.register(cmd.Flags())
	completeRequestFlags(cmd)
	out := addOutput(cmd, jsonCompact)
	cmd.RunE = func(*cobra.Command, []string) error {
		req, plan, err := rf.plan()
		if err != nil {
			return err
		}
		if plan.Warnings == nil {
			plan.Warnings = []string{}
		}
		return out.print(c.stdout, plan, func() { printPlan(c.stdout, strings.ToUpper(req.Serial), plan) })
	}
	return cmd
}
