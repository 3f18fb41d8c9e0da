package activities

import (
	"context"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
)

// slowActivity is an Apple activity that is final after `after` reads; it records when each read came.
type slowActivity struct {
	after int
	reads []time.Time
}

func (s *slowActivity) AssignedServer(context.Context, string) (string, bool, error) {
	return "", false, nil
}
func (s *slowActivity) UnassignDevices(context.Context, []string) (applebusiness.Activity, error) {
	return applebusiness.Activity{}, nil
}
func (s *slowActivity) Activity(_ context.Context, id string) (applebusiness.Activity, error) {
	s.reads = append(s.reads, time.Now())
	act := applebusiness.Activity{ID: id, Status: applebusiness.ActivityInProgress}
	if len(s.reads) >= s.after {
		act.Status, act.SubStatus = applebusiness.ActivityCompleted, applebusiness.SubStatusCompletedWithSuccess
	}
	return act, nil
}

// One attempt waits before its first read and reads again at the poll interval until the activity
// is final, within its hold; a poll interval longer than the hold makes an attempt one read.
func TestAwaitBatchHoldsAnAttempt(t *testing.T) {
	api := &slowActivity{after: 3}
	a := &Apple{API: api, HoldCap: 2 * time.Second}
	start := time.Now()
	out, err := a.AwaitBatch(context.Background(), "ACT-1", 50*time.Millisecond, 10*time.Millisecond)
	if err != nil || !out.Activity.Succeeded() {
		t.Fatalf("AwaitBatch: %+v, %v: want the final activity in one attempt", out, err)
	}
	if len(api.reads) != 3 {
		t.Errorf("%d reads, want 3", len(api.reads))
	}
	if first := api.reads[0].Sub(start); first < 50*time.Millisecond {
		t.Errorf("first read after %s, want after the 50ms an activity just created needs", first)
	}

	api = &slowActivity{after: 3}
	a = &Apple{API: api, HoldCap: 100 * time.Millisecond}
	if _, err := a.AwaitBatch(context.Background(), "ACT-2", 0, time.Second); !IsType(err, ErrNotYet) || len(api.reads) != 1 {
		t.Errorf("poll longer than the hold: %v after %d reads, want %s after one", err, len(api.reads), ErrNotYet)
	}
}
