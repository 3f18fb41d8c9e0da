package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
)

var evidenceActs *activities.Evidence

// versionRetirementRecord: runs that reached their end before the retirement record existed
// replay without it.
const versionRetirementRecord = "retirement-record"

// ActivationLockNotChecked is what the record says of Activation Lock when the run reached §5
// without reading it: it began before Offboard read Activation Lock (activation_lock.go).
const ActivationLockNotChecked = "not checked: this run began before Offboard read Activation Lock"

// recordEvidence writes the device's retirement record (docs/evidence.md) however the run ended:
// one activity on the offboarding queue, retried until the archive takes it. ctx is the run's
// disconnected context, so a cancelled run is recorded too. A record the archive refuses (a
// different record of this run is already there) is logged and shown as a warning; the run ends.
func (w *device) recordEvidence(ctx workflow.Context, r DeviceResult) {
	if w.version(ctx, versionRetirementRecord, 1) == workflow.DefaultVersion {
		return
	}
	rec := w.evidenceRecord(ctx, r)
	opts := workflow.GetActivityOptions(callOptions(ctx, contract.TaskQueue, "retirement record "+rec.Serial))
	// A worker without the activity (an older binary during a rolling deploy, a test that does
	// not register it) fails it at once instead of retrying for ever: the run ends with a warning
	// that says the record was not written, and the log says why (docs/evidence.md).
	opts.RetryPolicy.NonRetryableErrorTypes = append(slices.Clone(opts.RetryPolicy.NonRetryableErrorTypes), errActivityNotRegistered)
	var out activities.EvidenceResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), evidenceActs.WriteRecord, rec).Get(ctx, &out)
	if err != nil {
		w.logger.Error("retirement record not written", "error", err)
		w.status.Warnings = append(w.status.Warnings, "The retirement record was not written: "+errMessage(err))
		return
	}
	w.logger.Info("retirement record written", "file", out.File, "signed", out.Signed)
}

// errActivityNotRegistered is the SDK's error type for an activity the worker does not have.
const errActivityNotRegistered = "ActivityNotRegisteredError"

// commandID finds the console's command IDs in a step's note ("command c-1 queued", "delete c-2 accepted").
// (the notes of consoleCommand and deleteRecord).
var commandID = regexp.MustCompile(`(?:^|; )(?:command (\S+) [A-Za-z_-]+|delete (\S+) accepted)`)

// evidenceRecord builds the record from the status: everything is already in it, so the record
// and the status query never disagree.
func (w *device) evidenceRecord(ctx workflow.Context, r DeviceResult) evidence.Record {
	info := workflow.GetInfo(ctx)
	st := w.status
	rec := evidence.Record{
		Format: evidence.Format, Serial: st.Serial, WorkflowID: w.id, RunID: info.WorkflowExecution.RunID,
		FleetID: st.FleetID, RequestedBy: w.in.RequestedBy, ConsoleMode: st.ConsoleMode, Path: st.Path,
		Plan: []string{}, StartedAt: info.WorkflowStartTime.UTC(), EndedAt: workflow.Now(ctx).UTC(),
		Outcome: r.Outcome, Error: r.Error, Steps: []evidence.Step{}, Reports: []evidence.Report{},
		Warnings: append([]string{}, r.Warnings...), ActivationLock: ActivationLockNotChecked,
	}
	for _, s := range st.Steps {
		rec.Plan = append(rec.Plan, string(s.ID))
		es := evidence.Step{ID: string(s.ID), Section: s.Section, Title: s.Title, State: s.State, Attempts: s.Attempts,
			StartedAt: utc(s.StartedAt), EndedAt: utc(s.EndedAt), Note: s.Note}
		for _, m := range commandID.FindAllStringSubmatch(s.Note, -1) {
			es.CommandIDs = append(es.CommandIDs, m[1]+m[2])
		}
		// Each round of a console call carried its key, a refused one too ("the console answered …").
		if len(es.CommandIDs) > 0 || !w.operatorMode() && strings.Contains(s.Note, "the console answered") {
			for round := 1; round <= w.rounds[s.ID]+1; round++ {
				es.IdempotencyKeys = append(es.IdempotencyKeys, fmt.Sprintf("%s/%s/%d", w.id, s.ID, round))
			}
		}
		rec.Steps = append(rec.Steps, es)
	}
	ended := func(id procedure.StepID) *time.Time {
		if i := w.stepIndex(id); i >= 0 && st.Steps[i].State == StateDone {
			return utc(st.Steps[i].EndedAt)
		}
		return nil
	}
	if rec.GreyedOutAt = ended(procedure.AwaitGreyedOut); rec.GreyedOutAt == nil && w.alreadyGreyedOut {
		rec.GreyedOutAt = ended(procedure.Preflight)
	}
	if rec.RecordGoneAt = ended(procedure.DeleteGreyedOutRecord); rec.RecordGoneAt == nil {
		rec.RecordGoneAt = ended(procedure.DeleteManagedRecord)
	}
	rec.Wipe = w.evidenceWipe()
	rec.ActivationLock, rec.ActivationLockStatus = w.evidenceActivationLock(rec.ActivationLock)
	if st.AppleActID != "" {
		rec.Apple = &evidence.Apple{ActivityID: st.AppleActID}
		switch a := st.AppleActivity; {
		case a == nil:
			rec.Apple.LogNote = "the activity's log was not read on this device's path (unassigned on its own, before the Apple coordinator)"
		case a.LogLine != nil:
			rec.Apple.ActivityStatus, rec.Apple.SubStatus = a.ActivityStatus, a.SubStatus
			rec.Apple.LogLine = &evidence.LogLine{Serial: a.LogLine.Serial, Status: a.LogLine.Status, Code: a.LogLine.Code, Detail: a.LogLine.Detail}
		default:
			rec.Apple.ActivityStatus, rec.Apple.SubStatus = a.ActivityStatus, a.SubStatus
			rec.Apple.LogNote = "Apple gave no log line for the device (no downloadUrl, or the log does not list it)"
		}
	}
	for _, a := range st.Audit {
		rec.Reports = append(rec.Reports, evidence.Report{Time: a.Time.UTC(), Step: string(a.Step), By: a.By, Outcome: a.Outcome, Note: a.Note})
	}
	for _, g := range st.Destruction {
		if g.ApprovedAt != nil {
			rec.Approvals = append(rec.Approvals, evidence.Approval{Step: string(g.Step), Key: g.Key, HeldAt: g.At.UTC(),
				By: g.ApprovedBy, Time: g.ApprovedAt.UTC(), Note: g.Note})
		}
	}
	return rec
}

// evidenceWipe says how the device was erased: by its user in Settings (2-1), from the console
// (2-2), or not at all on this run.
func (w *device) evidenceWipe() *evidence.Wipe {
	req := w.in.Request
	wipe := &evidence.Wipe{Method: "none", RemoveESIM: req.RemoveESIM, ReturnToService: req.ReturnToService}
	for _, c := range []struct {
		id     procedure.StepID
		method string
	}{{procedure.ConsoleWipe, "console-erase"}, {procedure.UserWipe, "user-settings"}} {
		if i := w.stepIndex(c.id); i >= 0 && (wipe.Method == "none" || w.status.Steps[i].State == StateDone) {
			wipe.Method, wipe.Step, wipe.State = c.method, string(c.id), w.status.Steps[i].State
		}
	}
	switch {
	case wipe.Method == "none":
		wipe.Meaning = evidence.NoEraseMeaning
	case wipe.State == StateDone:
		wipe.Meaning, wipe.Reference = evidence.EraseMeaning, evidence.EraseReference
		// When the erase was evidenced: 2-2 the device acknowledged EraseDevice (console-wipe's
		// end); 2-1 the device showed greyed-out after its user erased it.
		evidenced := procedure.ConsoleWipe
		if wipe.Method == "user-settings" {
			evidenced = procedure.AwaitGreyedOut
		}
		if i := w.stepIndex(evidenced); i >= 0 && w.status.Steps[i].State == StateDone {
			wipe.ErasedAt = utc(w.status.Steps[i].EndedAt)
		}
		if i := w.stepIndex(procedure.ConsoleWipe); wipe.Method == "console-erase" && !w.operatorMode() && commandID.MatchString(w.status.Steps[i].Note) {
			wipe.Confirmation = "YES" // Offboard's EraseDevice carried it (consoleWipe)
		}
	default:
		wipe.Meaning = "not erased: the wipe step " + wipe.Step + " ended " + wipe.State + ", so this run did not erase the device"
	}
	return wipe
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
