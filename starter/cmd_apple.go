package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/workflows"
)

func init() { register("", appleCmd) }

// appleCmd shows the organisation's Apple coordinator: the devices waiting for Apple, the
// activities in flight, and Apple's request budget as the coordinator keeps it.
func appleCmd(c *cli) *cobra.Command {
	var org, server string
	cmd := &cobra.Command{
		Use:   "apple [--org CLIENT_ID] [--server SERVER_ID]",
		Short: "the Apple coordinator: devices waiting for Apple, activities in flight, the request budget",
		Args:  cobra.NoArgs,
	}
	cmd.Flags().StringVar(&org, "org", envOr("APPLE_CLIENT_ID", ""), "the organisation's Apple Business API client ID (APPLE_CLIENT_ID)")
	cmd.Flags().StringVar(&server, "server", envOr("APPLE_SERVER_ID", ""), "this console's MDM server in Apple Business Manager (APPLE_SERVER_ID)")
	out := addOutput(cmd, jsonIndented)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if server == "" {
			return fmt.Errorf("say which MDM server: --server or APPLE_SERVER_ID, as the worker has it")
		}
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		id := workflows.CoordinatorWorkflowID(org, server)
		st, err := queryWorkflow[workflows.CoordinatorStatus](cmd.Context(), tc, id, workflows.QueryAppleQueue,
			fmt.Sprintf("no Apple coordinator runs (%s): the first ADE device that reaches Apple starts it", id), "Apple coordinator")
		if err != nil {
			return err
		}
		return out.print(c.stdout, st, func() { printCoordinator(c.stdout, id, st) })
	}
	return cmd
}
