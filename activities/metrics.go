package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/metrics"
)

// Offboard's metrics of outside calls (internal/metrics), through the SDK's metrics handler of the
// activity, so they reach the worker's one reporter. Outside an activity (unit tests) they are
// not recorded.

// Apple Business API endpoints, as the endpoint label names them.
const (
	appleAssignedServer = "assigned-server" // GET /v1/orgDevices/{id}/relationships/assignedServer
	appleUnassign       = "unassign"        // POST /v1/orgDeviceActivities
	appleActivity       = "activity"        // GET /v1/orgDeviceActivities/{id}
	appleServerDevices  = "server-devices"  // GET /v1/mdmServers/{id}/relationships/devices
)

// recordCommand counts a console command sent, when it is a destructive one.
func recordCommand(ctx context.Context, command string, err error) {
	if !activity.IsActivity(ctx) || !metrics.Destructive(command) {
		return
	}
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{
		metrics.LabelCommand: command, metrics.LabelResult: result(err),
	}).Counter(metrics.DestructiveCommands).Inc(1)
}

// recordApple counts one Apple Business API request, and Apple's 429 answers apart.
func recordApple(ctx context.Context, method, endpoint string, err error) {
	if !activity.IsActivity(ctx) {
		return
	}
	res := result(err)
	if applebusiness.IsRateLimited(err) {
		res = metrics.ResultRateLimited
	}
	h := activity.GetMetricsHandler(ctx)
	h.WithTags(map[string]string{metrics.LabelMethod: method, metrics.LabelEndpoint: endpoint, metrics.LabelResult: res}).
		Counter(metrics.AppleRequests).Inc(1)
	if res == metrics.ResultRateLimited {
		h.WithTags(map[string]string{metrics.LabelMethod: method, metrics.LabelEndpoint: endpoint}).
			Counter(metrics.AppleRateLimited).Inc(1)
	}
}

// result is a call's result label: ok or error (a cancelled call included).
func result(err error) string {
	if err == nil {
		return metrics.ResultOK
	}
	return metrics.ResultError
}
