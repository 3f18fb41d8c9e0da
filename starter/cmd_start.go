package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

func init() { register("", startCmd) }

// startCmd starts DeviceOffboarding for one device, after the typed confirmation.
func startCmd(c *cli) *cobra.Command {
	var (
		rf                requestFlags
		t                 timingFlags
		mode, contact, by string
		yes, wait         bool
	)
	cmd := &cobra.Command{
		Use:   "start --serial S --enrollment ade-restricted|ade|manual --wipe|--no-wipe [flags]",
		Short: "start offboarding one device",
		Long: `Start offboarding one device. The plan is printed and the serial must be typed to confirm (a
wipe and a delete cannot be undone); pipelines pass --yes. A device is never offboarded twice at
once, and a device already removed is not started again.`,
		Example: `  starter start --serial F2LXK0A1HG7J --enrollment ade --wipe --contact user@example.com
  starter start --serial F2LXK0A1HG7J --enrollment manual --no-wipe --mode operator --yes --wait`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	rf.register(fs)
	fs.StringVar(&mode, "mode", "", "console mode for this device: automated | operator (default: the worker's CONSOLE_MODE)")
	fs.StringVar(&contact, "contact", "", "the device user's e-mail, for on-device steps and reminders")
	fs.StringVar(&by, "requested-by", envOr("USER", "starter"), "who asks (an HR ticket, your name)")
	fs.BoolVar(&yes, "yes", false, "confirm the wipe and delete without typing the serial (for pipelines)")
	fs.BoolVar(&wait, "wait", false, "wait until the device has finished and print its outcome")
	t.register(fs)
	completeRequestFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		req, plan, err := rf.plan()
		if err != nil {
			return err
		}
		serial := strings.ToUpper(strings.TrimSpace(req.Serial))
		if !yes {
			printPlan(c.stderr, serial, plan)
			if err := c.confirm(serial, plan.Path); err != nil {
				return err
			}
		}
		timing, err := t.timing()
		if err != nil {
			return err
		}
		tc, err := c.dial(ctx)
		if err != nil {
			return err
		}
		defer tc.Close()
		in := workflows.DeviceInput{Request: req, ConsoleMode: mode, Contact: contact, RequestedBy: by, Confirmed: true, Timing: timing}
		run, err := tc.ExecuteWorkflow(ctx, workflows.DeviceStartOptions(serial, plan.Path), contract.DeviceWorkflowType, in)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return alreadyStarted(ctx, tc, serial)
		}
		if err != nil {
			return fmt.Errorf("device %s: start: %w", serial, err)
		}
		fmt.Fprintf(c.stdout, "started %s (run %s): path %s\n", run.GetID(), run.GetRunID(), plan.Path)
		if !wait {
			fmt.Fprintf(c.stdout, "follow it with: starter status %s\n", serial)
			return nil
		}
		var res workflows.DeviceResult
		err = run.Get(ctx, &res)
		fmt.Fprintf(c.stdout, "device %s: %s\n", serial, res.Outcome)
		return err
	}
	return cmd
}
