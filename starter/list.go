package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/temporalclient"
	"github.com/offboard/offboard/workflows"
)

// deviceRow is one device as Temporal visibility lists it.
type deviceRow struct {
	Serial, Path, Step, WaitingOn, FleetID, Status string
	Started                                        time.Time
}

// listDevices reads devices from visibility, so it works with any number of workers and after
// restarts.
func listDevices(ctx context.Context, tc client.Client, query string) ([]deviceRow, error) {
	var rows []deviceRow
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, fmt.Errorf("list devices (%s): %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			fields := e.GetSearchAttributes().GetIndexedFields()
			rows = append(rows, deviceRow{
				Serial: temporalclient.Keyword(fields, contract.SADeviceSerial), Path: temporalclient.Keyword(fields, contract.SAOffboardPath), Step: temporalclient.Keyword(fields, contract.SAOffboardStep),
				WaitingOn: temporalclient.Keyword(fields, contract.SAWaitingOn), FleetID: temporalclient.Keyword(fields, contract.SAFleetID),
				Status: strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"), Started: e.GetStartTime().AsTime(),
			})
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return rows, nil
		}
	}
}

// deviceQuery builds a visibility query from the filters; values are quoted safely.
func deviceQuery(all bool, filters map[string]string) string {
	parts := []string{fmt.Sprintf("WorkflowType = '%s'", contract.DeviceWorkflowType)}
	if !all {
		parts = append(parts, "ExecutionStatus = 'Running'")
	}
	for _, name := range []string{contract.SAWaitingOn, contract.SAOffboardPath, contract.SAOffboardStep, contract.SAFleetID} {
		if v := filters[name]; v != "" {
			parts = append(parts, fmt.Sprintf("%s = '%s'", name, strings.ReplaceAll(v, "'", "")))
		}
	}
	return strings.Join(parts, " AND ")
}

// list prints devices, filtered by what they wait on, their path, step or fleet.
func (c *cli) list(ctx context.Context, args []string) error {
	fs := c.flags("list", "[--waiting-on W] [--path P] [--step S] [--fleet F] [--all] [--json]")
	waitingOn := fs.String("waiting-on", "", "console | device | operator | apple | vendor-support | none")
	path := fs.String("path", "", "e.g. wipe/ade, keep/manual")
	step := fs.String("step", "", "a step ID, e.g. await-greyed-out")
	fleet := fs.String("fleet", "", "a fleet ID")
	all := fs.Bool("all", false, "include finished devices")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	tc, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	rows, err := listDevices(ctx, tc, deviceQuery(*all, map[string]string{contract.SAWaitingOn: *waitingOn, contract.SAOffboardPath: *path, contract.SAOffboardStep: *step, contract.SAFleetID: *fleet}))
	if err != nil {
		return err
	}
	slices.SortFunc(rows, func(a, b deviceRow) int { return a.Started.Compare(b.Started) })
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tSTATUS\tPATH\tSTEP\tWAITING ON\tFLEET\tSTARTED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Serial, r.Status, r.Path, r.Step, r.WaitingOn, orNone(r.FleetID), r.Started.Local().Format(time.DateTime))
	}
	_ = tw.Flush()
	fmt.Fprintf(c.stdout, "%d device(s)\n", len(rows))
	return nil
}

// inboxItem is one device that needs a person.
type inboxItem struct {
	Serial      string           `json:"serial"`
	Step        procedure.StepID `json:"step"`
	WaitingOn   procedure.Party  `json:"waitingOn"`
	Since       *time.Time       `json:"since,omitempty"`
	Why         string           `json:"why"`
	Instruction string           `json:"instruction,omitempty"`
	Choices     []string         `json:"choices,omitempty"`
}

// inbox lists every device that waits on a person (an operator, vendor support, or the device's
// user past a reminder), oldest first, with what to do.
func (c *cli) inbox(ctx context.Context, args []string) error {
	fs := c.flags("inbox", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	tc, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	query := deviceQuery(false, nil) + " AND WaitingOn IN ('operator', 'vendor-support', 'device')"
	rows, err := listDevices(ctx, tc, query)
	if err != nil {
		return err
	}
	var items []inboxItem
	for _, r := range rows {
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
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(c.stdout, "Nothing waits on a person.")
		return nil
	}
	for _, it := range items {
		fmt.Fprintf(c.stdout, "● %s  %s  waiting on %s since %s\n  %s\n", it.Serial, it.Step, it.WaitingOn, sinceOf(it).Local().Format(time.DateTime), it.Why)
		if it.Instruction != "" {
			fmt.Fprintf(c.stdout, "%s\n", indent(plainText(it.Instruction), "    "))
		}
		if len(it.Choices) > 0 {
			fmt.Fprintf(c.stdout, "  → starter complete %s %s --outcome %s\n", it.Serial, it.Step, strings.Join(it.Choices, "|"))
		}
		fmt.Fprintln(c.stdout)
	}
	return nil
}

func userReminded(st workflows.DeviceStatus) bool {
	for _, s := range st.Steps {
		if s.ID == st.Current {
			return strings.Contains(s.Note, "user reminded")
		}
	}
	return false
}

func sinceOf(it inboxItem) time.Time {
	if it.Since == nil {
		return time.Time{}
	}
	return *it.Since
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
