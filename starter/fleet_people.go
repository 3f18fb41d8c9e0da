package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

// The fleet's people commands (cmd_fleet_complete.go, cmd_fleet_approve.go parse their flags):
//
//	starter fleet complete <fleet-id> <step> --by <who> [--note ...] [--except SERIAL --outcome O [--note ...]]...
//	starter fleet approve  <fleet-id> --by <who> [--note ...]
//
// Exit status 2 on a refusal, as every refusal of the starter.

// FleetComplete reports step once for every device of the fleet's task (CLOMO PANEL's
// multi-select), the exceptions with their own outcome, and prints what each device answered.
func FleetComplete(ctx context.Context, c client.Client, out io.Writer, fleetID string, step procedure.StepID, by, outcome, note string,
	except []workflows.FleetStepException) error {
	task, err := workflows.FleetTaskNow(ctx, c, fleetID, step)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Reporting %s for %d device(s) of fleet %s: %s\n", step, len(task.Serials), fleetID, strings.Join(task.Serials, ", "))
	res, err := workflows.CompleteFleetStep(ctx, c, fleetID, workflows.FleetStepReport{Step: step, By: by, Outcome: outcome, Note: note,
		Serials: task.Serials, Except: except})
	if err != nil {
		return err
	}
	outcomes := make([]string, 0, len(res.Reported))
	for o := range res.Reported {
		outcomes = append(outcomes, o)
	}
	slices.Sort(outcomes)
	for _, o := range outcomes {
		fmt.Fprintf(out, "  %d device(s): %s\n", res.Reported[o], o)
	}
	for _, r := range res.Refused {
		fmt.Fprintf(out, "  %s did not take it: %s\n", r.Serial, r.Detail)
	}
	if len(res.Refused) > 0 {
		return fmt.Errorf("fleet %s: %d device(s) did not take the report and still wait: see `starter status <serial>`", fleetID, len(res.Refused))
	}
	return nil
}

// FleetApprove approves a fleet whose wipes wait for a second person.
func FleetApprove(ctx context.Context, c client.Client, out io.Writer, fleetID, by, note string) error {
	msg, err := workflows.ApproveFleet(ctx, c, fleetID, by, note)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, msg)
	return nil
}
