// Package upgradebuild is two builds of the device workflow for the upgrade test
// (integration/upgrade_test.go), which runs each as a worker process of its own (./worker):
//
//   - build A is workflows.DeviceOffboarding as it is;
//   - build B is a later build of the same workflow type: two changes, each behind
//     workflow.GetVersion as the README's Development section prescribes. One adds an activity
//     before anything else (a device started on build A is past it, and must replay without it);
//     one adds an activity after the device's procedure ends (a device started on build A reaches
//     it on build B, and takes it).
//
// Nothing here is part of the product: the test's worker process registers it on a task queue of
// its own.
package upgradebuild

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/workflows"
)

// The change IDs of build B, distinct from the product's (plan-order-after-preflight,
// operator-checks-lost-mode, apple-coordinator, retirement-record).
const (
	ChangeIntake    = "upgrade-test-intake"
	ChangeAfterWait = "upgrade-test-after-wait"
)

// MarkActivity is the activity build B adds; its argument says which change ran it.
const MarkActivity = "UpgradeTestMark"

// The values of MarkActivity's second argument.
const (
	MarkIntake    = "intake"
	MarkAfterWait = "after-wait"
)

// BuildB is the device workflow of build B, registered under the device workflow's type name.
func BuildB(ctx workflow.Context, in workflows.DeviceInput) (workflows.DeviceResult, error) {
	if workflow.GetVersion(ctx, ChangeIntake, workflow.DefaultVersion, 1) == 1 {
		if err := mark(ctx, in.Request.Serial, MarkIntake); err != nil {
			return workflows.DeviceResult{Serial: in.Request.Serial}, err
		}
	}
	res, err := workflows.DeviceOffboarding(ctx, in)
	if err != nil {
		return res, err
	}
	if workflow.GetVersion(ctx, ChangeAfterWait, workflow.DefaultVersion, 1) == 1 {
		if err := mark(ctx, in.Request.Serial, MarkAfterWait); err != nil {
			return res, err
		}
	}
	return res, nil
}

// mark runs MarkActivity on the workflow's own task queue, the worker of build B.
func mark(ctx workflow.Context, serial, change string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second},
		Summary:             "upgrade test: " + change,
	})
	return workflow.ExecuteActivity(ctx, MarkActivity, serial, change).Get(ctx, nil)
}

// Mark is MarkActivity: the history's ActivityTaskScheduled event is what the test reads.
func Mark(ctx context.Context, serial, change string) error {
	activity.GetLogger(ctx).Info("upgrade test: build B's new activity ran", "Serial", serial, "Change", change)
	return nil
}
