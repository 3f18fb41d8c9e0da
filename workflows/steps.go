package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/procedure"
)

// The step table: the code of every step ID, one hop away. Each entry lives in the file of its
// section of the vendor page: preflight.go, section2_wipe.go, section3_profiles.go,
// section4_delete.go, section5_apple.go. Every step runs through runStep, the one lifecycle that
// skips, records the end and fails a step; a step's own code only acts and waits.
var stepTable map[procedure.StepID]vendorStep

func init() {
	stepTable = map[procedure.StepID]vendorStep{
		procedure.Preflight:                 {run: (*device).preflight},
		procedure.RemoveRestrictionsProfile: {run: (*device).removeRestrictionsProfile, skip: (*device).noRestrictionsProfile},
		procedure.UserWipe:                  {run: (*device).userWipe},
		procedure.ConsoleWipe:               {run: (*device).consoleWipe},
		procedure.RemoveProfiles:            {run: (*device).removeProfiles},
		procedure.UserRemoveMDMProfile:      {run: (*device).userRemoveMDMProfile},
		procedure.AwaitGreyedOut:            {run: (*device).awaitGreyedOut},
		procedure.DisableLostMode:           {run: (*device).disableLostMode},
		procedure.DeleteManagedRecord:       {run: (*device).deleteManagedRecord},
		procedure.DeleteGreyedOutRecord:     {run: (*device).deleteGreyedOutRecord},
		procedure.RemoveCertificates:        {run: (*device).removeCertificates},
		procedure.RefreshLicenseCounts:      {run: (*device).refreshLicenseCounts},
		procedure.RevokeVPPLicenses:         {run: (*device).revokeVPPLicenses},
		procedure.ABMUnassign:               {run: (*device).abmUnassign},
		procedure.TurnOffActivationLock:     {run: (*device).turnOffActivationLock},
	}
}

// vendorStep is one entry of the step table.
type vendorStep struct {
	// run carries the step out and says how it ended; it never records the end itself.
	run func(w *device, ctx workflow.Context) (ending, error)
	// skip, when set, says why this device does not need the step ("" runs it).
	skip func(w *device) string
}

// ending is how a step ended: done or skipped, with a note for the status.
type ending struct {
	state, note string
}

func done(note string) (ending, error)    { return ending{StateDone, note}, nil }
func skipped(note string) (ending, error) { return ending{StateSkipped, note}, nil }

// runStep is the lifecycle every step shares: skip it when the facts say it already happened,
// run it, then record how it ended. A step that fails for good is recorded as failed, and its
// error ends the workflow; a cancellation passes through.
func (w *device) runStep(ctx workflow.Context, id procedure.StepID) error {
	s, ok := stepTable[id]
	if !ok {
		return fmt.Errorf("device %s: step %s has no implementation", w.status.Serial, id)
	}
	if why := w.skipReason(id, s); why != "" {
		w.finish(ctx, id, StateSkipped, why)
		return nil
	}
	end, err := s.run(w, ctx)
	if err != nil {
		if !temporal.IsCanceledError(err) && ctx.Err() == nil {
			w.finish(ctx, id, StateFailed, errMessage(err))
		}
		return err
	}
	w.finish(ctx, id, end.state, end.note)
	return nil
}

func (w *device) skipReason(id procedure.StepID, s vendorStep) string {
	if w.alreadyGreyedOut && procedure.ShownByGreyedOut(id) {
		return "the console already showed the device greyed-out at pre-flight"
	}
	if s.skip != nil {
		return s.skip(w)
	}
	return ""
}
