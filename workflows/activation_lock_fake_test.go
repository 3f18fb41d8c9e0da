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
	typ := f.locks[serial]
	if typ == "" {
		typ = applebusiness.LockTypeNone
	}
	return applebusiness.ActivationLock{Serial: serial, IsLocked: typ != applebusiness.LockTypeNone, LockType: typ, ReadAt: time.Unix(0, 0)}, nil
}

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
