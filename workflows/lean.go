package workflows

import (
	"slices"
	"time"

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
// Version 2 does the same for the changes made after version 1 (activation-lock 1,
// destruction-budget 1, watched-wait 1, fleet-grouped-steps 1): a device again records one marker
// where version 1 went on to record four (the bench counted 4.0 markers and 4.0 upserts of
// TemporalChangeVersion a device).
//
// Histories of runs that started before it replay with every old GetVersion and write.
const changeLeanLifecycle = "lean-lifecycle"

// leanImplies is, for each earlier change a device reads, the version of changeLeanLifecycle from
// which it is at its newest without a marker of its own. A change made after the newest version
// gets its own GetVersion, until a new version of changeLeanLifecycle takes it in here.
var leanImplies = map[string]workflow.Version{
	changeAppleCoordinator:   1,
	versionRetirementRecord:  1,
	changePlanOrder:          1,
	changeOperatorLostMode:   1,
	changeActivationLock:     2,
	changeDestructionBudget:  2,
	changeWatchedWait:        2,
	versionFleetGroupedSteps: 2,
}

// leanVersion reads changeLeanLifecycle, once, at the start of the run.
func (w *device) leanVersion(ctx workflow.Context) {
	w.leanV = workflow.GetVersion(ctx, changeLeanLifecycle, workflow.DefaultVersion, 2)
	w.lean = w.leanV >= 1
}

// version is the device's version of an earlier change: its newest when the run's
// lean-lifecycle version implies it (leanImplies), without a marker of its own; otherwise what
// the history recorded.
func (w *device) version(ctx workflow.Context, changeID string, newest workflow.Version) workflow.Version {
	if from, ok := leanImplies[changeID]; ok && w.leanV >= from {
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

// changeQuietShortBudgetWaits: from version 1 the Apple coordinator tells a device of a budget
// wait only when the wait is at least a quarter of the device's patience (batchPatience: 50 Apple
// polls, at least a minute; the activity itself takes minutes within it). A shorter wait is no
// news: the answer still comes within the device's patience, and each notice cost the device a
// signal, a workflow task and a new timer, and the coordinator an activity (the bench measured
// 0.8 notices an ADE device, most arriving after the wait they announced had passed). A device
// not told now is told if the wait grows.
const changeQuietShortBudgetWaits = "coordinator-quiet-short-budget-waits"

// worthTelling reports whether a device should hear that Apple's budget holds its request until at.
func (c *coordinator) worthTelling(ctx workflow.Context, r AppleRequest, at time.Time) bool {
	return !c.quiet || at.Sub(workflow.Now(ctx)) >= batchPatience(Timing{ApplePoll: r.Poll})/4
}

// untold reports whether a device waits in a batch the budget holds until at (zero: none held)
// and has not been told although it should be: it joined the batch while it was held. Before
// version 1 such a device was told when the batch was due, with a wait already over.
func (c *coordinator) untold(ctx workflow.Context, at time.Time) bool {
	if !c.quiet || at.IsZero() {
		return false
	}
	return slices.ContainsFunc(c.unassign, func(r AppleRequest) bool {
		_, told := c.notified[r.RequestID]
		return !told && c.worthTelling(ctx, r, at)
	})
}
