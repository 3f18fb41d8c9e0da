package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

func init() { register("", completeCmd) }

// completeCmd reports a step a person carried out: the complete-step update.
func completeCmd(c *cli) *cobra.Command {
	var outcome, note, by, confirm string
	cmd := &cobra.Command{
		Use:   "complete <serial> <step> [--outcome done] [--note ...] [--by ...]",
		Short: "report a step a person carried out (the complete-step update)",
		Long: `Report a step a person carried out, or what the console showed instead (the complete-step
update). The workflow checks the report against the step it waits on and answers; a refusal
changes nothing.`,
		Example: `  starter complete F2LXK0A1HG7J delete-greyed-out-record
  starter complete F2LXK0A1HG7J delete-greyed-out-record --outcome vpp-license-remains --note "as shown"`,
		Args: cobra.ArbitraryArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&outcome, "outcome", procedure.OutcomeDone, "done, or what the console showed (certificates-remain, vpp-license-remains, work-smart, keep-waiting, ...)")
	fs.StringVar(&note, "note", "", "a note for the audit")
	fs.StringVar(&by, "by", envOr("USER", "operator"), "who carried the step out")
	fs.StringVar(&confirm, "confirm", "", `typed confirmation "YES", needed for delete-anyway`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return errors.New("complete needs a serial and a step, e.g. starter complete F2LXK0A1HG7J delete-greyed-out-record")
		}
		ctx := cmd.Context()
		serial := strings.ToUpper(args[0])
		tc, err := c.dial(ctx)
		if err != nil {
			return err
		}
		defer tc.Close()
		report := workflows.StepReport{Step: procedure.StepID(args[1]), By: by, Outcome: outcome, Note: note, Confirm: confirm}
		handle, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: contract.DeviceWorkflowID(serial), UpdateName: contract.UpdateCompleteStep,
			Args: []any{report}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return nameDevice(serial, err)
		}
		var ack string
		if err := handle.Get(ctx, &ack); err != nil {
			return nameDevice(serial, err)
		}
		fmt.Fprintln(c.stdout, ack)
		return nil
	}
	return cmd
}
