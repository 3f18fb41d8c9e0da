package workflows

import (
	"github.com/offboard/offboard/internal/contract"
	"go.temporal.io/sdk/workflow"
)

// The fleet's device list lives in ONE place: the start event of a small companion workflow,
// FleetDeviceList (ID fleet-<FLEET-ID>/devices), which the fleet's first run starts and which
// stays open while the fleet starts devices. Every run of the fleet reads the list from it a page
// at a time (a signal each way), so a continue-as-new carries only the cursor and the counts, and
// no run's history holds more than a page of devices beyond the first run's input.
const (
	FleetDeviceListType = "FleetDeviceList"
	// QueryDevicePage reads a page of the list: arguments offset and limit.
	QueryDevicePage   = "page"
	signalPageRequest = "page-request" // fleet → list
	signalDevicePage  = "device-page"  // list → fleet
	signalListClose   = "close"        // fleet → list: every device has been started, or the fleet ended
)

// FleetDeviceListID is the workflow ID of a fleet's device list. The slash keeps it apart from
// every fleet's own ID (fleet IDs have none).
func FleetDeviceListID(fleetID string) string { return contract.FleetWorkflowID(fleetID) + "/devices" }

// FleetDeviceListInput is the validated fleet file.
type FleetDeviceListInput struct {
	FleetID string        `json:"fleetId"`
	Devices []FleetDevice `json:"devices"`
}

// PageRequest asks the list for the devices from Offset on.
type PageRequest struct {
	RequestID string `json:"requestId"`
	Offset    int    `json:"offset"`
	Limit     int    `json:"limit"`
	ReplyTo   string `json:"replyTo"`
}

// DevicePage is the list's answer.
type DevicePage struct {
	RequestID string        `json:"requestId"`
	Offset    int           `json:"offset"`
	Total     int           `json:"total"`
	Devices   []FleetDevice `json:"devices"`
}

// FleetDeviceList hands out pages of a fleet's device list until the fleet closes it.
func FleetDeviceList(ctx workflow.Context, in FleetDeviceListInput) error {
	logger := workflow.GetLogger(ctx)
	page := func(offset, limit int) []FleetDevice {
		offset = min(max(offset, 0), len(in.Devices))
		if limit <= 0 {
			limit = defaultPageSize
		}
		return in.Devices[offset:min(offset+limit, len(in.Devices))]
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryDevicePage, func(offset, limit int) ([]FleetDevice, error) {
		return page(offset, limit), nil
	}, workflow.QueryHandlerOptions{Description: "the fleet's devices from offset on, at most limit of them"}); err != nil {
		return err
	}
	requests := workflow.GetSignalChannel(ctx, signalPageRequest)
	closing := workflow.GetSignalChannel(ctx, signalListClose)
	reply := func(r PageRequest) {
		p := DevicePage{RequestID: r.RequestID, Offset: r.Offset, Total: len(in.Devices), Devices: page(r.Offset, r.Limit)}
		if err := workflow.SignalExternalWorkflow(ctx, r.ReplyTo, "", signalDevicePage, p).Get(ctx, nil); err != nil {
			logger.Warn("page not delivered", "fleet", in.FleetID, "offset", r.Offset, "error", err)
		}
	}
	for {
		closed := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(requests, func(c workflow.ReceiveChannel, _ bool) {
			var r PageRequest
			c.Receive(ctx, &r)
			reply(r)
		})
		sel.AddReceive(closing, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); closed = true })
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if closed {
			for {
				var r PageRequest
				if !requests.ReceiveAsync(&r) {
					return nil
				}
				reply(r)
			}
		}
	}
}
