package main

import (
	"context"
	"fmt"
	"strings"
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

// inboxItem is one device that needs a person.
type inboxItem struct {
	Serial      string           `json:"serial"`
	Step        procedure.StepID `json:"step"`
	WaitingOn   procedure.Party  `json:"waitingOn"`
	Since       *time.Time       `json:"since,omitempty"`
	Why         string           `json:"why"`
	Instruction string           `json:"instruction,omitempty"`
	Choices     []string         `json:"choices,omitempty"`
	// Fleet names the fleet of a task for many devices (Serials, one report: Report) or of a
	// fleet that waits for a second person's approval; Serial is then "".
	Fleet   string   `json:"fleet,omitempty"`
	Serials []string `json:"serials,omitempty"`
	Report  string   `json:"report,omitempty"`
}

// fleetInboxItems reads every running fleet's progress: a fleet that waits for approval is one
// item, and so is each task many of its devices wait at (CLOMO PANEL's multi-select). grouped
// holds the serials those tasks cover, so their devices are not listed once more on their own.
func fleetInboxItems(ctx context.Context, tc client.Client, warn func(error)) (items []inboxItem, grouped map[string]bool, err error) {
	grouped = map[string]bool{}
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", contract.FleetWorkflowType)
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, nil, fmt.Errorf("list fleets (%s): %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			id := strings.TrimPrefix(e.GetExecution().GetWorkflowId(), "fleet-")
			p, err := queryFleet(ctx, tc, id)
			if err != nil {
				warn(err)
				continue
			}
			if a := p.Approval; a != nil && a.ApprovedBy == "" && p.WaitingOn == string(contract.WaitingOnApproval) {
				since := e.GetStartTime().AsTime()
				items = append(items, inboxItem{Fleet: id, WaitingOn: contract.WaitingOnApproval, Since: &since,
					Why:    fmt.Sprintf("%d wipes, past the threshold of %d: a second person (not %s) approves before any device starts", a.Wipes, a.Threshold, a.StartedBy),
					Report: fmt.Sprintf("starter fleet approve %s --by <name>", id)})
			}
			for _, t := range p.Tasks {
				since := t.Since
				items = append(items, inboxItem{Fleet: id, Step: t.Step, WaitingOn: contract.WaitingOnOperator, Since: &since,
					Why: fmt.Sprintf("%s (%s) for %d devices at once", t.Title, t.Section, len(t.Serials)), Instruction: t.Instruction,
					Choices: t.Outcomes, Serials: t.Serials, Report: t.Report})
				for _, s := range t.Serials {
					grouped[s] = true
				}
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return items, grouped, nil
		}
	}
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
