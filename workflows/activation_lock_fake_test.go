package workflows

import (
	"context"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
)

// ActivationLockStatus answers as Apple's activationLockStatus: NONE unless the test set a lock;
// a wipe leaves it as it is (it is Apple's, not the device's).
func (f *fakeWorld) ActivationLockStatus(_ context.Context, serial string) (applebusiness.ActivationLock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lockGETs[serial]++
	if f.lock429 > 0 {
		f.lock429--
		return applebusiness.ActivationLock{}, &applebusiness.APIError{Status: 429, Code: "RATE_LIMIT_EXCEEDED", Title: "too many requests", RetryAfter: 3 * time.Minute}
	}
	typ := f.locks[serial]
	if typ == fakeLockServerError {
		return applebusiness.ActivationLock{}, &applebusiness.APIError{Status: 500, Code: "UNEXPECTED_ERROR", Title: "internal-only lock state"}
	}
	if typ == "" {
		typ = applebusiness.LockTypeNone
	}
	return applebusiness.ActivationLock{Serial: serial, IsLocked: typ != applebusiness.LockTypeNone, LockType: typ, ReadAt: time.Now().UTC()}, nil
}

// fakeLockServerError as a device's lock makes every read of it fail with a 500, as Apple's does
// for a device in an internal-only lock state.
const fakeLockServerError = "500"

// setLock sets (or, with "", turns off) a device's Activation Lock, as a person in Apple Business
// Manager would.
func (f *fakeWorld) setLock(serial, typ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locks[serial] = typ
}

func (f *fakeWorld) lockReads(serial string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lockGETs[serial]
}
