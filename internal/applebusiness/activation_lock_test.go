package applebusiness

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// activationLock answers as Apple's "Get the Activation Lock Status for a Device" does.
func (f *fakeApple) activationLock(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	doc, ok := f.locks[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		appleError(w, 404, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'orgDevices' with id '"+r.PathValue("id")+"'")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, doc)
}

// The wire format is Apple's documented example (developer.apple.com, "Get the Activation Lock
// Status for a Device"), for each lock type of ActivationLockType.
func TestActivationLockStatusReadsApplesAnswer(t *testing.T) {
	c, fake := newTestClient(t)
	doc := func(serial, locked, typ string) string {
		return `{"data":{"type":"activationLockStatus","id":"` + serial + `","attributes":{"isLocked":` + locked + `,"lockType":"` + typ + `"}},` +
			`"links":{"self":"https://api-business.apple.com/v1/orgDevices/` + serial + `/activationLockStatus"}}`
	}
	fake.locks["C39J8W1H3VG5"] = doc("C39J8W1H3VG5", "true", "MDM")
	fake.locks["USERLOCKED1"] = doc("USERLOCKED1", "true", "USER")
	fake.locks["FREE1"] = doc("FREE1", "false", "NONE")
	fake.locks["NOTYPE1"] = `{"data":{"type":"activationLockStatus","id":"NOTYPE1","attributes":{"isLocked":true}}}`
	fake.locks["NOFLAG1"] = `{"data":{"type":"activationLockStatus","id":"NOFLAG1","attributes":{"lockType":"NONE"}}}`
	fake.locks["WRONG1"] = `{"data":{"type":"mdmServers","id":"X","attributes":{"isLocked":false,"lockType":"NONE"}}}`
	ctx := context.Background()
	for _, tc := range []struct {
		serial   string
		locked   bool
		typ      string
		reusable bool
	}{
		{"C39J8W1H3VG5", true, LockTypeMDM, false},
		{"USERLOCKED1", true, LockTypeUser, false},
		{"FREE1", false, LockTypeNone, true},
		{"NOTYPE1", true, "UNKNOWN", false},
	} {
		l, err := c.ActivationLockStatus(ctx, tc.serial)
		if err != nil {
			t.Fatalf("%s: %v", tc.serial, err)
		}
		if l.Serial != tc.serial || l.IsLocked != tc.locked || l.LockType != tc.typ || l.Reusable() != tc.reusable || l.ReadAt.IsZero() {
			t.Errorf("%s: %+v reusable %t, want locked %t type %s reusable %t", tc.serial, l, l.Reusable(), tc.locked, tc.typ, tc.reusable)
		}
	}
	// An answer without isLocked, or of another type, is an error: never read as "not locked".
	for _, serial := range []string{"NOFLAG1", "WRONG1"} {
		if l, err := c.ActivationLockStatus(ctx, serial); err == nil {
			t.Errorf("%s: %+v, want an error", serial, l)
		}
	}
	_, err := c.ActivationLockStatus(ctx, "UNKNOWN1")
	if !IsNotFound(err) {
		t.Errorf("unknown serial: %v, want Apple's 404", err)
	}
	if _, err := c.ActivationLockStatus(ctx, " "); err == nil {
		t.Error("an empty serial was sent")
	}
}

func TestActivationLockStatusPassesApples429On(t *testing.T) {
	c, fake := newTestClient(t)
	fake.fault = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "7")
		appleError(w, 429, "RATE_LIMIT_EXCEEDED", "rate limited", "slow down")
		return true
	}
	_, err := c.ActivationLockStatus(context.Background(), "FREE1")
	if d, ok := RetryAfter(err); !IsRateLimited(err) || !ok || d.Seconds() != 7 {
		t.Errorf("429: %v (retry after %v), want a rate-limit error with Apple's Retry-After", err, d)
	}
}
