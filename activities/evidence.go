package activities

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

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
}

// EvidenceResult says where the record went.
type EvidenceResult struct {
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Signed  bool   `json:"signed"`
	Existed bool   `json:"existed,omitempty"` // a retry: the same record was already there
}

// WriteRecord adds the worker's software version to the record, then appends it to the archive.
// The serial's line of the Apple activity's log comes in the record, from the Apple coordinator,
// which read the log (a presigned download, no API call): a read here would spend Apple's request
// budget outside the coordinator.
// Writing the same record of a run again is a success that changes nothing; a different record of
// a run already recorded is refused (ErrEvidenceConflict, not retried).
func (e *Evidence) WriteRecord(ctx context.Context, rec evidence.Record) (EvidenceResult, error) {
	if e == nil || e.Archive == nil {
		return EvidenceResult{}, temporal.NewNonRetryableApplicationError("this worker has no evidence archive (EVIDENCE_DIR)", ErrNotConfigured, nil)
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
	// The anchor (the chain's newest record as the head names it) in the worker's log, outside the
	// archive: a copy of the head that putting an older HEAD back cannot change (docs/evidence.md).
	activity.GetLogger(ctx).Info("retirement record written", "serial", rec.Serial, "file", name, "existed", existed,
		"anchor", fmt.Sprintf("%d:%s", env.Seq, env.SHA256))
	return EvidenceResult{File: name, SHA256: env.SHA256, Signed: env.Signature != "", Existed: existed}, nil
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
