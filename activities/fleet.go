package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/offboard/offboard/internal/contract"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/temporalclient"
)

// Fleet reads Temporal's own view of a fleet's running devices (visibility: the search attributes
// each device keeps up to date), so a fleet can say which step its devices are on and who they
// wait on without a signal from every device at every step.
type Fleet struct {
	Client client.Client // nil: the worker has no client for it, and a fleet shows states only
}

// CensusInput names the fleet and bounds the devices listed by name.
type CensusInput struct {
	FleetID string `json:"fleetId"`
	// DeviceType is the workflow type of the fleet's devices.
	DeviceType string `json:"deviceType"`
	// MaxListed bounds NeedPerson.
	MaxListed int `json:"maxListed,omitempty"`
}

// DeviceWait is one running device and what it waits on.
type DeviceWait struct {
	Serial    string `json:"serial"`
	Path      string `json:"path,omitempty"`
	Step      string `json:"step"`
	WaitingOn string `json:"waitingOn"`
}

// Census is what visibility shows of a fleet's running devices.
type Census struct {
	Running     int            `json:"running"`
	ByStep      map[string]int `json:"byStep,omitempty"`
	ByWaitingOn map[string]int `json:"byWaitingOn,omitempty"`
	// NeedPerson are the devices waiting on an operator or on vendor support, by serial.
	NeedPerson []DeviceWait `json:"needPerson,omitempty"`
	// Serials are the running devices, so the fleet can find one that closed without reporting.
	Serials []string `json:"serials,omitempty"`
}

// Census lists the fleet's running devices from visibility and counts them by step and by what
// they wait on.
func (f *Fleet) Census(ctx context.Context, in CensusInput) (Census, error) {
	if f == nil || f.Client == nil {
		return Census{}, temporal.NewNonRetryableApplicationError("this worker has no Temporal client for fleet censuses", ErrNotConfigured, nil)
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND FleetID = '%s'",
		strings.ReplaceAll(in.DeviceType, "'", ""), strings.ReplaceAll(in.FleetID, "'", ""))
	out := Census{ByStep: map[string]int{}, ByWaitingOn: map[string]int{}}
	var token []byte
	for {
		resp, err := f.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return Census{}, fmt.Errorf("fleet %s: list running devices: %w", in.FleetID, err)
		}
		for _, e := range resp.GetExecutions() {
			fields := e.GetSearchAttributes().GetIndexedFields()
			d := DeviceWait{Serial: temporalclient.Keyword(fields, contract.SADeviceSerial), Path: temporalclient.Keyword(fields, contract.SAOffboardPath),
				Step: temporalclient.Keyword(fields, contract.SAOffboardStep), WaitingOn: temporalclient.Keyword(fields, contract.SAWaitingOn)}
			out.Running++
			out.ByStep[d.Step]++
			out.ByWaitingOn[d.WaitingOn]++
			if d.Serial != "" {
				out.Serials = append(out.Serials, d.Serial)
			}
			if contract.WaitingOn(d.WaitingOn).NeedsPerson() && (in.MaxListed <= 0 || len(out.NeedPerson) < in.MaxListed) {
				out.NeedPerson = append(out.NeedPerson, d)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	slices.Sort(out.Serials)
	slices.SortFunc(out.NeedPerson, func(a, b DeviceWait) int { return strings.Compare(a.Serial, b.Serial) })
	return out, nil
}

// DeviceState is a device workflow as Temporal itself describes it: strongly consistent, where
// visibility (the census) may lag behind under load.
type DeviceState struct {
	WorkflowID string `json:"workflowId"`
	Running    bool   `json:"running"`
	// Status is the workflow's status: Running, Completed, Failed, Canceled, Terminated,
	// TimedOut, or NotFound.
	Status  string `json:"status"`
	FleetID string `json:"fleetId,omitempty"`
}

// DescribeDevices describes each device workflow (its latest run), so a fleet can tell a device
// that visibility has not caught up with from one that closed without telling it.
func (f *Fleet) DescribeDevices(ctx context.Context, workflowIDs []string) ([]DeviceState, error) {
	if f == nil || f.Client == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no Temporal client for fleet censuses", ErrNotConfigured, nil)
	}
	out := make([]DeviceState, 0, len(workflowIDs))
	for _, id := range workflowIDs {
		d := DeviceState{WorkflowID: id}
		desc, err := f.Client.DescribeWorkflowExecution(ctx, id, "")
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			d.Status = "NotFound"
		case err != nil:
			return nil, fmt.Errorf("describe %s: %w", id, err)
		default:
			info := desc.GetWorkflowExecutionInfo()
			d.Running = info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			d.Status = statusName(info.GetStatus())
			d.FleetID = temporalclient.Keyword(info.GetSearchAttributes().GetIndexedFields(), contract.SAFleetID)
		}
		out = append(out, d)
	}
	return out, nil
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	name := strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_")
	parts := strings.Split(strings.ToLower(name), "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}
