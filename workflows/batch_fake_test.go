package workflows

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
)

// batchApple is Apple Business Manager for the batch tests: activities of many devices with a
// result per device (a device not assigned to the activity's server fails), a log per activity,
// activities that stay in progress for a few reads, and POSTs whose answer is lost after they
// took effect. It counts every call, as the simulator's stats do.
type batchApple struct {
	mu          sync.Mutex
	assigned    map[string]string // serial → MDM server
	acts        map[string]*batchAct
	seq         int
	readsToDone int // reads of an activity before it completes
	postFail    int // POSTs that take effect and then answer 503
	// refuseBatches: a POST of more than one device is refused (409) and changes nothing.
	refuseBatches bool
	// pageSize is the page of the server's device list (0: Apple's largest, 1,000).
	pageSize int
	// rateLimitPosts: the next POSTs are answered 429 with retryAfter, and create nothing.
	rateLimitPosts int
	retryAfter     time.Duration
	posts          [][]string
	calls          map[string]int
	unassigned     map[string]int // serial → activities that named it
}

type batchAct struct {
	act     applebusiness.Activity
	serials []string
	reads   int
	results []applebusiness.DeviceResult
}

func newBatchApple() *batchApple {
	return &batchApple{assigned: map[string]string{}, acts: map[string]*batchAct{}, calls: map[string]int{}, unassigned: map[string]int{}}
}

func (a *batchApple) AssignedServer(_ context.Context, serial string) (string, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["assignedServer"]++
	s, ok := a.assigned[serial]
	return s, ok, nil
}

func (a *batchApple) UnassignDevices(_ context.Context, serials []string) (applebusiness.Activity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["post"]++
	if a.rateLimitPosts > 0 {
		a.rateLimitPosts--
		return applebusiness.Activity{}, &applebusiness.APIError{Status: 429, Code: "RATE_LIMIT_EXCEEDED", Title: "too many requests", RetryAfter: a.retryAfter}
	}
	if a.refuseBatches && len(serials) > 1 {
		return applebusiness.Activity{}, &applebusiness.APIError{Status: 409, Code: "ENTITY_ERROR", Title: "refused"}
	}
	a.seq++
	a.posts = append(a.posts, append([]string(nil), serials...))
	for _, s := range serials {
		a.unassigned[s]++
	}
	act := applebusiness.Activity{ID: fmt.Sprintf("batch-%d", a.seq), Status: applebusiness.ActivityInProgress,
		SubStatus: applebusiness.SubStatusSubmitted, CreatedDateTime: time.Unix(0, 0)}
	a.acts[act.ID] = &batchAct{act: act, serials: serials}
	if a.readsToDone == 0 {
		a.complete(a.acts[act.ID])
	}
	if a.postFail > 0 {
		a.postFail--
		return applebusiness.Activity{}, &applebusiness.APIError{Status: 503, Code: "SERVICE_UNAVAILABLE", Title: "unavailable"}
	}
	return act, nil
}

// complete applies an activity; the caller holds a.mu.
func (a *batchApple) complete(b *batchAct) {
	failed := 0
	for _, s := range b.serials {
		r := applebusiness.DeviceResult{Serial: s, Status: "SUCCESS"}
		if a.assigned[s] != fakeServer {
			r.Status, r.Code, r.Detail = "FAILED", "NOT_ASSIGNED_TO_SERVER", "not assigned to "+fakeServer
			failed++
		} else {
			delete(a.assigned, s)
		}
		b.results = append(b.results, r)
	}
	b.act.Status, b.act.SubStatus = applebusiness.ActivityCompleted, applebusiness.SubStatusCompletedWithSuccess
	switch {
	case failed == len(b.serials):
		b.act.Status, b.act.SubStatus = applebusiness.ActivityFailed, applebusiness.SubStatusCompletedWithFailure
	case failed > 0:
		b.act.SubStatus = applebusiness.SubStatusCompletedWithFailure
		b.act.DownloadURL = "https://blobstore.example/" + b.act.ID + "/log"
	}
}

func (a *batchApple) Activity(_ context.Context, id string) (applebusiness.Activity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["activity"]++
	b, ok := a.acts[id]
	if !ok {
		return applebusiness.Activity{}, &applebusiness.APIError{Status: 404, Code: "NOT_FOUND"}
	}
	b.reads++
	if b.act.Status == applebusiness.ActivityInProgress && b.reads >= a.readsToDone {
		a.complete(b)
	}
	return b.act, nil
}

func (a *batchApple) ActivityLog(_ context.Context, url string) ([]applebusiness.DeviceResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["log"]++
	for _, b := range a.acts {
		if b.act.DownloadURL == url {
			return b.results, nil
		}
	}
	return nil, fmt.Errorf("no log at %s", url)
}

// apiCalls counts the calls that Apple's API counts (the log is a presigned download, not one).
func (a *batchApple) apiCalls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls["assignedServer"] + a.calls["post"] + a.calls["activity"]
}

func (a *batchApple) count(serial string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.unassigned[serial]
}

func (a *batchApple) assign(serial, server string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.assigned[serial] = server
}
