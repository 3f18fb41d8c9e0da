package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/applebusiness"
)

// appleActivationLock names GET /v1/orgDevices/{id}/activationLockStatus in the metrics.
const appleActivationLock = "activation-lock"

// ActivationLock reads a device's Activation Lock status (one GET of Apple's budget: the Apple
// coordinator runs it, inside the budget, with a single attempt).
func (a *Apple) ActivationLock(ctx context.Context, serial string) (applebusiness.ActivationLock, error) {
	api, err := a.api()
	if err != nil {
		return applebusiness.ActivationLock{}, err
	}
	reader, ok := api.(applebusiness.ActivationLockReader)
	if !ok {
		return applebusiness.ActivationLock{}, temporal.NewNonRetryableApplicationError(
			"this worker's Apple Business client cannot read Activation Lock", ErrNotConfigured, nil)
	}
	l, err := reader.ActivationLockStatus(ctx, serial)
	recordApple(ctx, "GET", appleActivationLock, err)
	if err != nil {
		return l, classifyApple("read the Activation Lock status of "+serial, err)
	}
	return l, nil
}
