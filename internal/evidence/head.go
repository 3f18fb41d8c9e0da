package evidence

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The chain detects a record removed or edited in the middle, but not the newest records removed:
// what is left is still a perfect chain. The head closes that gap: HeadFile, rewritten under the
// archive's lock after every append, names the newest record (its sequence, file and hash) and is
// signed like a record, so Verify can tell that records after the ones present were removed.
//
// What the head cannot catch (docs/evidence.md, "What verification cannot catch"): someone who can
// write the directory and kept an older head (every head is validly signed) removes the newest
// records and puts that older head back. Only a head kept elsewhere catches that: Verify's result
// names the head (sequence and hash), the activity logs it with each write, and CheckAnchor
// checks an archive against one noted earlier. Deleting the whole directory is caught the same
// way, and a holder of the signing key can of course write anything.

// HeadFile is the head's name in the archive directory (not a .json name: never taken for a record).
const HeadFile = "HEAD"

// Head names the newest record of the chain.
type Head struct {
	Seq    int    `json:"seq"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Since is the first sequence written while the archive kept a head: 1, unless the head went
	// missing (or the archive predates heads) and a later append began a new one.
	Since     int    `json:"since"`
	Signature string `json:"signature,omitempty"`
	KeyID     string `json:"keyId,omitempty"`
}

// SignedBytes are the head's signed bytes, {"head":{"seq":…,"file":…,"sha256":…,"since":…}}: a
// shape no record's signed bytes have, so a head's signature is never a record's.
func (h Head) SignedBytes() []byte {
	b, _ := Canonical(struct {
		Head Head `json:"head"`
	}{Head{Seq: h.Seq, File: h.File, SHA256: h.SHA256, Since: h.Since}})
	return b
}

// Anchor is the head as a person notes it down: "<seq>:<sha256>".
func (h Head) Anchor() string { return strconv.Itoa(h.Seq) + ":" + h.SHA256 }

// ReadHead reads the archive's head; a missing one is (nil, nil).
func (a *Archive) ReadHead() (*Head, error) {
	b, err := os.ReadFile(filepath.Join(a.Dir, HeadFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h Head
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: not a head: %w", HeadFile, err)
	}
	return &h, nil
}

// writeHead replaces the head (a temporary file renamed over it), signed by signer.
func (a *Archive) writeHead(h Head, signer *Signer) error {
	h.Signature, h.KeyID = "", ""
	if signer != nil {
		h.Signature = base64.StdEncoding.EncodeToString(signer.Sign(h.SignedBytes()))
		h.KeyID = signer.KeyID()
	}
	b, err := Canonical(h)
	if err != nil {
		return err
	}
	tmp, err := a.readOnlyTemp(".tmp-head-*", append(b, '\n'))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, filepath.Join(a.Dir, HeadFile)); err != nil {
		return fmt.Errorf("evidence: write %s: %w", HeadFile, err)
	}
	return nil
}

// verifyHead adds the head's problems to rep: missing, unsigned or badly signed, naming a record
// the archive does not end with (the newest records removed), or behind the archive's end.
func (a *Archive) verifyHead(rep *Result, entries []Entry, keys map[string]ed25519.PublicKey, hashes map[int]string) error {
	add := func(format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{File: HeadFile, What: fmt.Sprintf(format, args...)})
	}
	h, err := a.ReadHead()
	if err != nil {
		add("%v", err)
		return nil
	}
	rep.Head = h
	last := 0
	for _, e := range entries {
		last = max(last, e.Seq)
	}
	if h == nil {
		if len(entries) > 0 {
			add("missing: without it, removing the newest records cannot be detected (the head was removed, or the archive was written before heads existed)")
		}
		return nil
	}
	switch sig, err := base64.StdEncoding.DecodeString(h.Signature); {
	case h.Signature == "":
		add("unsigned (written without EVIDENCE_SIGNING_KEY_FILE)")
	case len(keys) == 0:
	case keys[h.KeyID] == nil:
		add("signed by key %s, which is not one of the trusted keys", h.KeyID)
	case err != nil || !ed25519.Verify(keys[h.KeyID], h.SignedBytes(), sig):
		add("signature does not verify with key %s (edited)", h.KeyID)
	}
	switch {
	case h.Seq > last && last+1 == h.Seq:
		add("the newest record %06d (%s) is missing: removed from the end of the chain (the archive ends at %06d)", h.Seq, h.File, last)
	case h.Seq > last:
		add("records %06d to %06d are missing: removed from the end of the chain (the head names %s, the archive ends at %06d)", last+1, h.Seq, h.File, last)
	case h.Seq < last:
		add("the head names record %06d but the archive goes on to %06d: a writer stopped before updating the head, or an older head was put back", h.Seq, last)
	case hashes[h.Seq] != h.SHA256:
		add("the head names record %06d with hash %s, the archive's record %06d hashes to %s (replaced?)", h.Seq, short(h.SHA256), h.Seq, short(hashes[h.Seq]))
	}
	if h.Since > 1 {
		add("the head began at record %06d: records %06d to %06d were written while the archive had no head, so the removal of the newest of them then would not show", h.Since, 1, h.Since-1)
	}
	return nil
}

// CheckAnchor checks the archive against a head noted earlier ("<seq>:<sha256>", as Verify's
// result names it): the record of that sequence must still be there with that hash. It catches
// what the head alone cannot: the newest records removed and an older head put back.
func (a *Archive) CheckAnchor(anchor string) ([]Problem, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(anchor), ":")
	seq, err := strconv.Atoi(seqText)
	if !ok || err != nil || seq < 1 || len(hash) != 64 {
		return nil, fmt.Errorf("anchor %q: want <seq>:<sha256>, as verify prints the head", anchor)
	}
	entries, err := a.Entries()
	if err != nil {
		return nil, err
	}
	prob := func(format string, args ...any) []Problem {
		return []Problem{{File: "anchor " + seqText, What: fmt.Sprintf(format, args...)}}
	}
	last := 0
	for _, e := range entries {
		last = max(last, e.Seq)
		if e.Seq != seq {
			continue
		}
		env, _, err := a.Read(e.Name)
		switch {
		case err != nil:
			return prob("%s: %v", e.Name, err), nil
		case env.Hash() != hash:
			return prob("record %06d (%s) hashes to %s, the anchor says %s: replaced since the anchor was noted", seq, e.Name, short(env.Hash()), short(hash)), nil
		}
		return nil, nil
	}
	if seq > last {
		return prob("the archive ends at %06d, before the anchor's record %06d: the newest records were removed (and the head with them)", last, seq), nil
	}
	return prob("record %06d is missing (removed)", seq), nil
}
