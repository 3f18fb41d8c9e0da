package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
)

// rateLimitedConsole answers the first read of each device with 429 and a Retry-After.
type rateLimitedConsole struct {
	console.API
	mu    sync.Mutex
	after time.Duration
	told  map[string]bool
}

func (c *rateLimitedConsole) Device(ctx context.Context, serial string) (console.Device, error) {
	c.mu.Lock()
	first := !c.told[serial]
	c.told[serial] = true
	c.mu.Unlock()
	if first {
		return console.Device{}, &console.APIError{Status: 429, Code: console.CodeRateLimited, Message: "slow down", RetryAfter: c.after}
	}
	return c.API.Device(ctx, serial)
}

// A 429 from an outside system is retried after its Retry-After, not sooner, whatever the
// activity's own back-off: the console's and Apple's (their classification sets the delay).
func TestRetryAfterIsHonoured(t *testing.T) {
	for name, after := range map[string]time.Duration{"console": 7 * time.Second, "apple": 11 * time.Second} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, contract.ModeAutomated)
			h.env = h.ts.NewTestWorkflowEnvironment()
			h.env.RegisterWorkflow(DeviceOffboarding)
			withCoordinator(h.env)
			cons := console.API(h.world)
			var apple applebusiness.API = h.world
			if name == "console" {
				cons = &rateLimitedConsole{API: h.world, after: after, told: map[string]bool{}}
			} else {
				apple = &rateLimitedApple{API: h.world, after: after}
			}
			h.env.RegisterActivity(&activities.Console{API: cons})
			h.env.RegisterActivity(&activities.Apple{API: apple, ServerID: fakeServer, HoldCap: time.Millisecond})
			h.env.RegisterActivity(&activities.Notify{Notifier: h.world})
			h.env.RegisterActivity(testEvidence(t))
			h.env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{ConsoleMode: contract.ModeAutomated, AppleConfigured: true, AppleServerID: fakeServer, ConsoleSafetyNetPoll: fakeSafetyNet}})
			want := "ReadDevice"
			if name == "apple" {
				want = "AssignedServer"
			}
			var starts []time.Time
			h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.ActivityType.Name == want && len(starts) < 2 {
					starts = append(starts, h.env.Now())
				}
			})
			h.world.add("RATE00001", "ade")
			h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: contract.DeviceWorkflowID("RATE00001")})
			h.env.ExecuteWorkflow(DeviceOffboarding, DeviceInput{Request: procedure.Request{Serial: "RATE00001", Enrollment: procedure.ADE, Wipe: true}, Confirmed: true})
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if len(starts) != 2 {
				t.Fatalf("%s started %d times, want the 429 and its retry", want, len(starts))
			}
			if gap := starts[1].Sub(starts[0]); gap < after {
				t.Errorf("%s retried %s after the 429, want at least its Retry-After %s", want, gap, after)
			}
		})
	}
}

// rateLimitedApple answers the first assignment read with 429 and a Retry-After.
type rateLimitedApple struct {
	applebusiness.API
	mu    sync.Mutex
	after time.Duration
	told  bool
}

func (a *rateLimitedApple) AssignedServer(ctx context.Context, serial string) (string, bool, error) {
	a.mu.Lock()
	first := !a.told
	a.told = true
	a.mu.Unlock()
	if first {
		return "", false, &applebusiness.APIError{Status: 429, Code: "RATE_LIMIT_EXCEEDED", RetryAfter: a.after}
	}
	return a.API.AssignedServer(ctx, serial)
}
