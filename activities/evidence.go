package activities

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/evidence"
)

// ErrEvidenceConflict: the archive already holds a different record of the same workflow run.
// No retry can fix it; the archive is write-once.
const ErrEvidenceConflict = "EvidenceConflict"

// Evidence writes a device's retirement record to the evidence archive (docs/evidence.md).
type Evidence struct {
	Archive *evidence.Archive
	// Signer signs the records; nil writes them unsigned, which `starter evidence verify` reports.
	Signer *evidence.Signer
	// Apple reads the Apple activity's log for the serial's line; nil when the worker has no
	// Apple Business credentials (the record then says so).
	Apple applebusiness.API
}

// EvidenceResult says where the record went.
type EvidenceResult struct {
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Signed  bool   `json:"signed"`
	Existed bool   `json:"existed,omitempty"` // a retry: the same record was already there
}

// WriteRecord adds the serial's line of the Apple activity's log (read now, before Apple forgets
// the activity) and the worker's software version to the record, then appends it to the archive.
// Writing the same record of a run again is a success that changes nothing; a different record of
// a run already recorded is refused (ErrEvidenceConflict, not retried).
func (e *Evidence) WriteRecord(ctx context.Context, rec evidence.Record) (EvidenceResult, error) {
	if e == nil || e.Archive == nil {
		return EvidenceResult{}, temporal.NewNonRetryableApplicationError("this worker has no evidence archive (EVIDENCE_DIR)", ErrNotConfigured, nil)
	}
	if rec.Apple != nil && rec.Apple.ActivityID != "" {
		e.appleLogLine(ctx, rec.Serial, rec.Apple)
	}
	rec.Software = SoftwareVersion()
	env, name, existed, err := e.Archive.Append(rec, e.Signer)
	if errors.Is(err, evidence.ErrConflict) {
		return EvidenceResult{File: name}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("retirement record of %s run %s: %v", rec.Serial, rec.RunID, err), ErrEvidenceConflict, err)
	}
	if err != nil {
		return EvidenceResult{}, fmt.Errorf("retirement record of %s: %w", rec.Serial, err)
	}
	activity.GetLogger(ctx).Info("retirement record written", "serial", rec.Serial, "file", name, "existed", existed)
	return EvidenceResult{File: name, SHA256: env.SHA256, Signed: env.Signature != "", Existed: existed}, nil
}

// appleLogLine reads the activity, then its log, and keeps the serial's line. It never fails the
// write: what could not be read is said in LogNote.
func (e *Evidence) appleLogLine(ctx context.Context, serial string, a *evidence.Apple) {
	if e.Apple == nil {
		a.LogNote = "not read: this worker has no Apple Business credentials"
		return
	}
	act, err := e.Apple.Activity(ctx, a.ActivityID)
	recordApple(ctx, "GET", appleActivity, err)
	if err != nil {
		a.LogNote = "not read: " + err.Error()
		return
	}
	a.ActivityStatus, a.SubStatus = act.Status, act.SubStatus
	reader, ok := e.Apple.(applebusiness.ActivityLogReader)
	switch {
	case act.DownloadURL == "":
		a.LogNote = "Apple gives no log for this activity (no downloadUrl)"
		return
	case !ok:
		a.LogNote = "not read: this worker's Apple Business client cannot read activity logs"
		return
	}
	rows, err := reader.ActivityLog(ctx, act.DownloadURL)
	if err != nil {
		a.LogNote = "not read: " + err.Error()
		return
	}
	for _, r := range rows {
		if strings.EqualFold(r.Serial, serial) {
			a.LogLine = &evidence.LogLine{Serial: r.Serial, Status: r.Status, Code: r.Code, Detail: r.Detail}
			return
		}
	}
	a.LogNote = fmt.Sprintf("the activity's log (%d lines) has no line for %s", len(rows), serial)
}

// SoftwareVersion is this binary's module, version and VCS revision.
func SoftwareVersion() evidence.Software {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return evidence.Software{Version: "unknown"}
	}
	s := evidence.Software{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			s.Revision = kv.Value + s.Revision
		case "vcs.modified":
			if kv.Value == "true" {
				s.Revision += "+modified"
			}
		}
	}
	return s
}
