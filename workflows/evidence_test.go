package workflows

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/evidence"
	"github.com/offboard/offboard/internal/procedure"
)

// The retirement record of every path and branch of procedure.md, from real runs of the device
// workflow in the SDK's test environment, all written to one signed archive (issue 11, item 5):
// each record verifies, says what the vendor page prescribes for its path, and an edited byte, a
// removed record (in the middle and at the end) and two swapped records are each named.

// evidenceHarness is newHarness writing to the given signed archive.
func evidenceHarness(t *testing.T, mode string, archive *evidence.Archive, signer *evidence.Signer) *harness {
	h := &harness{t: t, world: newFakeWorld()}
	h.ts.SetLogger(newQuietLogger(t))
	h.env = h.ts.NewTestWorkflowEnvironment()
	h.env.RegisterWorkflow(DeviceOffboarding)
	withCoordinator(h.env)
	h.env.RegisterActivity(&activities.Console{API: h.world})
	h.env.RegisterActivity(&activities.Apple{API: h.world, ServerID: fakeServer})
	h.env.RegisterActivity(&activities.Notify{Notifier: h.world})
	h.env.RegisterActivity(&activities.Worker{Info: activities.WorkerInfo{ConsoleMode: mode, AppleConfigured: true, AppleServerID: fakeServer}})
	h.env.RegisterActivity(&activities.Evidence{Archive: archive, Signer: signer})
	return h
}

func signedArchive(t *testing.T) (*evidence.Archive, *evidence.Signer) {
	dir := t.TempDir()
	archive, err := evidence.Open(filepath.Join(dir, "evidence"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if _, err := evidence.GenerateKey(keyFile); err != nil {
		t.Fatal(err)
	}
	signer, err := evidence.LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return archive, signer
}

// report answers the workflow's person task, as starter complete-step does.
func report(h *harness, step procedure.StepID, by, outcome, note string) {
	h.env.UpdateWorkflow(contract.UpdateCompleteStep, "", &testsuite.TestUpdateCallback{
		OnReject: func(err error) { h.t.Errorf("report of %s refused: %v", step, err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
	}, StepReport{Step: step, By: by, Outcome: outcome, Note: note})
}

// pathCase is one run: a cell of the matrix or a branch, and what procedure.md says its record shows.
type pathCase struct {
	name       string
	serial     string
	req        procedure.Request
	mode       string
	setup      func(h *harness, d *fakeDevice)
	outcome    string
	vendor     []procedure.StepID // the vendor's steps, in the page's order (a subsequence of the plan)
	wipe       string             // the record's wipe method
	greyedOut  bool               // the console showed the device greyed-out (§2, §3-2): 4-2, not 4-1
	unassigned bool               // §5, ADE devices only
	reports    []string           // who reported what: "<by> <step> <outcome>"
}

func pathCases() []pathCase {
	wipeConsole := []procedure.StepID{procedure.ConsoleWipe, procedure.AwaitGreyedOut, procedure.DeleteGreyedOutRecord}
	wipeDevice := []procedure.StepID{procedure.RemoveRestrictionsProfile, procedure.UserWipe, procedure.AwaitGreyedOut, procedure.DeleteGreyedOutRecord}
	keepUser := []procedure.StepID{procedure.RemoveProfiles, procedure.UserRemoveMDMProfile, procedure.AwaitGreyedOut, procedure.DeleteGreyedOutRecord}
	keepRestricted := []procedure.StepID{procedure.RemoveProfiles, procedure.DeleteManagedRecord}
	unassign := func(steps []procedure.StepID) []procedure.StepID {
		return append(slices.Clone(steps), procedure.ABMUnassign)
	}
	req := func(serial, enrollment string, wipe bool, method procedure.WipeMethod) procedure.Request {
		return procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(enrollment), Wipe: wipe, WipeMethod: method,
			RemoveESIM: method == procedure.WipeConsole} // eSIMを削除 is an option of 2-2 only
	}
	return []pathCase{
		{name: "wipe/ade-restricted/console", serial: "EVWARC01", req: req("EVWARC01", "ade-restricted", true, procedure.WipeConsole),
			vendor: unassign(wipeConsole), wipe: "console-erase", greyedOut: true, unassigned: true},
		{name: "wipe/ade-restricted/device", serial: "EVWARD01", req: req("EVWARD01", "ade-restricted", true, procedure.WipeDevice),
			vendor: unassign(wipeDevice), wipe: "user-settings", greyedOut: true, unassigned: true},
		{name: "wipe/ade/console", serial: "EVWADC01", req: req("EVWADC01", "ade", true, procedure.WipeConsole),
			vendor: unassign(wipeConsole), wipe: "console-erase", greyedOut: true, unassigned: true},
		{name: "wipe/ade/device", serial: "EVWADD01", req: req("EVWADD01", "ade", true, procedure.WipeDevice),
			vendor: unassign(wipeDevice), wipe: "user-settings", greyedOut: true, unassigned: true},
		{name: "wipe/manual/console", serial: "EVWMAC01", req: req("EVWMAC01", "manual", true, procedure.WipeConsole),
			vendor: wipeConsole, wipe: "console-erase", greyedOut: true},
		{name: "wipe/manual/device", serial: "EVWMAD01", req: req("EVWMAD01", "manual", true, procedure.WipeDevice),
			vendor: wipeDevice, wipe: "user-settings", greyedOut: true},
		{name: "keep/ade-restricted", serial: "EVKARS01", req: req("EVKARS01", "ade-restricted", false, ""),
			vendor: unassign(keepRestricted), wipe: "none", unassigned: true},
		{name: "keep/ade", serial: "EVKADE01", req: req("EVKADE01", "ade", false, ""),
			vendor: unassign(keepUser), wipe: "none", greyedOut: true, unassigned: true},
		{name: "keep/manual", serial: "EVKMAN01", req: req("EVKMAN01", "manual", false, ""),
			vendor: keepUser, wipe: "none", greyedOut: true},
		// 4-2: certificates remain → remove them, retry the delete.
		{name: "branch/certificates-remain", serial: "EVBCRT01", req: req("EVBCRT01", "manual", true, procedure.WipeConsole),
			setup:  func(_ *harness, d *fakeDevice) { d.purgeErrors = []string{console.CodeCertificatesRemain} },
			vendor: []procedure.StepID{procedure.ConsoleWipe, procedure.AwaitGreyedOut, procedure.RemoveCertificates, procedure.DeleteGreyedOutRecord},
			wipe:   "console-erase", greyedOut: true},
		// 4-2: a VPP license remains → update the license counts, revoke, retry the delete.
		{name: "branch/vpp-license-remains", serial: "EVBVPP01", req: req("EVBVPP01", "ade", true, procedure.WipeConsole),
			setup: func(_ *harness, d *fakeDevice) { d.purgeErrors = []string{console.CodeVPPLicenseRemains} },
			vendor: []procedure.StepID{procedure.ConsoleWipe, procedure.AwaitGreyedOut, procedure.RefreshLicenseCounts, procedure.RevokeVPPLicenses,
				procedure.DeleteGreyedOutRecord, procedure.ABMUnassign},
			wipe: "console-erase", greyedOut: true, unassigned: true},
		// 4-2: the VPP license survives the revoke → vendor support deletes it; a person reports it.
		{name: "branch/vpp-license-vendor-support", serial: "EVBVEN01", req: req("EVBVEN01", "manual", true, procedure.WipeConsole),
			setup: func(h *harness, d *fakeDevice) {
				d.purgeErrors = []string{console.CodeVPPLicenseRemains, console.CodeVPPLicenseRemains, console.CodeVPPLicenseRemains}
				h.env.RegisterDelayedCallback(func() {
					h.world.mu.Lock()
					delete(h.world.devices, "EVBVEN01") // CLOMO support deletes it
					h.world.mu.Unlock()
					report(h, procedure.DeleteGreyedOutRecord, "alice", procedure.OutcomeDone, "CLOMO support ticket 4711")
				}, 3*24*time.Hour)
			},
			vendor: []procedure.StepID{procedure.ConsoleWipe, procedure.AwaitGreyedOut, procedure.RefreshLicenseCounts, procedure.RevokeVPPLicenses, procedure.DeleteGreyedOutRecord},
			wipe:   "console-erase", greyedOut: true,
			reports: []string{"alice delete-greyed-out-record done"}},
		// Work Smart (ワーク・スマート構成): the console cannot delete it → vendor support; a person reports it.
		{name: "branch/work-smart", serial: "EVBWSM01", req: procedure.Request{Serial: "EVBWSM01", Enrollment: procedure.ADERestricted, WorkSmart: true},
			setup: func(h *harness, d *fakeDevice) {
				d.WorkSmart = true
				h.env.RegisterDelayedCallback(func() {
					h.world.mu.Lock()
					delete(h.world.devices, "EVBWSM01")
					h.world.mu.Unlock()
					report(h, procedure.DeleteManagedRecord, "bob", procedure.OutcomeDone, "deleted by CLOMO support")
				}, 2*24*time.Hour)
			},
			vendor: unassign(keepRestricted), wipe: "none", unassigned: true,
			reports: []string{"bob delete-managed-record done"}},
		// Lost mode (紛失モード) on a path that deletes without wiping: turned off first.
		{name: "branch/lost-mode", serial: "EVBLST01", req: procedure.Request{Serial: "EVBLST01", Enrollment: procedure.ADERestricted, LostMode: true},
			setup:  func(_ *harness, d *fakeDevice) { d.LostMode = true },
			vendor: []procedure.StepID{procedure.RemoveProfiles, procedure.DisableLostMode, procedure.DeleteManagedRecord, procedure.ABMUnassign},
			wipe:   "none", unassigned: true},
		// Operator mode: every console step is a person's report, and the record has each.
		{name: "operator/keep/manual", serial: "EVOPER01", req: req("EVOPER01", "manual", false, ""), mode: contract.ModeOperator,
			setup: func(h *harness, _ *fakeDevice) {
				for i := 1; i <= 12; i++ {
					h.env.RegisterDelayedCallback(func() {
						if st := h.status(); st.WaitingOn == procedure.PartyOperator && len(st.Choices) > 0 {
							report(h, st.Current, "carol", procedure.OutcomeDone, "done in CLOMO PANEL")
						}
					}, time.Duration(i)*time.Hour)
				}
			},
			vendor: keepUser, wipe: "none", greyedOut: true,
			reports: []string{"carol remove-profiles done", "carol delete-greyed-out-record done"}},
		// A run cancelled while it waits on vendor support still leaves its record.
		{name: "cancelled/work-smart", serial: "EVCANC01", req: procedure.Request{Serial: "EVCANC01", Enrollment: procedure.ADERestricted, WorkSmart: true},
			setup: func(h *harness, d *fakeDevice) {
				d.WorkSmart = true
				h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, 2*time.Hour)
			},
			outcome: OutcomeCancelled, vendor: []procedure.StepID{procedure.RemoveProfiles}, wipe: "none"},
		// Pre-flight finds the request does not fit the console (not ADE): rejected, nothing
		// changed, and the record says so.
		{name: "rejected/preflight-mismatch", serial: "EVREJE01", req: req("EVREJE01", "ade", false, ""),
			setup:   func(h *harness, _ *fakeDevice) { h.world.add("EVREJE01", "manual") },
			outcome: OutcomeRejected, vendor: []procedure.StepID{procedure.Preflight}, wipe: "none"},
	}
}

func TestEveryPathAndBranchLeavesASignedRecord(t *testing.T) {
	archive, signer := signedArchive(t)
	for _, tc := range pathCases() {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			if mode == "" {
				mode = contract.ModeAutomated
			}
			h := evidenceHarness(t, mode, archive, signer)
			enrollment := string(tc.req.Enrollment)
			d := h.world.add(tc.serial, enrollment)
			if tc.setup != nil {
				tc.setup(h, d)
			}
			_, _ = h.run(tc.req, func(in *DeviceInput) { in.ConsoleMode = mode })
			rec, name, err := archive.Latest(tc.serial)
			if err != nil {
				t.Fatal(err)
			}
			checkRecord(t, tc, rec, name)
			if tc.outcome == OutcomeRejected && (len(h.world.sent) != 0 || rec.Error == "") {
				t.Errorf("a rejected run: commands %+v, error %q", h.world.sent, rec.Error)
			}
		})
	}
	rep, err := archive.Verify(evidence.Keys(signer.Public()))
	if err != nil || !rep.OK() || rep.Records != len(pathCases()) || rep.Signed != rep.Records {
		t.Fatalf("the archive of every path: %+v %v", rep, err)
	}

	// Each tampering of that archive is named: a copy per case.
	entries, _ := archive.Entries()
	n := len(entries)
	cases := []struct {
		name   string
		tamper func(dir string)
		want   []string
	}{
		{"an edited byte", func(dir string) {
			editFile(t, filepath.Join(dir, entries[3].Name), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"outcome":"removed"`, `"outcome":"rejected"`, 1))
			})
		}, []string{entries[3].Name + ": hash mismatch", entries[3].Name + ": signature does not verify", entries[4].Name + ": prev mismatch"}},
		{"a record removed in the middle", func(dir string) { _ = os.Remove(filepath.Join(dir, entries[5].Name)) },
			[]string{entries[6].Name + ": chain gap: record 000006 is missing", entries[6].Name + ": prev mismatch"}},
		{"the newest record removed", func(dir string) { _ = os.Remove(filepath.Join(dir, entries[n-1].Name)) },
			[]string{evidence.HeadFile + ": the newest record " + entries[n-1].Name[:6] + " (" + entries[n-1].Name + ") is missing"}},
		{"the two newest records removed", func(dir string) {
			_ = os.Remove(filepath.Join(dir, entries[n-1].Name))
			_ = os.Remove(filepath.Join(dir, entries[n-2].Name))
		}, []string{evidence.HeadFile + ": records " + entries[n-2].Name[:6] + " to " + entries[n-1].Name[:6] + " are missing"}},
		{"two records swapped", func(dir string) {
			f1, f2 := filepath.Join(dir, entries[1].Name), filepath.Join(dir, entries[2].Name)
			b1, _ := os.ReadFile(f1)
			b2, _ := os.ReadFile(f2)
			editFile(t, f1, func([]byte) []byte { return b2 })
			editFile(t, f2, func([]byte) []byte { return b1 })
		}, []string{entries[1].Name + ": the file says sequence 3", entries[1].Name + ": the record is of " + entries[2].Serial, entries[1].Name + ": prev mismatch",
			entries[2].Name + ": the file says sequence 2", entries[3].Name + ": prev mismatch"}},
	}
	for _, tc := range cases {
		t.Run("tampered/"+tc.name, func(t *testing.T) {
			dir := copyDir(t, archive.Dir)
			tc.tamper(dir)
			rep, err := (&evidence.Archive{Dir: dir}).Verify(evidence.Keys(signer.Public()))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range rep.Problems {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("want %q in\n%s", w, all)
				}
			}
		})
	}
}

// checkRecord judges a record by procedure.md: the path's steps in the page's order, the wipe and
// what it means, greyed-out and gone, the Apple unassign, the console's command IDs with their
// idempotency keys, the people's reports, the vendor's warnings, the software.
func checkRecord(t *testing.T, tc pathCase, rec evidence.Record, name string) {
	t.Helper()
	outcome := tc.outcome
	if outcome == "" {
		outcome = OutcomeRemoved
	}
	if rec.Format != evidence.Format || rec.Serial != tc.serial || rec.WorkflowID != contract.DeviceWorkflowID(tc.serial) || rec.Outcome != outcome {
		t.Fatalf("%s: format %s serial %s workflow %s outcome %s (%s), want %s", name, rec.Format, rec.Serial, rec.WorkflowID, rec.Outcome, rec.Error, outcome)
	}
	if want := procedure.PathName(tc.req.Wipe, tc.req.Enrollment); rec.Path != want {
		t.Errorf("path %s, want %s", rec.Path, want)
	}
	// A manually enrolled device is not in Apple Business Manager: its record says where to check
	// Activation Lock instead of "not checked".
	if manual := tc.req.Enrollment == procedure.Manual; manual != strings.Contains(rec.ActivationLock, "not in Apple Business Manager") {
		t.Errorf("%s enrollment, Activation Lock: %q", tc.req.Enrollment, rec.ActivationLock)
	}
	// The vendor's steps stand in the plan in the page's order, and each done step has its times.
	at := 0
	for _, id := range tc.vendor {
		i := slices.Index(rec.Plan[at:], string(id))
		if i < 0 {
			t.Errorf("plan %v lacks %s after position %d (want the order %v)", rec.Plan, id, at, tc.vendor)
			continue
		}
		at += i + 1
	}
	if len(rec.Plan) != len(rec.Steps) {
		t.Errorf("plan of %d steps, %d steps recorded", len(rec.Plan), len(rec.Steps))
	}
	for _, s := range rec.Steps {
		byPerson := strings.Contains(s.Note, " reported ") // a person's task: the report says who; Offboard made no attempt
		if s.State == StateDone && (s.Attempts < 1 && !byPerson || s.EndedAt == nil || (s.StartedAt == nil && s.ID != string(procedure.Preflight))) {
			t.Errorf("done step %s without its attempts or times: %+v", s.ID, s)
		}
		// Every console command Offboard sent: its ID, and the idempotency key it carried.
		if tc.mode != contract.ModeOperator && s.State == StateDone && slices.Contains([]string{string(procedure.ConsoleWipe),
			string(procedure.DeleteGreyedOutRecord), string(procedure.DeleteManagedRecord), string(procedure.RemoveProfiles),
			string(procedure.DisableLostMode), string(procedure.RemoveCertificates)}, s.ID) && !byPerson && !strings.Contains(s.Note, "by hand") {
			key := contract.DeviceWorkflowID(tc.serial) + "/" + s.ID + "/1"
			if len(s.CommandIDs) == 0 || !slices.Contains(s.IdempotencyKeys, key) {
				t.Errorf("step %s: command IDs %v, keys %v; want an ID and %s", s.ID, s.CommandIDs, s.IdempotencyKeys, key)
			}
		}
		// A delete the console refused (a 4-2 branch) carried a key each time it was sent.
		if refused := strings.Count(s.Note, "the console answered"); tc.mode != contract.ModeOperator && refused > 0 {
			for round := 1; round <= refused; round++ {
				if key := fmt.Sprintf("%s/%s/%d", contract.DeviceWorkflowID(tc.serial), s.ID, round); !slices.Contains(s.IdempotencyKeys, key) {
					t.Errorf("step %s was refused %d times: keys %v lack %s", s.ID, refused, s.IdempotencyKeys, key)
				}
			}
		}
	}
	if tc.mode == contract.ModeOperator {
		for _, s := range rec.Steps {
			if len(s.CommandIDs) > 0 {
				t.Errorf("operator mode: step %s names console commands %v that Offboard never sent", s.ID, s.CommandIDs)
			}
		}
	}
	// The wipe: method, options, and what the erase means (Apple's page), or that nothing was erased.
	switch w := rec.Wipe; {
	case w == nil || w.Method != tc.wipe:
		t.Errorf("wipe %+v, want method %s", w, tc.wipe)
	case tc.wipe == "none":
		if w.ErasedAt != nil || !strings.HasPrefix(w.Meaning, "not erased") {
			t.Errorf("a run without a wipe: %+v", w)
		}
	default:
		if w.State != StateDone || w.ErasedAt == nil || !strings.Contains(w.Meaning, "cryptographic") || w.Reference != evidence.EraseReference ||
			w.RemoveESIM != tc.req.RemoveESIM || w.ReturnToService {
			t.Errorf("wipe: %+v", w)
		}
		if tc.wipe == "console-erase" && w.Confirmation != "YES" {
			t.Errorf("the console wipe's typed confirmation: %q", w.Confirmation)
		}
	}
	if removed := outcome == OutcomeRemoved; (rec.RecordGoneAt != nil) != removed {
		t.Errorf("record gone at %v, outcome %s", rec.RecordGoneAt, outcome)
	}
	if tc.greyedOut && (rec.GreyedOutAt == nil || rec.RecordGoneAt != nil && rec.RecordGoneAt.Before(*rec.GreyedOutAt)) {
		t.Errorf("greyed-out at %v, gone at %v", rec.GreyedOutAt, rec.RecordGoneAt)
	}
	if !tc.greyedOut && rec.GreyedOutAt != nil {
		t.Errorf("greyed-out at %v on a path that deletes the managed record (4-1)", rec.GreyedOutAt)
	}
	if tc.unassigned != (rec.Apple != nil && rec.Apple.ActivityID != "") {
		t.Errorf("apple %+v, want unassigned %t", rec.Apple, tc.unassigned)
	}
	if rec.Apple != nil && rec.Apple.LogLine == nil && rec.Apple.LogNote == "" {
		t.Errorf("apple: neither the serial's log line nor why not: %+v", rec.Apple)
	}
	var reports []string
	for _, r := range rec.Reports {
		reports = append(reports, r.By+" "+r.Step+" "+r.Outcome)
		if r.Time.IsZero() || r.By == "" {
			t.Errorf("report without who or when: %+v", r)
		}
	}
	for _, want := range tc.reports {
		if !slices.Contains(reports, want) {
			t.Errorf("reports %v lack %q", reports, want)
		}
	}
	// procedure.md, §4: "A consumed license becomes reusable after the delete" is said on every path.
	if !slices.ContainsFunc(rec.Warnings, func(w string) bool { return strings.Contains(w, "reusable") }) {
		t.Errorf("the vendor's warnings are missing: %v", rec.Warnings)
	}
	if rec.ActivationLock == "" || rec.Software.GoVersion == "" || rec.Software.Module == "" {
		t.Errorf("activation lock %q, software %+v", rec.ActivationLock, rec.Software)
	}
}

func editFile(t *testing.T, file string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(file, 0o644)
	if err := os.WriteFile(file, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	des, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(from, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, de.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// The certificate of a real run's record: the page an auditor prints. With
// OFFBOARD_CERTIFICATE_OUT set, the test also writes the page there
// (scripts/certificate-screenshot.sh renders it for docs/images/certificate.png).
func TestCertificateOfARealRun(t *testing.T) {
	archive, signer := signedArchive(t)
	h := evidenceHarness(t, contract.ModeAutomated, archive, signer)
	d := h.world.add("F2LXK0A1HG7J", "ade")
	d.purgeErrors = []string{console.CodeVPPLicenseRemains}
	req := procedure.Request{Serial: "F2LXK0A1HG7J", Enrollment: procedure.ADE, Wipe: true, WipeMethod: procedure.WipeConsole, RemoveESIM: true}
	if _, err := h.run(req, func(in *DeviceInput) { in.RequestedBy = "hr-pipeline" }); err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	if err := archive.WriteCertificate(&page, "F2LXK0A1HG7J", evidence.Keys(signer.Public()), time.Now()); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := archive.Latest("F2LXK0A1HG7J")
	for _, s := range rec.Steps {
		if !strings.Contains(page.String(), ">"+s.ID+"<") {
			t.Errorf("the certificate lacks step %s", s.ID)
		}
	}
	for _, want := range []string{"F2LXK0A1HG7J", "wipe/ade", "SIGNATURE VERIFIED", "VPP アプリケーションライセンスを剥奪する(デバイス向け)", "Revoke the VPP app licenses"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the certificate lacks %q", want)
		}
	}
	if out := os.Getenv("OFFBOARD_CERTIFICATE_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(page.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
