package evidence

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fleetArchive: four records of fleet f1 (three removed, one cancelled) and one of another
// fleet; f1's last carries Apple's Activation Lock status USER and a second person's approval,
// written as the JSON of the format (those fields of Record are merged from other work).
func fleetArchive(t *testing.T) (*Archive, *Signer) {
	a, s := newArchive(t), testSigner(t)
	for _, c := range []struct{ serial, fleet, outcome string }{
		{"AAA111", "f1", "removed"}, {"BBB222", "f2", "removed"}, {"CCC333", "f1", "removed"}, {"DDD444", "f1", "cancelled"},
	} {
		rec := sample(c.serial, "run-"+c.serial)
		rec.FleetID, rec.Outcome = c.fleet, c.outcome
		rec.Wipe.State = "done"
		if c.outcome == "cancelled" {
			rec.Wipe.State, rec.Steps = "pending", nil
		} else {
			rec.Steps = append(rec.Steps, Step{ID: "abm-unassign", State: "done", Attempts: 1})
		}
		if _, _, _, err := a.Append(rec, s); err != nil {
			t.Fatal(err)
		}
	}
	rec := sample("EEE555", "run-EEE555")
	rec.FleetID, rec.Wipe.State = "f1", "done"
	var m map[string]any
	_ = json.Unmarshal(mustCanonical(t, rec), &m)
	m["activationLockStatus"] = map[string]any{"isLocked": true, "lockType": "USER", "reusable": false}
	m["approvals"] = []any{map[string]any{"step": "console-wipe", "by": "second.person", "time": "2025-05-01T10:00:00Z"}}
	entries, _ := a.Entries()
	prev, _, _ := a.Read(entries[len(entries)-1].Name)
	env := Envelope{Seq: prev.Seq + 1, Record: mustCanonical(t, m), Prev: prev.Hash()}
	env.SHA256 = env.Hash()
	env.Signature, env.KeyID = base64.StdEncoding.EncodeToString(s.Sign(env.SignedBytes())), s.KeyID()
	name := FileName(env.Seq, rec.Serial, rec.RunID)
	if err := a.writeOnce(name, env); err != nil {
		t.Fatal(err)
	}
	if err := a.writeHead(Head{Seq: env.Seq, File: name, SHA256: env.SHA256, Since: 1}, s); err != nil {
		t.Fatal(err)
	}
	if rep, _ := a.Verify(Keys(s.Public())); !rep.OK() {
		t.Fatalf("%+v", rep)
	}
	return a, s
}

func mustCanonical(t *testing.T, v any) []byte {
	b, err := Canonical(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFleetBundleSummarizesAndVerifiesOffline(t *testing.T) {
	a, s := fleetArchive(t)
	out := filepath.Join(t.TempDir(), "bundle")
	sum, err := a.BundleFleet("f1", out, Keys(s.Public()), time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 4 || sum.Devices != 4 || sum.ByOutcome["removed"] != 3 || sum.ByOutcome["cancelled"] != 1 || sum.Removed != 3 ||
		sum.Wiped != 3 || sum.Unassigned != 2 || sum.NotReusable != 1 || sum.LockUnknown != 3 || sum.Approvals != 1 || sum.Verified != 4 || !sum.OK() {
		t.Errorf("summary: %+v", sum)
	}
	if !strings.Contains(sum.Text(), "NOT REUSABLE EEE555") {
		t.Errorf("%s", sum.Text())
	}
	for _, f := range []string{"README.txt", "summary.json", "summary.txt", "chain.json", HeadFile, "public-keys.pem",
		"records/000001-AAA111-run-AAA111.json", "signed/000001-AAA111-run-AAA111.bin", "signed/000001-AAA111-run-AAA111.sig",
		"certificates/000001-AAA111-run-AAA111.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("the bundle lacks %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "records/000002-BBB222-run-BBB222.json")); err == nil {
		t.Error("another fleet's record is in the bundle")
	}
	// The certificate of the locked device says it is not reusable, and who approved.
	page, _ := os.ReadFile(filepath.Join(out, "certificates/000005-EEE555-run-EEE555.html"))
	for _, want := range []string{"再利用不可 / NOT reusable", "lockType USER", "second.person", "SIGNATURE VERIFIED"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the locked device's certificate lacks %q", want)
		}
	}
	// Byte for byte as archived.
	inArchive, _ := os.ReadFile(filepath.Join(a.Dir, "000003-CCC333-run-CCC333.json"))
	inBundle, _ := os.ReadFile(filepath.Join(out, "records/000003-CCC333-run-CCC333.json"))
	if string(inArchive) != string(inBundle) {
		t.Error("a record was changed on its way into the bundle")
	}
	rep, err := VerifyBundle(out, Keys(s.Public()))
	if err != nil || !rep.OK() || rep.Records != 4 || rep.Signed != 4 {
		t.Fatalf("verify bundle: %+v %v", rep, err)
	}
	// The bundle is written once.
	if _, err := a.BundleFleet("f1", out, Keys(s.Public()), time.Now()); err == nil {
		t.Error("an existing bundle was overwritten")
	}
	if _, err := a.BundleFleet("nope", filepath.Join(t.TempDir(), "x"), Keys(s.Public()), time.Now()); err == nil {
		t.Error("a bundle of a fleet without records")
	}

	// Tampering with the carried bundle is named.
	rec := filepath.Join(out, "records/000003-CCC333-run-CCC333.json")
	editBundle(t, rec, func(b string) string { return strings.Replace(b, `"by":"aiko"`, `"by":"eiko"`, 1) })
	editBundle(t, filepath.Join(out, "summary.json"), func(b string) string {
		return strings.Replace(b, `"notReusable": 1`, `"notReusable": 0`, 1)
	})
	rep, _ = VerifyBundle(out, Keys(s.Public()))
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"records/000003-CCC333-run-CCC333.json: hash mismatch", "records/000003-CCC333-run-CCC333.json: chain.json lists sequence 3",
		"summary.json: says notReusable 0, the records say 1"} {
		if !strings.Contains(all, want) {
			t.Errorf("want %q in\n%s", want, all)
		}
	}
	if rep, _ := VerifyBundle(out, Keys(testSigner(t).Public())); !slices.ContainsFunc(rep.Problems, func(p Problem) bool { return strings.Contains(p.What, "not one of the trusted keys") }) {
		t.Errorf("another key: %+v", rep)
	}
}

func TestFleetBundleAsTarAndZip(t *testing.T) {
	a, s := fleetArchive(t)
	dir := t.TempDir()
	for _, name := range []string{"f1.tar.gz", "f1.zip"} {
		out := filepath.Join(dir, name)
		if _, err := a.BundleFleet("f1", out, Keys(s.Public()), time.Now()); err != nil {
			t.Fatal(err)
		}
		unpacked := filepath.Join(dir, name+".d")
		unpack(t, out, unpacked)
		if rep, err := VerifyBundle(unpacked, Keys(s.Public())); err != nil || !rep.OK() || rep.Records != 4 {
			t.Errorf("%s: %+v %v", name, rep, err)
		}
	}
}

func TestBundleVerifiesWithOpenSSLAlone(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl here")
	}
	a, s := fleetArchive(t)
	out := filepath.Join(t.TempDir(), "bundle")
	if _, err := a.BundleFleet("f1", out, Keys(s.Public()), time.Now()); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(out, "signed", "000001-AAA111-run-AAA111")
	cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(out, "public-keys.pem"), "-rawin",
		"-in", base+".bin", "-sigfile", base+".sig")
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "Signature Verified Successfully") {
		t.Errorf("openssl: %v %s", err, b)
	}
}

func editBundle(t *testing.T, file string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(file, 0o644)
	if err := os.WriteFile(file, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}

func unpack(t *testing.T, file, dir string) {
	t.Helper()
	put := func(name string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if strings.HasSuffix(file, ".zip") {
		zr, err := zip.OpenReader(file)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			put(f.Name, b)
		}
		return
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		put(h.Name, b)
	}
}
