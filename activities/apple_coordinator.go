package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/applebusiness"
)

// The Apple coordinator's calls (workflows.AppleCoordinator). Each is exactly one Apple Business
// API request, so the coordinator that runs them once each (no retry policy of their own) counts
// Apple's budget exactly. A 429 comes back as ErrRateLimited with Apple's Retry-After as the
// error's NextRetryDelay: the coordinator waits it out with a workflow timer, for every caller.

// ErrRateLimited: Apple answered 429. Nothing was created or read; come back after the error's
// NextRetryDelay (Apple's Retry-After).
const ErrRateLimited = "RateLimited"

// AssignedDevicesPage reads one page of the serials assigned to this console's MDM server
// (GET /v1/mdmServers/{id}/relationships/devices), from cursor ("" for the first page).
func (a *Apple) AssignedDevicesPage(ctx context.Context, cursor string) (applebusiness.DevicePage, error) {
	api, err := a.api()
	if err != nil {
		return applebusiness.DevicePage{}, err
	}
	bulk, ok := api.(devicePager)
	if !ok {
		return applebusiness.DevicePage{}, temporal.NewNonRetryableApplicationError(
			"this worker's Apple Business client cannot list an MDM server's devices", ErrNotConfigured, nil)
	}
	page, err := bulk.AssignedDevicesPage(ctx, a.ServerID, cursor, applebusiness.MaxDevicesPageLimit)
	recordApple(ctx, "GET", appleServerDevices, err)
	if err != nil {
		return page, classifyApple("list the devices of MDM server "+a.ServerID, err)
	}
	return page, nil
}

// devicePager is the part of applebusiness.BulkReader the coordinator uses: one page a call.
type devicePager interface {
	AssignedDevicesPage(ctx context.Context, serverID, cursor string, limit int) (applebusiness.DevicePage, error)
}

// ReadActivity reads an Apple Business activity once, whatever its status.
func (a *Apple) ReadActivity(ctx context.Context, id string) (applebusiness.Activity, error) {
	api, err := a.api()
	if err != nil {
		return applebusiness.Activity{}, err
	}
	act, err := api.Activity(ctx, id)
	recordApple(ctx, "GET", appleActivity, err)
	if err != nil {
		return act, classifyApple("read activity "+id, err)
	}
	return act, nil
}

// ActivityLog reads a final activity's log from its downloadUrl: a presigned URL, not an API call,
// so it costs none of Apple's request budget. Each device's own line says how it fared, and goes
// into its retirement record (Apple keeps an activity 30 days).
func (a *Apple) ActivityLog(ctx context.Context, act applebusiness.Activity) (BatchOutcome, error) {
	out := BatchOutcome{Activity: act}
	if act.DownloadURL == "" {
		return out, nil
	}
	api, err := a.api()
	if err != nil {
		return out, err
	}
	reader, ok := api.(applebusiness.ActivityLogReader)
	if !ok {
		return out, nil
	}
	rows, err := reader.ActivityLog(ctx, act.DownloadURL)
	if err != nil {
		return out, classifyApple(fmt.Sprintf("read the log of activity %s", act.ID), err)
	}
	out.LogRead = true
	out.Log = rows
	for _, r := range rows {
		if r.Succeeded() {
			out.Succeeded = append(out.Succeeded, r.Serial)
		} else {
			out.Failed = append(out.Failed, r)
		}
	}
	return out, nil
}
