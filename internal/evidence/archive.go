package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The archive is a directory: one file per record, named <seq>-<serial>-<run id>.json (seq six
// digits or more, from 1), each an Envelope, and the signed head (HeadFile, head.go) naming the newest. Appends are serialized by an exclusive flock on
// <dir>/.lock, so workers that share the directory (one machine, or a shared volume whose
// filesystem honours flock) never fork the chain. A file is written to a temporary name, synced,
// made read-only (0444) and linked to its final name, which fails if the name exists: write-once.

// Envelope is one archive file: the record, the hash of the previous file, this file's hash and
// the signature.
type Envelope struct {
	Seq    int             `json:"seq"`
	Record json.RawMessage `json:"record"`
	// Prev is the SHA256 of the previous file ("" for the first).
	Prev string `json:"prev"`
	// SHA256 is the hex SHA-256 of the signed bytes (SignedBytes); Signature is their Ed25519
	// signature (base64), KeyID names the key. An unsigned record has neither.
	SHA256    string `json:"sha256"`
	Signature string `json:"signature,omitempty"`
	KeyID     string `json:"keyId,omitempty"`
}

// SignedBytes are the bytes hashed and signed: {"seq":<seq>,"record":<record as stored>,"prev":"<prev>"}.
// The record's bytes are taken exactly as stored, so any edited byte changes them.
func (e Envelope) SignedBytes() []byte {
	var b bytes.Buffer
	b.WriteString(`{"seq":`)
	b.WriteString(strconv.Itoa(e.Seq))
	b.WriteString(`,"record":`)
	b.Write(e.Record)
	b.WriteString(`,"prev":`)
	p, _ := json.Marshal(e.Prev)
	b.Write(p)
	b.WriteString(`}`)
	return b.Bytes()
}

// Hash is the hex SHA-256 of SignedBytes.
func (e Envelope) Hash() string {
	sum := sha256.Sum256(e.SignedBytes())
	return hex.EncodeToString(sum[:])
}

// ErrConflict: the archive already holds a different record for the same workflow run.
var ErrConflict = errors.New("a different record of this run is already in the archive")

// Archive is an evidence directory.
type Archive struct {
	Dir string
}

// Open makes the directory if need be.
func Open(dir string) (*Archive, error) {
	if dir == "" {
		return nil, errors.New("evidence: no archive directory (EVIDENCE_DIR)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("evidence archive %s: %w", dir, err)
	}
	return &Archive{Dir: dir}, nil
}

var fileName = regexp.MustCompile(`^([0-9]{6,})-([A-Za-z0-9]+)-([A-Za-z0-9._-]+)\.json$`)

// FileName is the name of the file of record seq.
func FileName(seq int, serial, runID string) string {
	return fmt.Sprintf("%06d-%s-%s.json", seq, serial, runID)
}

// Entry is one file of the archive.
type Entry struct {
	Name   string
	Seq    int // from the name
	Serial string
	RunID  string
}

// Entries lists the archive's record files in sequence order; files that are not records (the
// lock, temporary files) are left out, but a .json file with a malformed name is listed with Seq 0.
func (a *Archive) Entries() ([]Entry, error) {
	des, err := os.ReadDir(a.Dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		n := de.Name()
		if de.IsDir() || !strings.HasSuffix(n, ".json") || strings.HasPrefix(n, ".") {
			continue
		}
		e := Entry{Name: n}
		if m := fileName.FindStringSubmatch(n); m != nil {
			e.Seq, _ = strconv.Atoi(m[1])
			e.Serial, e.RunID = m[2], m[3]
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Read reads one file of the archive.
func (a *Archive) Read(name string) (Envelope, Record, error) {
	b, err := os.ReadFile(filepath.Join(a.Dir, name))
	if err != nil {
		return Envelope{}, Record{}, err
	}
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Envelope{}, Record{}, fmt.Errorf("%s: not an evidence file: %w", name, err)
	}
	var rec Record
	if err := json.Unmarshal(env.Record, &rec); err != nil {
		return env, Record{}, fmt.Errorf("%s: its record does not parse: %w", name, err)
	}
	return env, rec, nil
}

// Append writes rec as the next record of the chain, signed by signer (nil: unsigned, which
// Verify reports). A record of the same run already in the archive makes Append a no-op when its
// workflow part is the same (the activity's retry: existed is true, and the stored envelope is
// returned) and fails with ErrConflict when it differs.
func (a *Archive) Append(rec Record, signer *Signer) (env Envelope, name string, existed bool, err error) {
	if rec.Serial == "" || rec.RunID == "" || !fileName.MatchString(FileName(1, rec.Serial, rec.RunID)) {
		return Envelope{}, "", false, fmt.Errorf("evidence: a record needs a serial and a run ID that fit a file name (%q, %q)", rec.Serial, rec.RunID)
	}
	raw, err := Canonical(rec)
	if err != nil {
		return Envelope{}, "", false, err
	}
	unlock, err := lock(filepath.Join(a.Dir, ".lock"))
	if err != nil {
		return Envelope{}, "", false, fmt.Errorf("evidence archive %s: lock: %w", a.Dir, err)
	}
	defer unlock()
	entries, err := a.Entries()
	if err != nil {
		return Envelope{}, "", false, err
	}
	for _, e := range entries {
		if e.RunID != rec.RunID {
			continue
		}
		old, oldRec, err := a.Read(e.Name)
		if err != nil {
			return Envelope{}, "", false, err
		}
		if oldRec.WorkflowID != rec.WorkflowID {
			continue // a run is its workflow ID and run ID (the SDK's test environment gives every run one run ID)
		}
		same, err := sameWorkflowPart(oldRec, rec)
		if err != nil {
			return Envelope{}, "", false, err
		}
		if same {
			// A retry after a crash between the record and its head: the head catches up.
			if h, err := a.ReadHead(); err == nil && h != nil && h.Seq < old.Seq && e.Name == entries[len(entries)-1].Name {
				if err := a.writeHead(Head{Seq: old.Seq, File: e.Name, SHA256: old.Hash(), Since: h.Since}, signer); err != nil {
					return Envelope{}, "", false, err
				}
			}
			return old, e.Name, true, nil
		}
		return Envelope{}, e.Name, false, fmt.Errorf("evidence: %s: %w", e.Name, ErrConflict)
	}
	head, err := a.ReadHead()
	if err != nil {
		head = nil // a damaged head: Verify names it; the record is written and a new head begins
	}
	env = Envelope{Seq: 1, Record: raw}
	since := 1
	if n := len(entries); n > 0 {
		last := entries[n-1]
		prev, _, err := a.Read(last.Name)
		if err != nil {
			return Envelope{}, "", false, fmt.Errorf("evidence: cannot chain to %s: %w", last.Name, err)
		}
		env.Seq, env.Prev = max(last.Seq, prev.Seq)+1, prev.Hash()
		since = env.Seq
	}
	if head != nil {
		since = max(head.Since, 1)
		// The newest records were removed: chain to the record the head names, so the gap
		// stays visible after this record instead of being written over.
		if head.Seq >= env.Seq {
			env.Seq, env.Prev = head.Seq+1, head.SHA256
		}
	}
	env.SHA256 = env.Hash()
	if signer != nil {
		env.Signature = base64.StdEncoding.EncodeToString(signer.Sign(env.SignedBytes()))
		env.KeyID = signer.KeyID()
	}
	name = FileName(env.Seq, rec.Serial, rec.RunID)
	if err := a.writeOnce(name, env); err != nil {
		return Envelope{}, "", false, err
	}
	if err := a.writeHead(Head{Seq: env.Seq, File: name, SHA256: env.SHA256, Since: since}, signer); err != nil {
		return Envelope{}, "", false, err
	}
	return env, name, false, nil
}

func sameWorkflowPart(a, b Record) (bool, error) {
	x, err := Canonical(a.workflowPart())
	if err != nil {
		return false, err
	}
	y, err := Canonical(b.workflowPart())
	if err != nil {
		return false, err
	}
	return bytes.Equal(x, y), nil
}

// readOnlyTemp writes b to a new temporary file of the archive's directory, synced and made
// read-only, and returns its path; the caller links or renames it into place and removes it.
func (a *Archive) readOnlyTemp(pattern string, b []byte) (string, error) {
	tmp, err := os.CreateTemp(a.Dir, pattern)
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// writeOnce writes env to a temporary file, syncs it, makes it read-only and links it to name,
// which fails if name exists.
func (a *Archive) writeOnce(name string, env Envelope) error {
	b, err := Canonical(env)
	if err != nil {
		return err
	}
	tmp, err := a.readOnlyTemp(".tmp-*", append(b, '\n'))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, filepath.Join(a.Dir, name)); err != nil {
		return fmt.Errorf("evidence: write %s: %w", name, err)
	}
	if d, err := os.Open(a.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Latest is the newest record of serial (by sequence), and its file name.
func (a *Archive) Latest(serial string) (Record, string, error) {
	entries, err := a.Entries()
	if err != nil {
		return Record{}, "", err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if strings.EqualFold(entries[i].Serial, serial) {
			_, rec, err := a.Read(entries[i].Name)
			return rec, entries[i].Name, err
		}
	}
	return Record{}, "", fmt.Errorf("no record of %s in %s", serial, a.Dir)
}

// Records reads every record whose keep returns true, in sequence order.
func (a *Archive) Records(keep func(Record) bool) ([]Record, []string, error) {
	entries, err := a.Entries()
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	var names []string
	for _, e := range entries {
		_, rec, err := a.Read(e.Name)
		if err != nil {
			return nil, nil, err
		}
		if keep(rec) {
			recs, names = append(recs, rec), append(names, e.Name)
		}
	}
	return recs, names, nil
}
