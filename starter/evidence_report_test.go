package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/evidence"
)

// threeRecordArchive writes a signed archive of three removed devices of fleet f1.
func threeRecordArchive(t *testing.T) (dir, keyFile, archiveDir string, a *evidence.Archive) {
	t.Helper()
	t.Setenv("EVIDENCE_SIGNING_KEY_FILE", "")
	dir = t.TempDir()
	keyFile, archiveDir = filepath.Join(dir, "key.pem"), filepath.Join(dir, "evidence")
	if _, err := evidence.GenerateKey(keyFile); err != nil {
		t.Fatal(err)
	}
	signer, _ := evidence.LoadSigner(keyFile)
	a, _ = evidence.Open(archiveDir)
	now := time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, serial := range []string{"AAA111", "BBB222", "CCC333"} {
		rec := evidence.Record{Format: evidence.Format, Serial: serial, WorkflowID: "offboard-" + serial, RunID: "run-" + serial, FleetID: "f1",
			Path: "wipe/ade", Outcome: "removed", StartedAt: now, EndedAt: now.Add(time.Hour),
			Wipe:  &evidence.Wipe{Method: "console-erase", State: "done"},
			Steps: []evidence.Step{{ID: "console-wipe", State: "done", Attempts: 1, CommandIDs: []string{"c-" + serial}}, {ID: "abm-unassign", State: "done", Attempts: 1}}}
		if _, _, _, err := a.Append(rec, signer); err != nil {
			t.Fatal(err)
		}
	}
	return dir, keyFile, archiveDir, a
}

func TestEvidenceReportCommands(t *testing.T) {
	dir, keyFile, archiveDir, a := threeRecordArchive(t)
	ctx, keys := context.Background(), []string{keyFile}

	var out bytes.Buffer
	if err := evidenceVerifyAnchored(ctx, &out, archiveDir, keys, "", false); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	anchor := regexp.MustCompile(`--anchor (\S+)\)`).FindStringSubmatch(out.String())
	if !strings.Contains(out.String(), "3 records, 3 with a valid signature, 0 problems") || anchor == nil {
		t.Fatalf("%s", out.String())
	}

	out.Reset()
	bundle := filepath.Join(dir, "f1-evidence")
	if err := fleetEvidenceReport(ctx, &out, archiveDir, "f1", bundle, keys); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Fleet f1: 3 records of 3 devices") || !strings.Contains(out.String(), "wiped 3, removed 3, unassigned in Apple Business Manager 3") {
		t.Errorf("%s", out.String())
	}
	out.Reset()
	if err := evidenceVerifyAnchored(ctx, &out, bundle, keys, "", true); err != nil {
		t.Errorf("the bundle: %v\n%s", err, out.String())
	}

	certFile := filepath.Join(dir, "BBB222.html")
	out.Reset()
	if err := evidenceCertificate(ctx, &out, archiveDir, "BBB222", certFile, keys); err != nil {
		t.Fatal(err)
	}
	if page, _ := os.ReadFile(certFile); !strings.Contains(string(page), "BBB222") || !strings.Contains(string(page), "SIGNATURE VERIFIED") {
		t.Errorf("certificate: %s", out.String())
	}

	// The newest record removed: verify names it from the head, and the anchor noted before names it too.
	entries, _ := a.Entries()
	_ = os.Remove(filepath.Join(archiveDir, entries[2].Name))
	out.Reset()
	err := evidenceVerifyAnchored(ctx, &out, archiveDir, keys, "", false)
	if !errors.Is(err, errProblems) || !strings.Contains(out.String(), "PROBLEM HEAD: the newest record 000003") {
		t.Errorf("%v\n%s", err, out.String())
	}
	out.Reset()
	err = evidenceVerifyAnchored(ctx, &out, archiveDir, keys, anchor[1], false)
	if !errors.Is(err, errProblems) || !strings.Contains(out.String(), "PROBLEM anchor 3: the archive ends at 000002") {
		t.Errorf("%v\n%s", err, out.String())
	}
	// A certificate of an edited record is written marked INVALID, and the command fails.
	file := filepath.Join(archiveDir, entries[0].Name)
	b, _ := os.ReadFile(file)
	_ = os.Chmod(file, 0o644)
	_ = os.WriteFile(file, bytes.Replace(b, []byte(`"removed"`), []byte(`"rejected"`), 1), 0o644)
	out.Reset()
	if err := evidenceCertificate(ctx, &out, archiveDir, "AAA111", certFile+".2", keys); !errors.Is(err, evidence.ErrNotVerified) {
		t.Errorf("%v", err)
	}
	if page, _ := os.ReadFile(certFile + ".2"); !strings.Contains(string(page), "NOT VERIFIED") {
		t.Error("the invalid certificate is not marked")
	}
}

// The command line reaches the same functions: a certificate, a fleet's bundle that verifies as a
// bundle, and verify's anchor in its JSON; --out without --evidence is refused.
func TestEvidenceCommandLine(t *testing.T) {
	dir, keyFile, archiveDir, _ := threeRecordArchive(t)
	run := func(args ...string) (string, error) {
		c, out, _ := testCLI("")
		err := c.run(context.Background(), args)
		return out.String(), err
	}
	cert := filepath.Join(dir, "AAA111.html")
	if out, err := run("evidence", "certificate", "AAA111", "--dir", archiveDir, "--public-key", keyFile, "--out", cert); err != nil || !strings.Contains(out, "(verified)") {
		t.Fatalf("certificate: %v\n%s", err, out)
	}
	if page, _ := os.ReadFile(cert); !strings.Contains(string(page), "AAA111") {
		t.Errorf("the certificate does not name its device")
	}
	bundle := filepath.Join(dir, "f1-bundle")
	if out, err := run("fleet", "report", "f1", "--evidence", "--dir", archiveDir, "--public-key", keyFile, "--out", bundle); err != nil || !strings.Contains(out, "3 records of 3 devices") {
		t.Fatalf("fleet report --evidence: %v\n%s", err, out)
	}
	if out, err := run("evidence", "verify", "--bundle", "--dir", bundle, "--public-key", keyFile); err != nil {
		t.Errorf("the bundle does not verify: %v\n%s", err, out)
	}
	out, err := run("evidence", "verify", "--dir", archiveDir, "--public-key", keyFile, "-o", "json")
	var v verification
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || !strings.HasPrefix(v.Anchor, "3:") {
		t.Errorf("verify -o json: %v %+v\n%s", err, v, out)
	}
	if out, err := run("evidence", "verify", "--dir", archiveDir, "--public-key", keyFile, "--anchor", "4:"+strings.TrimPrefix(v.Anchor, "3:")); !errors.Is(err, errProblems) {
		t.Errorf("an anchor past the archive's end: %v\n%s", err, out)
	}
	if _, err := run("fleet", "report", "f1", "--out", bundle); err == nil || !strings.Contains(err.Error(), "--evidence") {
		t.Errorf("--out without --evidence: %v", err)
	}
}
