package evidence

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// Problem is one thing Verify found wrong, naming the file.
type Problem struct {
	File string `json:"file"`
	What string `json:"what"`
}

func (p Problem) String() string { return p.File + ": " + p.What }

// Result is what Verify found.
type Result struct {
	Records  int       `json:"records"`
	Signed   int       `json:"signed"`
	Problems []Problem `json:"problems"`
	// Head is the archive's head as found (nil: none): note its Anchor elsewhere to check the
	// archive against later (CheckAnchor).
	Head *Head `json:"head,omitempty"`
}

// OK reports whether nothing is wrong.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// Verify walks the archive in sequence order and checks each file: its name (sequence, serial,
// run ID) against its content, the sequence without a gap from 1 (a removed record), its hash
// recomputed (an edited byte), its prev against the previous file's hash (a removed, reordered
// or swapped record), its signature against the trusted keys (an edited byte, a record signed by
// another key, an unsigned record), one record per run, and the head (head.go: the newest
// records removed, a head behind the archive or not its own). keys maps a KeyID to its public key;
// with none, signatures are not checked and that is reported once.
func (a *Archive) Verify(keys map[string]ed25519.PublicKey) (Result, error) {
	entries, err := a.Entries()
	if err != nil {
		return Result{}, err
	}
	var rep Result
	add := func(file, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{File: file, What: fmt.Sprintf(format, args...)})
	}
	if len(keys) == 0 {
		add(a.Dir, "no public key given: signatures not checked (pass --public-key, or set EVIDENCE_SIGNING_KEY_FILE)")
	}
	prevHash, prevName, wantSeq := "", "", 1
	runs := map[string]string{}
	hashes := map[int]string{} // sequence → the file's hash, for the head
	for _, e := range entries {
		rep.Records++
		if e.Seq == 0 {
			add(e.Name, "not a record's file name (<seq>-<serial>-<run id>.json)")
		}
		env, rec, err := a.Read(e.Name)
		if err != nil {
			add(e.Name, "%v", err)
			prevHash, prevName = "", e.Name
			wantSeq = e.Seq + 1
			continue
		}
		switch {
		case e.Seq > wantSeq && wantSeq == e.Seq-1:
			add(e.Name, "chain gap: record %06d is missing (removed?)", wantSeq)
		case e.Seq > wantSeq:
			add(e.Name, "chain gap: records %06d to %06d are missing (removed?)", wantSeq, e.Seq-1)
		case e.Seq != 0 && e.Seq < wantSeq:
			add(e.Name, "sequence %d repeats an earlier one", e.Seq)
		}
		if e.Seq != 0 && env.Seq != e.Seq {
			add(e.Name, "the file says sequence %d, its name %d (renamed or swapped)", env.Seq, e.Seq)
		}
		if e.Seq != 0 && (!strings.EqualFold(rec.Serial, e.Serial) || rec.RunID != e.RunID) {
			add(e.Name, "the record is of %s run %s, the name says %s run %s (swapped?)", rec.Serial, rec.RunID, e.Serial, e.RunID)
		}
		if h := env.Hash(); h != env.SHA256 {
			add(e.Name, "hash mismatch: the content hashes to %s, the file says %s (edited)", short(h), short(env.SHA256))
		}
		switch {
		case prevName == "" && e.Seq <= 1 && env.Prev != "":
			add(e.Name, "the first record names a previous one (%s)", short(env.Prev))
		case prevName != "" && env.Prev != prevHash:
			add(e.Name, "prev mismatch: it names %s, but the previous file %s hashes to %s (a record removed, edited, reordered or swapped)",
				short(env.Prev), prevName, short(prevHash))
		}
		switch {
		case env.Signature == "":
			add(e.Name, "unsigned (written without EVIDENCE_SIGNING_KEY_FILE)")
		case len(keys) == 0:
		default:
			pub, ok := keys[env.KeyID]
			sig, err := base64.StdEncoding.DecodeString(env.Signature)
			switch {
			case !ok:
				add(e.Name, "signed by key %s, which is not one of the trusted keys", env.KeyID)
			case err != nil || !ed25519.Verify(pub, env.SignedBytes(), sig):
				add(e.Name, "signature does not verify with key %s (edited)", env.KeyID)
			default:
				rep.Signed++
			}
		}
		if other, ok := runs[rec.WorkflowID+"/"+rec.RunID]; ok && rec.RunID != "" {
			add(e.Name, "a second record of run %s (the first is %s)", rec.RunID, other)
		} else {
			runs[rec.WorkflowID+"/"+rec.RunID] = e.Name
		}
		prevHash, prevName = env.Hash(), e.Name
		if e.Seq != 0 {
			wantSeq = e.Seq + 1
			hashes[e.Seq] = prevHash
		}
	}
	if err := a.verifyHead(&rep, entries, keys, hashes); err != nil {
		return rep, err
	}
	return rep, nil
}

// Keys maps each key's KeyID to it.
func Keys(pubs ...ed25519.PublicKey) map[string]ed25519.PublicKey {
	m := map[string]ed25519.PublicKey{}
	for _, p := range pubs {
		m[KeyID(p)] = p
	}
	return m
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	if h == "" {
		return `""`
	}
	return h
}

// CheckEnvelope checks one file on its own (a certificate, a bundle): its hash recomputed and
// its signature against the trusted keys. nil means both hold.
func CheckEnvelope(env Envelope, keys map[string]ed25519.PublicKey) error {
	if h := env.Hash(); h != env.SHA256 {
		return fmt.Errorf("hash mismatch: the content hashes to %s, the file says %s (edited)", short(h), short(env.SHA256))
	}
	if env.Signature == "" {
		return fmt.Errorf("unsigned (written without EVIDENCE_SIGNING_KEY_FILE)")
	}
	pub, ok := keys[env.KeyID]
	if !ok {
		return fmt.Errorf("signed by key %s, which is not one of the trusted keys", env.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signature)
	if err != nil || !ed25519.Verify(pub, env.SignedBytes(), sig) {
		return fmt.Errorf("signature does not verify with key %s (edited)", env.KeyID)
	}
	return nil
}
