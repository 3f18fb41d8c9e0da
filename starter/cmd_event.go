package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

func init() { register("", eventCmd) }

// eventCmd sends the device-event signal: what an MDM alert or an e-mail says happened.
func eventCmd(c *cli) *cobra.Command {
	var source string
	events := []string{contract.EventGreyedOut, contract.EventCheckedOut, contract.EventRecordGone}
	cmd := &cobra.Command{
		Use:     "event <serial> <greyed-out|checked-out|record-gone> [--source ...]",
		Short:   "send a device-event signal (greyed-out, checked-out, record-gone)",
		Example: `  starter event F2LXK0A1HG7J greyed-out --source "MDM alert"`,
		Args:    cobra.ArbitraryArgs,
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return events, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.Flags().StringVar(&source, "source", "starter", "where the event comes from (an MDM alert, an e-mail)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return errors.New("event needs a serial and an event (greyed-out, checked-out, record-gone)")
		}
		switch args[1] {
		case contract.EventGreyedOut, contract.EventCheckedOut, contract.EventRecordGone:
		default:
			return fmt.Errorf("unknown event %q: use greyed-out, checked-out or record-gone", args[1])
		}
		tc, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer tc.Close()
		serial := strings.ToUpper(args[0])
		return tc.SignalWorkflow(cmd.Context(), contract.DeviceWorkflowID(serial), "", contract.SignalDeviceEvent, workflows.DeviceEvent{Event: args[1], Source: source})
	}
	return cmd
}
