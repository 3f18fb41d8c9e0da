package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/applebusiness"
)

// Apple carries out §5 through Apple's Apple Business API. Its activities run on the
// apple-business task queue, rate-limited on their own.
type Apple struct {
	API applebusiness.API // nil when the worker has no Apple Business credentials
	// ServerID is this console's MDM server in Apple Business Manager.
	ServerID string
	// HoldCap bounds how long an attempt of AwaitBatch holds (0: the long-poll hold, 20 s). The
	// workflow tests, whose clock is mocked while an activity's is not, shorten it.
	HoldCap time.Duration
}

// Assignment is where Apple Business Manager assigns a device.
type Assignment struct {
	Assigned bool   `json:"assigned"`
	ServerID string `json:"serverId,omitempty"`
}

// AssignedServer reads the MDM server a device is assigned to.
func (a *Apple) AssignedServer(ctx context.Context, serial string) (Assignment, error) {
	api, err := a.api()
	if err != nil {
		return Assignment{}, err
	}
	id, assigned, err := api.AssignedServer(ctx, serial)
	recordApple(ctx, "GET", appleAssignedServer, err)
	if err != nil {
		return Assignment{}, classifyApple("read the assignment of "+serial, err)
	}
	return Assignment{Assigned: assigned, ServerID: id}, nil
}

// Unassign creates one UNASSIGN_DEVICES activity for the devices. Apple's POST is not
// idempotent: the workflow runs this with a single attempt and, after an ambiguous failure,
// re-reads the assignment before it tries again.
func (a *Apple) Unassign(ctx context.Context, serials []string) (applebusiness.Activity, error) {
	api, err := a.api()
	if err != nil {
		return applebusiness.Activity{}, err
	}
	act, err := api.UnassignDevices(ctx, serials)
	recordApple(ctx, "POST", appleUnassign, err)
	if err != nil {
		return applebusiness.Activity{}, classifyApple(fmt.Sprintf("unassign %v", serials), err)
	}
	return act, nil
}

// AwaitActivity succeeds once an Apple Business activity has reached a final status; until then
// it fails with ErrNotYet and is retried at the poll interval.
func (a *Apple) AwaitActivity(ctx context.Context, id string) (applebusiness.Activity, error) {
	act, err := a.ReadActivity(ctx, id)
	if err != nil {
		return act, err
	}
	if !act.Final() {
		return act, notYet("apple business activity %s is %s", id, act.Status)
	}
	return act, nil
}

func (a *Apple) api() (applebusiness.API, error) {
	if a == nil || a.API == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			"this worker has no Apple Business credentials (APPLE_CLIENT_ID, APPLE_KEY_ID, APPLE_PRIVATE_KEY_FILE, APPLE_SERVER_ID)",
			ErrNotConfigured, nil)
	}
	return a.API, nil
}
