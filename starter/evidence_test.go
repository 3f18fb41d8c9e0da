package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/evidence"
)

func TestEvidenceCommands(t *testing.T) {
	t.Setenv("EVIDENCE_SIGNING_KEY_FILE", "")
	dir := t.TempDir()
	keyFile, archiveDir := filepath.Join(dir, "key.pem"), filepath.Join(dir, "evidence")
	c, out, _ := testCLI("")
	if err := c.run(context.Background(), []string{"evidence", "keygen", "--file", keyFile}); err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "pub.pem")
	if !strings.Contains(out.String(), "BEGIN PUBLIC KEY") || os.WriteFile(pubFile, out.Bytes(), 0o644) != nil {
		t.Fatalf("keygen printed %q", out)
	}
	signer, err := evidence.LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := evidence.Open(archiveDir)
	now := time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	for i, outcome := range []string{"removed", "removed", "cancelled"} {
		serial := []string{"AAA111", "BBB222", "CCC333"}[i]
		rec := evidence.Record{Format: evidence.Format, Serial: serial, RunID: "run-" + serial, FleetID: "f1", Path: "dep-wipe",
			Outcome: outcome, StartedAt: now, EndedAt: now.Add(time.Hour),
			Steps:   []evidence.Step{{ID: "console-wipe", State: "done", Attempts: 1, CommandIDs: []string{"c-" + serial}}},
			Reports: []evidence.Report{{Time: now, Step: "await-greyed-out", By: "aiko", Outcome: "done"}}}
		if _, _, _, err := a.Append(rec, signer); err != nil {
			t.Fatal(err)
		}
	}

	c, out, _ = testCLI("")
	if err := c.run(context.Background(), []string{"evidence", "verify", "--dir", archiveDir, "--public-key", pubFile}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "3 records, 3 with a valid signature, 0 problems") {
		t.Errorf("%s", out)
	}

	c, out, _ = testCLI("")
	if err := c.run(context.Background(), []string{"evidence", "bbb222", "--dir", archiveDir}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Retirement record of BBB222", "console-wipe", "c-BBB222", "aiko reported await-greyed-out done", "outcome    removed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}

	bundle := filepath.Join(dir, "bundle.json")
	c, out, _ = testCLI("")
	if err := c.run(context.Background(), []string{"evidence", "fleet", "f1", "--dir", archiveDir, "--out", bundle}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 records of 3 devices") || !strings.Contains(out.String(), "removed    2") {
		t.Errorf("%s", out)
	}
	if b, err := os.ReadFile(bundle); err != nil || !strings.Contains(string(b), `"cancelled": 1`) {
		t.Errorf("bundle: %v %s", err, b)
	}

	// A removed record: verify names it and fails.
	entries, _ := a.Entries()
	_ = os.Remove(filepath.Join(archiveDir, entries[1].Name))
	c, out, _ = testCLI("")
	err = c.run(context.Background(), []string{"evidence", "verify", "--dir", archiveDir, "--public-key", pubFile})
	if !errors.Is(err, errProblems) || !strings.Contains(out.String(), "PROBLEM "+entries[2].Name+": chain gap") {
		t.Errorf("%v\n%s", err, out)
	}
}
