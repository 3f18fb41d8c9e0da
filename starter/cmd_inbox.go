package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/procedure"
)

func init() { register("", inboxCmd) }

// inboxCmd lists every device that waits on a person (an operator, vendor support, or the
// device's user past a reminder), oldest first, with what to do.
func inboxCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "devices that wait on a person, oldest first, with what to do",
		Long: `List every device that waits on a person: an operator, CLOMO support, a second person's
approval, or the device's user once reminded. A fleet's devices waiting at the same delete are one
task with one report (starter fleet complete), and a fleet waiting for approval is one item.
Oldest first, each with what to do and the command that reports it.`,
		Args: cobra.NoArgs,
	}
	out := addOutput(cmd, jsonCompact)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		tc, err := c.dial(ctx)
		if err != nil {
			return err
		}
		defer tc.Close()
		query := deviceQuery(false, nil) + " AND WaitingOn IN ('operator', 'vendor-support', 'approval', 'device')"
		rows, err := listDevices(ctx, tc, query)
		if err != nil {
			return err
		}
		items, grouped, err := fleetInboxItems(ctx, tc, func(err error) { fmt.Fprintf(c.stderr, "inbox: %v\n", err) })
		if err != nil {
			return err
		}
		if items == nil {
			items = []inboxItem{}
		}
		for _, r := range rows {
			if grouped[r.Serial] {
				continue // in its fleet's task: one report for all of them
			}
			st, err := queryStatus(ctx, tc, r.Serial)
			if err != nil {
				fmt.Fprintf(c.stderr, "inbox: %v\n", err)
				continue
			}
			if st.WaitingOn == procedure.PartyDevice && !userReminded(st) {
				continue // the device's user still has time: not a person's task yet
			}
			if st.Current == "" {
				continue
			}
			items = append(items, inboxItem{Serial: st.Serial, Step: st.Current, WaitingOn: st.WaitingOn, Since: st.Since,
				Why: st.WaitingFor, Instruction: st.Instruction, Choices: st.Choices})
		}
		slices.SortStableFunc(items, func(a, b inboxItem) int { return sinceOf(a).Compare(sinceOf(b)) })
		return out.print(c.stdout, items, func() { printInbox(c, items) })
	}
	return cmd
}

func printInbox(c *cli, items []inboxItem) {
	if len(items) == 0 {
		fmt.Fprintln(c.stdout, "Nothing waits on a person.")
		return
	}
	for _, it := range items {
		if it.Fleet != "" {
			printFleetInboxItem(c, it)
			continue
		}
		fmt.Fprintf(c.stdout, "● %s  %s  waiting on %s since %s\n  %s\n", it.Serial, it.Step, it.WaitingOn, sinceOf(it).Local().Format(time.DateTime), it.Why)
		if it.Instruction != "" {
			fmt.Fprintf(c.stdout, "%s\n", indent(plainText(it.Instruction), "    "))
		}
		if len(it.Choices) > 0 {
			fmt.Fprintf(c.stdout, "  → starter complete %s %s --outcome %s\n", it.Serial, it.Step, strings.Join(it.Choices, "|"))
		}
		fmt.Fprintln(c.stdout)
	}
}

// printFleetInboxItem prints a fleet's task for many devices, or its wait for approval.
func printFleetInboxItem(c *cli, it inboxItem) {
	what := "waits for approval"
	if it.Step != "" {
		what = fmt.Sprintf("%s  %d devices", it.Step, len(it.Serials))
	}
	fmt.Fprintf(c.stdout, "● FLEET %s  %s  waiting on %s since %s\n  %s\n", it.Fleet, what, it.WaitingOn, sinceOf(it).Local().Format(time.DateTime), it.Why)
	if len(it.Serials) > 0 {
		fmt.Fprintf(c.stdout, "  devices: %s\n", strings.Join(it.Serials, " "))
	}
	if it.Instruction != "" {
		fmt.Fprintf(c.stdout, "%s\n", indent(plainText(it.Instruction), "    "))
	}
	if it.Report != "" {
		fmt.Fprintf(c.stdout, "  → %s\n", it.Report)
	}
	fmt.Fprintln(c.stdout)
}
