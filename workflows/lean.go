package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/procedure"
)

// changeLeanLifecycle: from version 1 a device costs the engine less for the same procedure
// (docs/fleet.md, "What a device costs"). Its one GetVersion comes first in the run, so:
//
//   - the earlier changes are at their newest without a marker each (apple-coordinator 2,
//     retirement-record 1, plan-order-after-preflight 1, operator-checks-lost-mode 1): every new
//     GetVersion is a marker event and an upsert of TemporalChangeVersion, a visibility write;
//   - pre-flight reads the console and asks the Apple coordinator at once, rather than one after
//     the other: both are reads, and their answers come back in one workflow task more often than not;
//   - the search attributes are not written for what a person does not wait on: pre-flight's Apple
//     read (WaitingOn stays console: one automated step, minutes at most, unless Apple's budget holds
//     it, which is written), and a step that only tells the device's user what to do (user-wipe,
//     user-remove-mdm-profile: the wait on the user is the next step's, await-greyed-out, and that
//     is written). The status query and the current details show every step and party, as before.
//
// Histories of runs that started before it replay with every old GetVersion and write.
const changeLeanLifecycle = "lean-lifecycle"

// leanVersion reads changeLeanLifecycle, once, at the start of the run.
func (w *device) leanVersion(ctx workflow.Context) {
	w.lean = workflow.GetVersion(ctx, changeLeanLifecycle, workflow.DefaultVersion, 1) >= 1
}

// version is the device's version of an earlier change: its newest from lean-lifecycle 1 on,
// without a marker of its own; before, what the history recorded.
func (w *device) version(ctx workflow.Context, changeID string, newest workflow.Version) workflow.Version {
	if w.lean {
		return newest
	}
	return workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, newest)
}

// unwritten reports whether the current state is one the search attributes leave as they are
// (lean-lifecycle 1): a person waits on nothing in it, and it passes by itself.
func (w *device) unwritten() bool {
	if !w.lean {
		return false
	}
	switch cur, party := w.status.Current, w.status.WaitingOn; {
	case cur == procedure.Preflight && party == procedure.PartyApple:
		return !w.appleHeld // Apple's budget holds the read: that wait is written
	case cur == procedure.UserWipe || cur == procedure.UserRemoveMDMProfile:
		return party == procedure.PartyDevice // telling the user; their wait is await-greyed-out's
	}
	return false
}
