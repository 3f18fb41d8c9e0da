package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
)

// Activation Lock (docs/apple-business.md#activation-lock). Right before §5, a device whose path
// reaches Apple Business Manager has its Activation Lock read from Apple
// (GET /v1/orgDevices/{id}/activationLockStatus, through the Apple coordinator and its GET budget),
// in the product's own step turn-off-activation-lock:
//   - NONE: nothing to turn off; the device is reusable.
//   - USER (a personal Apple Account, with Find My) or MDM (organisation-linked) on a wiped device:
//     the erase did not clear it, so nobody can set the device up again until the organisation
//     turns it off in Apple Business Manager (Apple's steps: procedure.ActivationLockReference).
//     An operator is given that task. With the device's HoldUnassignUntilUnlocked (or the
//     worker's ACTIVATION_LOCK_HOLD) §5 waits on the operator (WaitingOn=operator), and goes on
//     once the operator reports done AND Apple reads the lock off; without it the task is a
//     notification and a warning, §5 goes on, and the device ends not reusable.
//     An MDM lock is handled as a USER one: by §5 the console's record is deleted, and with it
//     the MDM's bypass code; the console's API has no Activation Lock command anyway; and Apple
//     Business Manager turns off either kind for a device the organisation owns.
//   - On a path that keeps the device (no wipe) the lock is its user's, as it should be: it is
//     recorded (not reusable), and nobody is asked to turn it off.
//
// The read comes before the unassign because unassigning does not stop Apple Business Manager
// from turning the lock off (only releasing the device does: procedure.ActivationLockInstruction
// warns of it), but holding §5 keeps the device's workflow, and its task, open until it is done.
// Reusable is derived from Apple's answer in one place (applebusiness.ActivationLock.Reusable): a
// device Apple reports locked is never reported reusable, in the status, the result, the fleet's
// view of it or the retirement record.

// changeActivationLock: runs that reached abm-unassign before the Activation Lock read existed
// replay without it.
const changeActivationLock = "activation-lock"

// ActivationLockState is the device's Activation Lock as Apple last reported it.
type ActivationLockState struct {
	IsLocked bool `json:"isLocked"`
	// LockType is Apple's MDM, USER or NONE; "" when it was not read (Note says why).
	LockType string     `json:"lockType,omitempty"`
	ReadAt   *time.Time `json:"readAt,omitempty"`
	// Reusable: Apple reported no lock. Never true for a lock Apple reports on, nor for one not read.
	Reusable bool `json:"reusable"`
	// Held: §5 waited until it was off (HoldUnassignUntilUnlocked, ACTIVATION_LOCK_HOLD).
	Held bool `json:"held,omitempty"`
	// TurnedOffBy is the operator who reported turning it off (Apple then read it off).
	TurnedOffBy string `json:"turnedOffBy,omitempty"`
	Note        string `json:"note,omitempty"`
	// NotInABM: a manually enrolled device, which Apple Business Manager does not hold, so Offboard
	// has nowhere to read its lock.
	NotInABM bool `json:"notInAbm,omitempty"`
}

// manualActivationLock is the Activation Lock of a manually enrolled device: unknown to Offboard.
func manualActivationLock() *ActivationLockState {
	return &ActivationLockState{NotInABM: true, Note: "not read: a manually enrolled device is not in Apple Business Manager, " +
		"where Offboard reads Activation Lock; check it on the device (Settings > your name > Find My) before it is reused"}
}

// ReusableLabel says in a word or two whether a device can be set up again, for a report: "yes"
// only when Apple reported its Activation Lock off.
func ReusableLabel(l *ActivationLockState) string {
	switch {
	case l != nil && l.NotInABM:
		return "unknown (not in ABM)"
	case l == nil || l.LockType == "":
		return "not checked"
	case l.Reusable:
		return "yes"
	default:
		return "no (Activation Lock " + l.LockType + ")"
	}
}

// activationLockBeforeUnassign runs turn-off-activation-lock right before abm-unassign (from
// version 1 of changeActivationLock), shown in the status where it runs. Every read goes through
// the Apple coordinator, so a device that reaches Apple by the older paths reads none.
func (w *device) activationLockBeforeUnassign(ctx workflow.Context) error {
	if w.info.AppleConfigured && !w.coordinated(ctx) {
		return nil // a run from before the Apple coordinator, the one keeper of Apple's budget: no lock read
	}
	if w.version(ctx, changeActivationLock, 1) == workflow.DefaultVersion {
		return nil
	}
	id := procedure.TurnOffActivationLock
	if st := w.stepState(id); st == StateDone || st == StateSkipped {
		return nil
	}
	w.insertStep(id, procedure.ABMUnassign)
	s := w.step(id)
	s.Section, s.Title = procedure.ActivationLockStep.Section, procedure.ActivationLockStep.Title
	return w.runStep(ctx, id)
}

// turnOffActivationLock is `turn-off-activation-lock`: read the lock, and when it is on, give an
// operator the task of turning it off in Apple Business Manager (held or not, see above).
func (w *device) turnOffActivationLock(ctx workflow.Context) (ending, error) {
	id := procedure.TurnOffActivationLock
	if !w.info.AppleConfigured {
		w.status.ActivationLock = &ActivationLockState{Note: "not read: this worker has no Apple Business API credentials"}
		w.status.Warnings = append(w.status.Warnings, "Activation Lock was not read (no Apple Business API credentials): check it in Apple Business Manager before the device is reused.")
		return skipped("not read: no Apple Business API credentials on this worker; check Activation Lock in Apple Business Manager")
	}
	w.begin(ctx, id, procedure.PartyApple, "reading Activation Lock from Apple, through the Apple coordinator")
	lock, why, err := w.readActivationLock(ctx)
	switch {
	case err != nil:
		return ending{}, err
	case lock == nil:
		w.status.ActivationLock = &ActivationLockState{Note: "not read: " + why}
		w.status.Warnings = append(w.status.Warnings, "Activation Lock could not be read from Apple ("+why+"): check it in Apple Business Manager before the device is reused.")
		return skipped("not read: " + why)
	case lock.Reusable():
		return skipped("nothing to turn off: Apple reports Activation Lock off (NONE)")
	case !w.in.Request.Wipe:
		w.status.ActivationLock.Note = "the device keeps its content on this path: its Activation Lock is its user's, and nobody is asked to turn it off"
		return skipped(fmt.Sprintf("Activation Lock is on (%s) on a device that was not wiped: recorded, not reusable; nobody is asked to turn it off", lock.LockType))
	}
	why = fmt.Sprintf("Activation Lock is on (%s) after the wipe: the device cannot be set up again until it is turned off in Apple Business Manager", lockTypeWords(lock.LockType))
	instruction := procedure.ActivationLockInstruction(w.status.Serial, lock.LockType)
	if !w.in.HoldUnassignUntilUnlocked && !w.info.ActivationLockHold {
		w.status.ActivationLock.Note = "an operator was asked to turn it off in Apple Business Manager; §5 was not held (HoldUnassignUntilUnlocked off)"
		w.status.Warnings = append(w.status.Warnings, fmt.Sprintf("Activation Lock is on (%s): the device is NOT reusable until an operator turns it off in Apple Business Manager (%s).",
			lock.LockType, procedure.ActivationLockReference))
		w.tellOperator(ctx, id, procedure.PartyOperator, why, instruction, 0)
		return skipped(fmt.Sprintf("Activation Lock on (%s): left to an operator (told, with Apple's steps); §5 not held", lock.LockType))
	}
	w.status.ActivationLock.Held = true
	for {
		r, err := w.askPerson(ctx, id, procedure.PartyOperator, why+"; abm-unassign waits for it", instruction, []string{procedure.OutcomeDone})
		if err != nil {
			return ending{}, err
		}
		w.begin(ctx, id, procedure.PartyApple, "checking with Apple that Activation Lock is off")
		lock, rwhy, err := w.readActivationLock(ctx)
		switch {
		case err != nil:
			return ending{}, err
		case lock != nil && lock.Reusable():
			w.status.ActivationLock.TurnedOffBy = r.By
			return done(fmt.Sprintf("turned off in Apple Business Manager (%s reported it); Apple reports Activation Lock off (NONE)", r.By))
		case lock == nil:
			why = fmt.Sprintf("%s reported Activation Lock off, but Apple could not be read to check it (%s): report again once Apple Business Manager shows it off", r.By, rwhy)
		default:
			why = fmt.Sprintf("%s reported Activation Lock off, but Apple still reports it on (%s): turn it off in Apple Business Manager, then report again", r.By, lockTypeWords(lock.LockType))
		}
		w.note(id, why)
	}
}

// readActivationLock asks the Apple coordinator for the device's Activation Lock, and keeps what
// Apple said in the status. A nil lock means Apple could not be read (why says what happened);
// the error is the workflow's cancellation.
func (w *device) readActivationLock(ctx workflow.Context) (*applebusiness.ActivationLock, string, error) {
	a, err := w.askApple(ctx, AppleLockRead, "reading Activation Lock through the Apple coordinator")
	if err != nil {
		return nil, "", err
	}
	if a.Outcome != AppleLockReadDone || a.ActivationLock == nil {
		return nil, orDash(a.Detail), nil
	}
	l := *a.ActivationLock
	at := l.ReadAt.UTC()
	held := w.status.ActivationLock != nil && w.status.ActivationLock.Held
	w.status.ActivationLock = &ActivationLockState{IsLocked: l.IsLocked, LockType: l.LockType, ReadAt: &at, Reusable: l.Reusable(), Held: held}
	w.note(procedure.TurnOffActivationLock, fmt.Sprintf("Apple: isLocked %t, lockType %s", l.IsLocked, l.LockType))
	return &l, "", nil
}

func lockTypeWords(lockType string) string {
	switch lockType {
	case applebusiness.LockTypeUser:
		return "USER: locked to a personal Apple Account"
	case applebusiness.LockTypeMDM:
		return "MDM: locked by the organisation's device management"
	}
	return lockType
}

// evidenceActivationLock is what the retirement record says of Activation Lock: a sentence, and
// Apple's answer when it was read. notChecked is the record's sentence for a run that reached §5
// before Offboard read Activation Lock.
func (w *device) evidenceActivationLock(notChecked string) (string, *evidence.ActivationLock) {
	st := w.status.ActivationLock
	switch {
	case st == nil && w.stepState(procedure.ABMUnassign) != StatePending && w.stepState(procedure.ABMUnassign) != "":
		return notChecked, nil
	case st == nil:
		return "not checked: Offboard reads Activation Lock right before abm-unassign, which this run did not reach (or its path has none)", nil
	case st.LockType == "":
		return st.Note, nil
	}
	e := &evidence.ActivationLock{IsLocked: st.IsLocked, LockType: st.LockType, ReadAt: utc(st.ReadAt), Reusable: st.Reusable,
		TurnedOffBy: st.TurnedOffBy, Reference: procedure.ActivationLockReference}
	read := ""
	if st.ReadAt != nil {
		read = " (read from Apple " + st.ReadAt.UTC().Format(time.RFC3339) + ")"
	}
	if st.Reusable {
		text := "NONE: not locked" + read + ": reusable"
		if st.TurnedOffBy != "" {
			text += "; turned off in Apple Business Manager, reported by " + st.TurnedOffBy
		}
		return text, e
	}
	text := lockTypeWords(st.LockType) + read + ": NOT reusable until it is turned off in Apple Business Manager"
	if st.Note != "" {
		text += " (" + st.Note + ")"
	}
	return text, e
}
