package procedure

import (
	"fmt"
	"slices"
	"strings"
)

// The branches of the vendor page: what a person may report for a step (Outcomes), what the
// procedure does with each report (Branch), and what an operator may choose when a wait on the
// device reaches its deadline (Escalations). The workflow runs these; it does not re-decide them.

// Choices an operator is offered at the deadline of a wait on the device, or when the console
// refused a step. Running workflows and the docs use these strings: never change them.
const (
	ChoiceKeepWaiting  = "keep-waiting"
	ChoiceConsoleWipe  = "console-wipe"
	ChoiceDeleteAnyway = "delete-anyway"
	ChoiceContinue     = "continue"
	ChoiceRetry        = "retry"
)

// Why texts of the branches that hand a delete to CLOMO support. Committed workflow histories
// carry them: never change them.
const (
	whyCertificatesAgain = "the certificates still remain after they were removed"
	whyVPPAgain          = "a VPP license still remains after the licenses were revoked"
	whyWorkSmart         = "the device is under a Work Smart configuration (ワーク・スマート構成), which CLOMO PANEL cannot delete"
)

// Outcomes lists what a person may report for a step done by hand (the complete-step update),
// done first. The orders are fixed: committed workflow histories carry them. nil for an unknown step.
func Outcomes(step StepID) []string {
	switch step {
	case DeleteManagedRecord:
		// 4-1: the vendor page gives no certificate or VPP error for a managed record.
		return []string{OutcomeDone, OutcomeWorkSmart}
	case DeleteGreyedOutRecord:
		return []string{OutcomeDone, OutcomeCertificatesRemain, OutcomeVPPLicenseRemains, OutcomeWorkSmart}
	}
	if _, ok := Describe(step); !ok {
		return nil
	}
	return []string{OutcomeDone}
}

// Branching is what the procedure does after a step answered an outcome. The zero value means
// "go on with the plan".
type Branching struct {
	Run   []StepID // steps to run first, in order
	Retry bool     // then the step is tried again
	// Party, when set (PartyVendorSupport), is who the step is handed to: the procedure waits there,
	// and automation has nothing more to try.
	Party Party
	Why   string // one line for people
}

// Branch says what follows when step answers outcome (procedure.md §4-2, §4 cautions). earlier are
// the outcomes the same step answered before in this device's run: an error branch that already
// ran once and comes back goes to CLOMO support rather than looping. An outcome the step cannot
// answer (Outcomes) is an error that lists the ones it can.
func Branch(step StepID, outcome string, earlier []string) (Branching, error) {
	valid := Outcomes(step)
	if valid == nil {
		return Branching{}, fmt.Errorf("unknown step %q", step)
	}
	if !slices.Contains(valid, outcome) {
		return Branching{}, fmt.Errorf("step %s cannot answer %q: it answers %s", step, outcome, strings.Join(valid, ", "))
	}
	again := slices.Contains(earlier, outcome)
	switch outcome {
	case OutcomeCertificatesRemain:
		if again {
			return Branching{Party: PartyVendorSupport, Why: whyCertificatesAgain}, nil
		}
		return Branching{Run: []StepID{RemoveCertificates}, Retry: true,
			Why: "certificates issued to the device remain: remove them (証明書発行済みデバイスを削除), then delete again"}, nil
	case OutcomeVPPLicenseRemains:
		if again {
			return Branching{Party: PartyVendorSupport, Why: whyVPPAgain}, nil
		}
		return Branching{Run: []StepID{RefreshLicenseCounts, RevokeVPPLicenses}, Retry: true,
			Why: "a VPP app license (device-assigned) remains: update the license counts, revoke the device's VPP licenses, then delete again"}, nil
	case OutcomeWorkSmart:
		return Branching{Party: PartyVendorSupport, Why: whyWorkSmart}, nil
	}
	return Branching{}, nil // done
}

// WaitsOnDevice reports whether step, in this plan, waits for the device to check in (and so has
// a deadline with Escalations): await-greyed-out, and the queued commands whose acknowledgement
// matters. remove-profiles waits only before a delete of the managed record (keep/ade-restricted):
// on the other paths the user's removal of the MDM profile removes the profiles anyway.
func WaitsOnDevice(step StepID, plan Result) bool {
	switch step {
	case AwaitGreyedOut, RemoveRestrictionsProfile, DisableLostMode:
		return true
	case RemoveProfiles:
		return plan.Has(DeleteManagedRecord)
	}
	return false
}

// Escalations lists the choices an operator gets when a wait on the device at step reaches its
// deadline, keep-waiting first; nil for a step that has no such wait. plan is the plan as it
// stands: pass it with the steps inserted during the run (Result.With), so a console wipe chosen
// at an earlier deadline is not offered again.
//   - await-greyed-out: keep-waiting, console-wipe (unless the plan already erases from the
//     console), delete-anyway.
//   - disable-lost-mode: keep-waiting only: never delete while lost mode may still be on.
//   - another queued command's acknowledgement: keep-waiting, continue.
func Escalations(step StepID, plan Result) []string {
	switch step {
	case AwaitGreyedOut:
		if plan.Has(ConsoleWipe) {
			return []string{ChoiceKeepWaiting, ChoiceDeleteAnyway}
		}
		return []string{ChoiceKeepWaiting, ChoiceConsoleWipe, ChoiceDeleteAnyway}
	case DisableLostMode:
		return []string{ChoiceKeepWaiting}
	case RemoveRestrictionsProfile, RemoveProfiles:
		return []string{ChoiceKeepWaiting, ChoiceContinue}
	}
	return nil
}

var choiceMeanings = map[string]string{
	ChoiceKeepWaiting: "wait as long again",
	ChoiceConsoleWipe: "erase it from the console (デバイスを初期化)",
	ChoiceDeleteAnyway: "delete the managed record now: the device keeps its MDM profile and restrictions until it is wiped; " +
		"needs the typed confirmation \"YES\" (--confirm YES)",
	ChoiceContinue: "go on without the device's acknowledgement",
	ChoiceRetry:    "try the step again once the cause is fixed",
}

// ChoiceMeaning is what a choice does, in one line for the operator who picks it; "" for an
// unknown choice.
func ChoiceMeaning(choice string) string { return choiceMeanings[choice] }
