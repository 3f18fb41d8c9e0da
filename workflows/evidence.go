package workflows

import (
	"fmt"
	"regexp"
	"slices"
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

// ActivationLockNotChecked is what the record says of Activation Lock while Offboard reads none.
const ActivationLockNotChecked = "not checked: this version of Offboard does not read Activation Lock"

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
		if len(es.CommandIDs) > 0 {
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
	if wipe.Method != "none" {
		wipe.Meaning, wipe.Reference = evidence.EraseMeaning, evidence.EraseReference
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
