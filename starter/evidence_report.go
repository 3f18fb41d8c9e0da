package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/offboard/offboard/internal/evidence"
)

// The evidence commands that read the archive and need no Temporal server (docs/evidence.md):
//
//	starter evidence verify [--dir D] [--public-key F]... [--anchor SEQ:SHA256] [--bundle]
//	starter evidence certificate <serial> [--dir D] [--public-key F]... [--out file.html]
//	starter fleet report <fleet-id> --evidence [--dir D] [--public-key F]... [--out DIR|F.tar.gz|F.zip]
//
// None needs a Temporal server. keyFiles empty: the public half of EVIDENCE_SIGNING_KEY_FILE.

// evidenceTrustedKeys loads the trusted public keys, by default EVIDENCE_SIGNING_KEY_FILE's.
func evidenceTrustedKeys(keyFiles []string) (map[string]ed25519.PublicKey, error) {
	if len(keyFiles) == 0 && os.Getenv("EVIDENCE_SIGNING_KEY_FILE") != "" {
		keyFiles = []string{os.Getenv("EVIDENCE_SIGNING_KEY_FILE")}
	}
	var pubs []ed25519.PublicKey
	for _, f := range keyFiles {
		p, err := evidence.LoadPublicKey(f)
		if err != nil {
			return nil, err
		}
		pubs = append(pubs, p)
	}
	return evidence.Keys(pubs...), nil
}

// verifyEvidence checks the archive (or, with bundle, an unpacked fleet bundle) offline; with an
// anchor (a head noted earlier) it also checks the archive still holds that record.
func verifyEvidence(dir string, keyFiles []string, anchor string, bundle bool) (evidence.Result, error) {
	keys, err := evidenceTrustedKeys(keyFiles)
	if err != nil {
		return evidence.Result{}, err
	}
	if _, err := os.Stat(dir); err != nil {
		return evidence.Result{}, fmt.Errorf("evidence archive %s: %w", dir, err)
	}
	var rep evidence.Result
	if bundle {
		rep, err = evidence.VerifyBundle(dir, keys)
	} else {
		rep, err = (&evidence.Archive{Dir: dir}).Verify(keys)
	}
	if err != nil {
		return rep, err
	}
	if anchor != "" && !bundle {
		probs, err := (&evidence.Archive{Dir: dir}).CheckAnchor(anchor)
		if err != nil {
			return rep, err
		}
		rep.Problems = append(rep.Problems, probs...)
	}
	return rep, nil
}

// printVerification is verify's table: every problem named, the count, then the head to note
// down elsewhere.
func printVerification(out io.Writer, dir string, rep evidence.Result) {
	for _, p := range rep.Problems {
		fmt.Fprintln(out, "PROBLEM", p.String())
	}
	fmt.Fprintf(out, "%d records, %d with a valid signature, %d problems (%s)\n", rep.Records, rep.Signed, len(rep.Problems), dir)
	if h := rep.Head; h != nil {
		fmt.Fprintf(out, "head %06d %s: note this anchor elsewhere and pass it to the next verify (--anchor %s)\n", h.Seq, h.File, h.Anchor())
	}
}

// evidenceVerifyAnchored is `evidence verify` as a person reads it. Any problem: errProblems
// (exit status 2).
func evidenceVerifyAnchored(_ context.Context, out io.Writer, dir string, keyFiles []string, anchor string, bundle bool) error {
	rep, err := verifyEvidence(dir, keyFiles, anchor, bundle)
	if err != nil {
		return err
	}
	printVerification(out, dir, rep)
	if !rep.OK() {
		return errProblems
	}
	return nil
}

// evidenceCertificate is `evidence certificate`: the printable certificate of serial's newest
// record, to outFile (mode 0644; "" or "-": out). A record that does not verify is still
// written, marked INVALID on the page, and the command fails (evidence.ErrNotVerified).
func evidenceCertificate(_ context.Context, out io.Writer, dir, serial, outFile string, keyFiles []string) error {
	keys, err := evidenceTrustedKeys(keyFiles)
	if err != nil {
		return err
	}
	w, done := out, func() error { return nil }
	if outFile != "" && outFile != "-" {
		f, err := os.Create(outFile)
		if err != nil {
			return err
		}
		w, done = f, f.Close
	}
	err = (&evidence.Archive{Dir: dir}).WriteCertificate(w, serial, keys, time.Now())
	if cerr := done(); err == nil && cerr != nil {
		return cerr
	}
	if err == nil && w != out {
		fmt.Fprintf(out, "certificate of %s written to %s (verified)\n", serial, outFile)
	}
	if errors.Is(err, evidence.ErrNotVerified) && w != out {
		fmt.Fprintf(out, "certificate of %s written to %s, marked INVALID\n", serial, outFile)
	}
	return err
}

// fleetEvidenceReport is `fleet report <id> --evidence`: the fleet's records bundled with a
// summary (internal/evidence/bundle.go) into outPath (a directory, or .tar.gz/.tgz/.zip; default
// <fleet-id>-evidence), and the summary printed. A record that does not verify, or a problem in the
// archive, is in the summary and makes it fail with errProblems after the bundle is written.
func fleetEvidenceReport(_ context.Context, out io.Writer, dir, fleetID, outPath string, keyFiles []string) error {
	keys, err := evidenceTrustedKeys(keyFiles)
	if err != nil {
		return err
	}
	if outPath == "" {
		outPath = fleetID + "-evidence"
	}
	sum, err := (&evidence.Archive{Dir: dir}).BundleFleet(fleetID, outPath, keys, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprint(out, sum.Text())
	fmt.Fprintf(out, "bundle written to %s: verify it offline with starter evidence verify --bundle --dir <unpacked bundle> --public-key <key>\n", outPath)
	if !sum.OK() {
		return errProblems
	}
	return nil
}
