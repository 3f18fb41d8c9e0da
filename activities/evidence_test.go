package activities

import (
	"errors"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/internal/evidence"
)

func TestWriteRecordIsIdempotentAndRefusesAnother(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	dir := t.TempDir()
	archive, _ := evidence.Open(filepath.Join(dir, "evidence"))
	keyFile := filepath.Join(dir, "key.pem")
	if _, err := evidence.GenerateKey(keyFile); err != nil {
		t.Fatal(err)
	}
	signer, _ := evidence.LoadSigner(keyFile)
	acts := &Evidence{Archive: archive, Signer: signer}
	env.RegisterActivity(acts)
	rec := evidence.Record{Format: evidence.Format, Serial: "SER1", RunID: "run-1", Outcome: "removed", Apple: &evidence.Apple{ActivityID: "A1"}}
	var first, again EvidenceResult
	v, err := env.ExecuteActivity(acts.WriteRecord, rec)
	if err != nil || v.Get(&first) != nil || !first.Signed || first.Existed {
		t.Fatalf("%+v %v", first, err)
	}
	v, err = env.ExecuteActivity(acts.WriteRecord, rec)
	if err != nil || v.Get(&again) != nil || !again.Existed || again.SHA256 != first.SHA256 {
		t.Fatalf("retry: %+v %v", again, err)
	}
	rec.Outcome = "cancelled"
	_, err = env.ExecuteActivity(acts.WriteRecord, rec)
	var app *temporal.ApplicationError
	if !asApp(err, &app) || app.Type() != ErrEvidenceConflict || !app.NonRetryable() {
		t.Fatalf("different record: %v", err)
	}
	_, stored, err := archive.Read(first.File)
	if err != nil || stored.Apple == nil || stored.Apple.ActivityID != "A1" || stored.Software.GoVersion == "" {
		t.Errorf("stored %+v %v", stored, err)
	}
	if rep, _ := archive.Verify(evidence.Keys(signer.Public())); !rep.OK() {
		t.Errorf("%+v", rep)
	}
}

func asApp(err error, app **temporal.ApplicationError) bool {
	return err != nil && errors.As(err, app)
}
