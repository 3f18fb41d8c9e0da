package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/applebusiness"
)

// The coordinator's Activation Lock reads. Apple documents the status for one device a request
// (GET /v1/orgDevices/{id}/activationLockStatus: no list endpoint carries it), so each device
// costs one GET, and every one goes through the coordinator's GET budget with the assignment
// reads and the activity polls: a fleet's lock reads never push the organisation past Apple's
// ~20 GETs a minute, and a 429's Retry-After holds them with every other GET.
const signalAppleLockRequest = "apple-lock-request" // device → coordinator: an AppleLockRead

// AppleLockReadDone is the outcome of an answered Activation Lock read (AppleAnswer.ActivationLock).
const AppleLockReadDone = "activation-lock-read"

// maxLockReadTries bounds the reads of one device's lock that fail with an error that may pass
// (5xx, timeouts): Apple notes the request can fail with a server error for a device that reports
// an internal-only lock state, which no retry cures. The device is then told the read failed.
const maxLockReadTries = 3

// serveLocks answers the Activation Lock reads: gathered for a moment, like the assignment
// reads, then one GET each inside the budget.
func (c *coordinator) serveLocks(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(c.locks) > 0 }); err != nil {
			return
		}
		if wait := c.lockAt.Sub(workflow.Now(ctx)); wait > 0 {
			if err := workflow.Sleep(ctx, wait); err != nil {
				return
			}
		}
		rs := c.locks
		c.locks = nil
		c.busy++ // a continue-as-new must not drop these: they are in no queue now
		answers := make([]AppleAnswer, len(rs))
		for i, r := range rs {
			a, err := c.readLock(ctx, r.Serial)
			if err != nil {
				c.busy--
				return // cancelled
			}
			answers[i] = a
		}
		c.tell(ctx, rs, answers)
		c.busy--
	}
}

// readLock reads one device's Activation Lock; an error is the workflow's cancellation only.
func (c *coordinator) readLock(ctx workflow.Context, serial string) (AppleAnswer, error) {
	var l applebusiness.ActivationLock
	err := c.get(ctx, "read Activation Lock of "+serial, appleActs.ActivationLock, serial, &l)
	for try := 1; err != nil && retryable(err) && ctx.Err() == nil && try < maxLockReadTries; try++ {
		c.logger.Warn("Activation Lock not read: reading again", "serial", serial, "error", err)
		err = c.get(ctx, "read Activation Lock of "+serial, appleActs.ActivationLock, serial, &l)
	}
	switch {
	case ctx.Err() != nil:
		return AppleAnswer{}, ctx.Err()
	case err != nil:
		c.totals.Failed++
		return AppleAnswer{Outcome: AppleFailed, Detail: fmt.Sprintf("Apple's Activation Lock status could not be read: %s", errMessage(err))}, nil
	}
	c.totals.LockReads++
	return AppleAnswer{Outcome: AppleLockReadDone, ActivationLock: &l}, nil
}
