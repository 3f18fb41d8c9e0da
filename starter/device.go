package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/offboard/offboard/workflows"
)

// alreadyStarted says why a device's start was refused: it is being offboarded now, or its last
// run removed it (a removed device is not offboarded again).
func alreadyStarted(ctx context.Context, tc client.Client, serial string) error {
	id := contract.DeviceWorkflowID(serial)
	d, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		closed := d.GetWorkflowExecutionInfo().GetCloseTime().AsTime().Format(time.RFC3339)
		return fmt.Errorf("device %s was already removed (workflow %s completed %s): nothing was started; see `starter status %s`",
			serial, id, closed, serial)
	}
	return fmt.Errorf("device %s is already being offboarded (workflow %s): see `starter status %s`; a device is never offboarded twice at once",
		serial, id, serial)
}

// deviceArg is the one serial a device command takes (upper-cased, as the console shows it).
func deviceArg(cmd *cobra.Command, args []string) (string, error) {
	return oneSerial(cmd.Name(), args)
}

// confirm asks for the serial to be typed, as CLOMO PANEL asks for "YES".
func (c *cli) confirm(serial, path string) error {
	fmt.Fprintf(c.stderr, "\nPath %s deletes the record of %s (and wipes it on a wipe path). Type the serial to confirm: ", path, serial)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if strings.ToUpper(strings.TrimSpace(line)) != serial {
		return fmt.Errorf("device %s: not confirmed, nothing started (type the serial, or pass --yes)", serial)
	}
	return nil
}

// timingFlags shorten the waits (demo, tests); production keeps the defaults.
type timingFlags struct {
	checkInPoll, checkInDeadline, operatorReminder, consolePoll, applePoll time.Duration
	reminders                                                              string
}

func (t *timingFlags) register(fs *pflag.FlagSet) {
	d := workflows.DefaultTiming()
	fs.DurationVar(&t.checkInPoll, "checkin-poll", d.CheckInPoll, "how often a wait on the device reads the console")
	fs.DurationVar(&t.checkInDeadline, "checkin-deadline", d.CheckInDeadline, "how long the device may take before an operator is asked")
	fs.StringVar(&t.reminders, "user-reminders", "", "when to remind the device's user, from the start of the wait (e.g. 24h,72h); default 1d,3d,7d,10d")
	fs.DurationVar(&t.operatorReminder, "operator-reminder", d.OperatorReminder, "how often a person who owes a step is reminded")
	fs.DurationVar(&t.consolePoll, "console-poll", d.ConsolePoll, "how often a deletion in progress is checked")
	fs.DurationVar(&t.applePoll, "apple-poll", d.ApplePoll, "how often an Apple Business activity is checked")
}

func (t *timingFlags) timing() (workflows.Timing, error) {
	out := workflows.Timing{CheckInPoll: t.checkInPoll, CheckInDeadline: t.checkInDeadline, OperatorReminder: t.operatorReminder,
		ConsolePoll: t.consolePoll, ApplePoll: t.applePoll}
	for _, s := range strings.Split(t.reminders, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return out, fmt.Errorf("--user-reminders: %q is not a duration (e.g. 24h)", s)
		}
		out.UserReminders = append(out.UserReminders, d)
	}
	return out, nil
}

func queryStatus(ctx context.Context, tc client.Client, serial string) (workflows.DeviceStatus, error) {
	return queryWorkflow[workflows.DeviceStatus](ctx, tc, contract.DeviceWorkflowID(serial), contract.QueryStatus,
		fmt.Sprintf("device %s: no offboarding workflow (%s): start one with `starter start`", serial, contract.DeviceWorkflowID(serial)),
		"device "+serial+": status")
}

// queryWorkflow runs a query; a workflow that does not exist answers notFound, any other failure
// is prefixed with what.
func queryWorkflow[T any](ctx context.Context, tc client.Client, workflowID, query, notFound, what string) (T, error) {
	var out T
	resp, err := tc.QueryWorkflow(ctx, workflowID, "", query)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return out, errors.New(notFound)
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	return out, resp.Get(&out)
}

func printStatus(w io.Writer, st workflows.DeviceStatus, history bool) {
	fmt.Fprintf(w, "Device %s  path %s  mode %s  outcome %s\n", st.Serial, st.Path, st.ConsoleMode, st.Outcome)
	if st.Current != "" {
		fmt.Fprintf(w, "Now: %s, waiting on %s", st.Current, st.WaitingOn)
		if st.Since != nil {
			fmt.Fprintf(w, " since %s", st.Since.Local().Format(time.DateTime))
		}
		if st.WaitingFor != "" {
			fmt.Fprintf(w, ": %s", st.WaitingFor)
		}
		fmt.Fprintln(w)
	}
	if st.Error != "" {
		fmt.Fprintf(w, "Error: %s\n", st.Error)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATE\tATTEMPTS\tNOTE")
	for _, s := range st.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.ID, s.State, s.Attempts, s.Note)
	}
	_ = tw.Flush()
	if st.Instruction != "" {
		fmt.Fprintf(w, "\nWhat to do:\n%s\n", plainText(st.Instruction))
	}
	if len(st.Choices) > 0 {
		fmt.Fprintf(w, "\nReport it: starter complete %s %s --outcome %s\n", st.Serial, st.Current, strings.Join(st.Choices, "|"))
	}
	if len(st.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, warn := range st.Warnings {
			fmt.Fprintf(w, "  - %s\n", warn)
		}
	}
	if history {
		fmt.Fprintln(w, "\nHistory:")
		printTimeline(w, st)
	}
}

// printTimeline merges the steps' times and the people's reports into one timeline.
func printTimeline(w io.Writer, st workflows.DeviceStatus) {
	type entry struct {
		at   time.Time
		line string
	}
	var entries []entry
	for _, s := range st.Steps {
		if s.StartedAt != nil {
			entries = append(entries, entry{*s.StartedAt, fmt.Sprintf("%s started", s.ID)})
		}
		if s.EndedAt != nil {
			entries = append(entries, entry{*s.EndedAt, fmt.Sprintf("%s %s %s", s.ID, s.State, s.Note)})
		}
	}
	for _, a := range st.Audit {
		entries = append(entries, entry{a.Time, fmt.Sprintf("%s reported %s: %s %s", a.By, a.Step, a.Outcome, a.Note)})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.at.Compare(b.at) })
	for _, e := range entries {
		fmt.Fprintf(w, "  %s  %s\n", e.at.Local().Format(time.DateTime), strings.TrimSpace(e.line))
	}
}

// nameDevice puts the serial in front of an error that does not name the device already.
func nameDevice(serial string, err error) error {
	if strings.Contains(err.Error(), serial) {
		return err
	}
	return fmt.Errorf("device %s: %w", serial, err)
}

// markdownEscapes undoes what the Web UI's markdown needs and a terminal does not.
var markdownEscapes = strings.NewReplacer(`\[`, "[", `\]`, "]", `\*`, "*", `\_`, "_", "\\`", "`", `\(`, "(", `\)`, ")",
	`\#`, "#", `\-`, "-", `\.`, ".", `\!`, "!", `\|`, "|", "**", "", "&nbsp;", "")

// plainText renders an instruction written for the Web UI's markdown for a terminal.
func plainText(markdown string) string { return markdownEscapes.Replace(markdown) }
