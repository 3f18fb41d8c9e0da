package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testSigner(t *testing.T) *Signer {
	t.Helper()
	file := filepath.Join(t.TempDir(), "key.pem")
	if _, err := GenerateKey(file); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sample(serial, run string) Record {
	t0 := time.Date(2025, 5, 1, 9, 0, 0, 123456789, time.UTC)
	t1 := t0.Add(time.Hour)
	return Record{Format: Format, Serial: serial, WorkflowID: "offboard-" + serial, RunID: run, Path: "dep-wipe",
		Plan: []string{"preflight", "console-wipe", "delete-greyed-out-record"}, StartedAt: t0, EndedAt: t1, Outcome: "removed",
		Steps: []Step{{ID: "console-wipe", State: "done", Attempts: 1, StartedAt: &t0, EndedAt: &t1, Note: "command c-1 <queued> & done",
			CommandIDs: []string{"c-1"}, IdempotencyKeys: []string{"offboard-" + serial + "/console-wipe/1"}}},
		GreyedOutAt: &t1, Wipe: &Wipe{Method: "console-erase", Meaning: EraseMeaning, Reference: EraseReference},
		Reports: []Report{{Time: t1, Step: "await-greyed-out", By: "aiko", Outcome: "done", Note: "saw it"}},
		Apple:   &Apple{ActivityID: "A1"}, Warnings: []string{"a warning"}, ActivationLock: "not checked", Software: Software{Version: "v1"}}
}

func newArchive(t *testing.T) *Archive {
	t.Helper()
	a, err := Open(filepath.Join(t.TempDir(), "evidence"))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCanonicalIsStable(t *testing.T) {
	rec := sample("F2LXK0A1HG7J", "run-1")
	b1, err := Canonical(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := Canonical(back)
	if string(b1) != string(b2) {
		t.Fatalf("re-encoding changed the bytes:\n%s\n%s", b1, b2)
	}
	if strings.ContainsAny(string(b1), "\n\t") || strings.Contains(string(b1), `\u003c`) {
		t.Errorf("not compact or HTML-escaped: %s", b1)
	}
}

func TestSignedRecordVerifies(t *testing.T) {
	a, s := newArchive(t), testSigner(t)
	for i := range 3 {
		if _, _, _, err := a.Append(sample("SERIAL"+fmt.Sprint(i), fmt.Sprint("run-", i)), s); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := a.Verify(Keys(s.Public()))
	if err != nil || !rep.OK() || rep.Records != 3 || rep.Signed != 3 {
		t.Fatalf("%+v %v", rep, err)
	}
	entries, _ := a.Entries()
	info, _ := os.Stat(filepath.Join(a.Dir, entries[0].Name))
	if info.Mode().Perm() != 0o444 || entries[0].Name != "000001-SERIAL0-run-0.json" {
		t.Errorf("%s mode %v", entries[0].Name, info.Mode())
	}
	// Another key is not trusted.
	rep, _ = a.Verify(Keys(testSigner(t).Public()))
	if rep.OK() || !strings.Contains(rep.Problems[0].What, "not one of the trusted keys") {
		t.Errorf("%+v", rep)
	}
}

// chain writes n records and returns the archive, the signer and the file names.
func chain(t *testing.T, n int) (*Archive, *Signer, []string) {
	a, s := newArchive(t), testSigner(t)
	var names []string
	for i := range n {
		_, name, _, err := a.Append(sample(fmt.Sprintf("SER%d", i), fmt.Sprintf("run-%d", i)), s)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return a, s, names
}

func problems(t *testing.T, a *Archive, s *Signer) string {
	t.Helper()
	rep, err := a.Verify(Keys(s.Public()))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range rep.Problems {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

func rewrite(t *testing.T, file string, edit func([]byte) []byte) {
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

func TestEditedByteIsDetected(t *testing.T) {
	a, s, names := chain(t, 3)
	rewrite(t, filepath.Join(a.Dir, names[1]), func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `"by":"aiko"`, `"by":"aika"`, 1))
	})
	got := problems(t, a, s)
	for _, want := range []string{names[1] + ": hash mismatch", names[1] + ": signature does not verify", names[2] + ": prev mismatch"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
}

func TestEditedHashAndSignatureAreDetected(t *testing.T) {
	// An editor who recomputes the file's own hash still breaks the signature and the next link.
	a, s, names := chain(t, 2)
	file := filepath.Join(a.Dir, names[0])
	rewrite(t, file, func(b []byte) []byte {
		var env Envelope
		_ = json.Unmarshal(b, &env)
		env.Record = []byte(strings.Replace(string(env.Record), `"outcome":"removed"`, `"outcome":"rejected"`, 1))
		env.SHA256 = env.Hash()
		out, _ := Canonical(env)
		return out
	})
	got := problems(t, a, s)
	if !strings.Contains(got, names[0]+": signature does not verify") || !strings.Contains(got, names[1]+": prev mismatch") ||
		strings.Contains(got, "hash mismatch") {
		t.Errorf("%s", got)
	}
}

func TestRemovedRecordIsDetected(t *testing.T) {
	a, s, names := chain(t, 4)
	_ = os.Remove(filepath.Join(a.Dir, names[1]))
	got := problems(t, a, s)
	if !strings.Contains(got, names[2]+": chain gap: record 000002 is missing") || !strings.Contains(got, names[2]+": prev mismatch") {
		t.Errorf("%s", got)
	}
	// The last one removed: the chain itself cannot tell, but the archive never shrinks silently
	// under a writer: the next append chains to the new last, and its sequence says which went.
	a2, s2, names2 := chain(t, 2)
	_ = os.Remove(filepath.Join(a2.Dir, names2[0]))
	if got := problems(t, a2, s2); !strings.Contains(got, names2[1]+": chain gap: record 000001 is missing") {
		t.Errorf("first removed: %s", got)
	}
}

func TestSwappedRecordsAreDetected(t *testing.T) {
	a, s, names := chain(t, 3)
	f1, f2 := filepath.Join(a.Dir, names[0]), filepath.Join(a.Dir, names[1])
	b1, _ := os.ReadFile(f1)
	b2, _ := os.ReadFile(f2)
	rewrite(t, f1, func([]byte) []byte { return b2 })
	rewrite(t, f2, func([]byte) []byte { return b1 })
	got := problems(t, a, s)
	for _, want := range []string{names[0] + ": the file says sequence 2", names[0] + ": the record is of SER1",
		names[0] + ": the first record names a previous one", names[1] + ": prev mismatch"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	// Renaming both files as well (contents and names swapped together) still breaks the chain.
	a2, s2, n2 := chain(t, 3)
	g1, g2 := filepath.Join(a2.Dir, n2[0]), filepath.Join(a2.Dir, n2[1])
	c1, _ := os.ReadFile(g1)
	c2, _ := os.ReadFile(g2)
	_ = os.Remove(g1)
	_ = os.Remove(g2)
	_ = os.WriteFile(filepath.Join(a2.Dir, FileName(1, "SER1", "run-1")), c2, 0o444)
	_ = os.WriteFile(filepath.Join(a2.Dir, FileName(2, "SER0", "run-0")), c1, 0o444)
	if got := problems(t, a2, s2); !strings.Contains(got, "prev mismatch") || !strings.Contains(got, "the file says sequence") {
		t.Errorf("renamed swap: %s", got)
	}
}

func TestSameRecordTwiceIsANoOp(t *testing.T) {
	a, s := newArchive(t), testSigner(t)
	rec := sample("SER", "run-1")
	env1, name1, existed, err := a.Append(rec, s)
	if err != nil || existed {
		t.Fatal(err, existed)
	}
	// A retry on another worker version, with Apple's log line read this time: the same record.
	rec.Software.Version = "v2"
	rec.Apple = &Apple{ActivityID: "A1", LogLine: &LogLine{Serial: "SER", Status: "SUCCESS"}}
	env2, name2, existed, err := a.Append(rec, s)
	if err != nil || !existed || name1 != name2 || env1.SHA256 != env2.SHA256 {
		t.Fatalf("retry: %v %v %s %s", err, existed, name1, name2)
	}
	env2, name2, existed, err = a.Append(sample("SER", "run-1"), s)
	if err != nil || !existed || name1 != name2 || env1.SHA256 != env2.SHA256 {
		t.Fatalf("%v %v %s %s", err, existed, name1, name2)
	}
	if es, _ := a.Entries(); len(es) != 1 {
		t.Fatalf("%d files", len(es))
	}
}

func TestDifferentRecordOfTheSameRunIsRefused(t *testing.T) {
	a, s := newArchive(t), testSigner(t)
	if _, _, _, err := a.Append(sample("SER", "run-1"), s); err != nil {
		t.Fatal(err)
	}
	other := sample("SER", "run-1")
	other.Outcome = "rejected"
	_, name, _, err := a.Append(other, s)
	if !errors.Is(err, ErrConflict) || name != "000001-SER-run-1.json" {
		t.Fatalf("%v %s", err, name)
	}
	if es, _ := a.Entries(); len(es) != 1 {
		t.Fatalf("%d files", len(es))
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence")
	s := testSigner(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := Open(dir) // each its own archive value, as two workers would be
			if err == nil {
				_, _, _, err = a.Append(sample(fmt.Sprintf("SER%d", i), fmt.Sprintf("run-%d", i)), s)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, _ := Open(dir)
	rep, _ := a.Verify(Keys(s.Public()))
	if !rep.OK() || rep.Records != 40 || rep.Signed != 40 {
		t.Fatalf("%+v", rep)
	}
}

func TestUnsignedRecordsAreFlagged(t *testing.T) {
	a := newArchive(t)
	if _, _, _, err := a.Append(sample("SER", "run-1"), nil); err != nil {
		t.Fatal(err)
	}
	rep, _ := a.Verify(Keys(testSigner(t).Public()))
	if rep.OK() || !strings.Contains(rep.Problems[0].What, "unsigned") {
		t.Fatalf("%+v", rep)
	}
	rep, _ = a.Verify(nil)
	if rep.OK() || !strings.Contains(rep.Problems[0].What, "no public key") {
		t.Fatalf("%+v", rep)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key.pem")
	pubPEM, err := GenerateKey(file)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode())
	}
	if _, err := GenerateKey(file); err == nil {
		t.Error("overwrote a key")
	}
	pubFile := filepath.Join(dir, "pub.pem")
	_ = os.WriteFile(pubFile, pubPEM, 0o644)
	pub, err := LoadPublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := LoadSigner(file)
	fromPriv, _ := LoadPublicKey(file)
	if !pub.Equal(s.Public()) || !ed25519.PublicKey(fromPriv).Equal(pub) {
		t.Error("public keys differ")
	}
	if _, err := LoadSigner(pubFile); err == nil {
		t.Error("a public key loaded as a signer")
	}
}
