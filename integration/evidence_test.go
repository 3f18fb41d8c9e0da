package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

// A device run to its end through the shared stack's workers leaves a signed record in the
// stack's archive, which verifies offline and names the device's steps, its wipe and its outcome.
func TestEvidenceRecordOfARemovedDevice(t *testing.T) {
	serial := fmt.Sprintf("EVD%dREC", time.Now().UnixNano()%1000000)
	run := startDevice(t, device{name: "evidence", spec: quick(simulator.DeviceSpecFor(serial, "ade")),
		req: procedure.Request{Serial: serial, Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.DeviceResult
	if err := run.Get(ctx, &res); err != nil || res.Outcome != workflows.OutcomeRemoved {
		t.Fatalf("%s: %+v %v", serial, res, err)
	}
	cfg := world.WorkerConfig()
	archive := &evidence.Archive{Dir: cfg.Evidence.Dir}
	pub, err := evidence.LoadPublicKey(cfg.Evidence.SigningKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := archive.Verify(evidence.Keys(pub))
	if err != nil || !rep.OK() || rep.Signed != rep.Records {
		t.Fatalf("verify %s: %+v %v", cfg.Evidence.Dir, rep, err)
	}
	rec, name, err := archive.Latest(serial)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RunID != run.GetRunID() || rec.Outcome != workflows.OutcomeRemoved || rec.Path != res.Path || filepath.Ext(name) != ".json" {
		t.Errorf("%s: %+v", name, rec)
	}
	var ids []string
	for _, s := range rec.Steps {
		ids = append(ids, s.ID)
		if s.State == workflows.StateDone && (s.StartedAt == nil && s.ID != string(procedure.Preflight) || s.EndedAt == nil) {
			t.Errorf("step %s without its times: %+v", s.ID, s)
		}
	}
	for _, want := range []procedure.StepID{procedure.Preflight, procedure.ConsoleWipe, procedure.AwaitGreyedOut, procedure.ABMUnassign} {
		if !slices.Contains(ids, string(want)) {
			t.Errorf("record lacks step %s: %v", want, ids)
		}
	}
	wipe := rec.Steps[slices.Index(ids, string(procedure.ConsoleWipe))]
	if len(wipe.CommandIDs) == 0 || len(wipe.IdempotencyKeys) == 0 || rec.Wipe == nil || rec.Wipe.Method != "console-erase" ||
		rec.Wipe.Reference != evidence.EraseReference {
		t.Errorf("wipe: %+v %+v", wipe, rec.Wipe)
	}
	if rec.GreyedOutAt == nil || rec.RecordGoneAt == nil || rec.Apple == nil || rec.Apple.ActivityID == "" || rec.Software.GoVersion == "" {
		t.Errorf("record: greyed-out %v, gone %v, apple %+v, software %+v", rec.GreyedOutAt, rec.RecordGoneAt, rec.Apple, rec.Software)
	}
	if rec.Apple != nil && rec.Apple.LogLine == nil && rec.Apple.LogNote == "" {
		t.Errorf("apple: neither a log line nor why not: %+v", rec.Apple)
	}
}
