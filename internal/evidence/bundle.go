package evidence

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A fleet's evidence bundle is what an auditor carries away: the fleet's records exactly as the
// archive holds them, with what is needed to verify them offline, without Offboard or the
// archive's other records. Its files:
//
//	README.txt                 what the bundle is and how to verify it
//	summary.json, summary.txt  counts (outcome, path, wiped, removed, unassigned, reusable, approvals) and the verification
//	records/<file>.json        each record of the fleet, byte for byte as archived
//	signed/<file>.bin, .sig    its signed bytes and raw Ed25519 signature, for openssl alone
//	certificates/<file>.html   its printable certificate
//	chain.json                 every file of the archive (sequence, name, hash, prev): where the fleet's records stand in the chain
//	HEAD                       the archive's signed head
//	public-keys.pem            the trusted public keys the bundle was checked with
//
// Written as a directory, or a .tar.gz/.tgz or .zip file, after the out path's suffix.

// ChainLink is one file of the archive in chain.json.
type ChainLink struct {
	Seq    int    `json:"seq"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Prev   string `json:"prev"`
}

// BundledRecord is one record of the bundle, in the summary.
type BundledRecord struct {
	File        string `json:"file"`
	Serial      string `json:"serial"`
	Path        string `json:"path"`
	Outcome     string `json:"outcome"`
	Wiped       bool   `json:"wiped"`
	Unassigned  bool   `json:"unassigned"`
	Reusability string `json:"reusability"`
	Approvals   int    `json:"approvals"`
	SHA256      string `json:"sha256"`
	// Verified: its hash and signature hold with a trusted key; Problem says why not.
	Verified bool   `json:"verified"`
	Problem  string `json:"problem,omitempty"`
}

// FleetSummary is summary.json.
type FleetSummary struct {
	FleetID   string         `json:"fleetId"`
	Generated time.Time      `json:"generated"`
	Records   int            `json:"records"`
	Devices   int            `json:"devices"`
	ByOutcome map[string]int `json:"byOutcome"`
	ByPath    map[string]int `json:"byPath"`
	Wiped     int            `json:"wiped"`
	Removed   int            `json:"removed"`
	// Unassigned: abm-unassign done (§5). NotReusable: Activation Lock still on (a USER lock
	// never is reusable); LockUnknown: Offboard did not read it.
	Unassigned  int `json:"unassigned"`
	Reusable    int `json:"reusable"`
	NotReusable int `json:"notReusable"`
	LockUnknown int `json:"lockUnknown"`
	Approvals   int `json:"approvals"`
	Reports     int `json:"reports"`
	// Verified counts the fleet's records whose signature holds; Archive is the whole archive's
	// verification when the bundle was made (its problems, whatever file they name).
	Verified    int             `json:"verified"`
	Archive     Result          `json:"archive"`
	KeyIDs      []string        `json:"keyIds"`
	RecordsList []BundledRecord `json:"recordsList"`
}

// OK reports whether every record of the fleet verifies and the archive had no problem.
func (s FleetSummary) OK() bool { return s.Verified == s.Records && s.Archive.OK() }

// BundleFleet writes the bundle of fleetID's records to out and returns its summary. keys are
// the trusted public keys (written into the bundle). A fleet without records is an error.
func (a *Archive) BundleFleet(fleetID, out string, keys map[string]ed25519.PublicKey, now time.Time) (FleetSummary, error) {
	entries, err := a.Entries()
	if err != nil {
		return FleetSummary{}, err
	}
	rep, err := a.Verify(keys)
	if err != nil {
		return FleetSummary{}, err
	}
	sum := FleetSummary{FleetID: fleetID, Generated: now.UTC(), ByOutcome: map[string]int{}, ByPath: map[string]int{}, Archive: rep}
	files := map[string][]byte{}
	var chain []ChainLink
	serials := map[string]bool{}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(a.Dir, e.Name))
		if err != nil {
			return FleetSummary{}, err
		}
		env, rec, err := a.Read(e.Name)
		if err != nil {
			chain = append(chain, ChainLink{Seq: e.Seq, File: e.Name})
			continue
		}
		chain = append(chain, ChainLink{Seq: env.Seq, File: e.Name, SHA256: env.SHA256, Prev: env.Prev})
		if rec.FleetID != fleetID {
			continue
		}
		br := summarize(&sum, env, rec, e.Name, keys)
		serials[rec.Serial] = true
		base := strings.TrimSuffix(e.Name, ".json")
		files["records/"+e.Name] = raw
		files["signed/"+base+".bin"] = env.SignedBytes()
		if sig, err := base64.StdEncoding.DecodeString(env.Signature); err == nil && len(sig) > 0 {
			files["signed/"+base+".sig"] = sig
		}
		var page bytes.Buffer
		if err := NewCertificate(env, rec, e.Name, keys, &rep, now).Render(&page); err != nil && !errors.Is(err, ErrNotVerified) {
			return FleetSummary{}, err
		}
		files["certificates/"+base+".html"] = page.Bytes()
		sum.RecordsList = append(sum.RecordsList, br)
	}
	if sum.Records == 0 {
		return FleetSummary{}, fmt.Errorf("no record of fleet %s in %s", fleetID, a.Dir)
	}
	sum.Devices = len(serials)
	var pems []byte
	for id, pub := range keys {
		sum.KeyIDs = append(sum.KeyIDs, id)
		p, err := PublicPEM(pub)
		if err != nil {
			return FleetSummary{}, err
		}
		pems = append(pems, p...)
	}
	sort.Strings(sum.KeyIDs)
	if head, err := os.ReadFile(filepath.Join(a.Dir, HeadFile)); err == nil {
		files[HeadFile] = head
	}
	files["public-keys.pem"] = pems
	if files["chain.json"], err = json.MarshalIndent(chain, "", "  "); err != nil {
		return FleetSummary{}, err
	}
	if files["summary.json"], err = json.MarshalIndent(sum, "", "  "); err != nil {
		return FleetSummary{}, err
	}
	files["summary.txt"] = []byte(sum.Text())
	files["README.txt"] = []byte(bundleReadme(fleetID))
	return sum, writeBundle(out, files, now)
}

func summarize(sum *FleetSummary, env Envelope, rec Record, file string, keys map[string]ed25519.PublicKey) BundledRecord {
	x := readExtras(env.Record)
	br := BundledRecord{File: file, Serial: rec.Serial, Path: rec.Path, Outcome: rec.Outcome, SHA256: env.SHA256,
		Wiped:       rec.Wipe != nil && rec.Wipe.Method != "none" && rec.Wipe.State == "done",
		Reusability: x.Reusability(), Approvals: len(x.Approvals)}
	for _, s := range rec.Steps {
		if s.ID == "abm-unassign" && s.State == "done" {
			br.Unassigned = true
		}
	}
	if err := CheckEnvelope(env, keys); err != nil {
		br.Problem = err.Error()
	} else {
		br.Verified = true
		sum.Verified++
	}
	sum.Records++
	sum.ByOutcome[rec.Outcome]++
	sum.ByPath[rec.Path]++
	sum.Reports += len(rec.Reports)
	sum.Approvals += br.Approvals
	for _, c := range []struct {
		on bool
		n  *int
	}{{br.Wiped, &sum.Wiped}, {rec.Outcome == "removed", &sum.Removed}, {br.Unassigned, &sum.Unassigned},
		{br.Reusability == "reusable", &sum.Reusable}, {br.Reusability == "not reusable", &sum.NotReusable}, {br.Reusability == "unknown", &sum.LockUnknown}} {
		if c.on {
			*c.n++
		}
	}
	return br
}

// Text is the summary for a person.
func (s FleetSummary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Fleet %s: %d records of %d devices (generated %s)\n", s.FleetID, s.Records, s.Devices, s.Generated.Format(time.RFC3339))
	for _, m := range []struct {
		name string
		m    map[string]int
	}{{"outcome", s.ByOutcome}, {"path", s.ByPath}} {
		keys := make([]string, 0, len(m.m))
		for k := range m.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-8s %-22s %d\n", m.name, k, m.m[k])
		}
	}
	fmt.Fprintf(&b, "  wiped %d, removed %d, unassigned in Apple Business Manager %d\n", s.Wiped, s.Removed, s.Unassigned)
	fmt.Fprintf(&b, "  Activation Lock: reusable %d, NOT reusable %d, not read %d\n", s.Reusable, s.NotReusable, s.LockUnknown)
	fmt.Fprintf(&b, "  people's reports %d, second-person approvals %d\n", s.Reports, s.Approvals)
	fmt.Fprintf(&b, "  signatures valid %d of %d (keys %s); archive: %d records, %d problems\n",
		s.Verified, s.Records, strings.Join(s.KeyIDs, ", "), s.Archive.Records, len(s.Archive.Problems))
	for _, r := range s.RecordsList {
		if r.Reusability == "not reusable" {
			fmt.Fprintf(&b, "  NOT REUSABLE %s (%s): Activation Lock still on\n", r.Serial, r.File)
		}
		if !r.Verified {
			fmt.Fprintf(&b, "  PROBLEM %s: %s\n", r.File, r.Problem)
		}
	}
	for _, p := range s.Archive.Problems {
		fmt.Fprintf(&b, "  ARCHIVE PROBLEM %s\n", p)
	}
	return b.String()
}

func bundleReadme(fleetID string) string {
	return `Evidence bundle of fleet ` + fleetID + ` (Offboard retirement records, docs/evidence.md)

records/       each retirement record of the fleet, byte for byte as the archive holds it
certificates/  the printable certificate of each (open in a browser, print on A4)
summary.txt    the counts and what verification found when the bundle was made (summary.json: the same)
chain.json     every file of the archive: where these records stand in the hash chain
HEAD           the archive's signed head (its newest record)
public-keys.pem  the public keys the records were checked with: compare their fingerprints with the
               key you were given out of band (starter evidence keygen printed it)

Verify, offline:
  starter evidence verify --bundle <this directory> --public-key <the key you trust>
or with OpenSSL 3 and nothing of Offboard, for each record:
  openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in signed/<file>.bin -sigfile signed/<file>.sig
  sha256sum signed/<file>.bin     # equals the record's "sha256" and its line in chain.json
and check that signed/<file>.bin is {"seq":…,"record":<the record>,"prev":…} of records/<file>.json.
`
}

// writeBundle writes files to out: a directory, or a .tar.gz/.tgz or .zip file. An existing
// out is never overwritten.
func writeBundle(out string, files map[string][]byte, now time.Time) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("evidence bundle %s already exists: choose another --out", out)
	}
	switch {
	case strings.HasSuffix(out, ".tar.gz") || strings.HasSuffix(out, ".tgz"):
		return writeFileAtomically(out, func(w io.Writer) error {
			gz := gzip.NewWriter(w)
			tw := tar.NewWriter(gz)
			for _, n := range names {
				if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o444, Size: int64(len(files[n])), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
					return err
				}
				if _, err := tw.Write(files[n]); err != nil {
					return err
				}
			}
			if err := tw.Close(); err != nil {
				return err
			}
			return gz.Close()
		})
	case strings.HasSuffix(out, ".zip"):
		return writeFileAtomically(out, func(w io.Writer) error {
			zw := zip.NewWriter(w)
			for _, n := range names {
				f, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: now})
				if err != nil {
					return err
				}
				if _, err := f.Write(files[n]); err != nil {
					return err
				}
			}
			return zw.Close()
		})
	}
	for _, n := range names {
		p := filepath.Join(out, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[n], 0o444); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomically(out string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".tmp-bundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), out)
}

// VerifyBundle checks an unpacked bundle offline: each record's hash and signature with the
// trusted keys, its place in chain.json (hash and prev as listed, the list linked), the head's
// signature and that it names chain.json's last file, and that summary.json says what the records
// say. Problems name the file.
func VerifyBundle(dir string, keys map[string]ed25519.PublicKey) (Result, error) {
	var rep Result
	add := func(file, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{File: file, What: fmt.Sprintf(format, args...)})
	}
	if len(keys) == 0 {
		add(dir, "no public key given: signatures not checked (pass --public-key)")
	}
	var chain []ChainLink
	if b, err := os.ReadFile(filepath.Join(dir, "chain.json")); err != nil || json.Unmarshal(b, &chain) != nil {
		add("chain.json", "missing or not a chain list: %v", err)
	}
	bySeq := map[int]ChainLink{}
	for i, l := range chain {
		bySeq[l.Seq] = l
		if i > 0 && l.Prev != chain[i-1].SHA256 {
			add("chain.json", "%s names prev %s, the file before it (%s) is listed with %s", l.File, short(l.Prev), chain[i-1].File, short(chain[i-1].SHA256))
		}
	}
	recs := &Archive{Dir: filepath.Join(dir, "records")}
	entries, err := recs.Entries()
	if err != nil {
		return rep, fmt.Errorf("bundle %s: %w", dir, err)
	}
	got := FleetSummary{ByOutcome: map[string]int{}, ByPath: map[string]int{}}
	for _, e := range entries {
		rep.Records++
		env, rec, err := recs.Read(e.Name)
		if err != nil {
			add("records/"+e.Name, "%v", err)
			continue
		}
		if err := CheckEnvelope(env, keys); err != nil {
			add("records/"+e.Name, "%v", err)
		} else {
			rep.Signed++
		}
		switch l, ok := bySeq[env.Seq]; {
		case !ok:
			add("records/"+e.Name, "sequence %d is not in chain.json", env.Seq)
		case l.File != e.Name || l.SHA256 != env.Hash() || l.Prev != env.Prev:
			add("records/"+e.Name, "chain.json lists sequence %d as %s %s (prev %s), the record is %s %s (prev %s)",
				env.Seq, l.File, short(l.SHA256), short(l.Prev), e.Name, short(env.Hash()), short(env.Prev))
		}
		summarize(&got, env, rec, e.Name, keys)
	}
	h, err := (&Archive{Dir: dir}).ReadHead()
	switch {
	case err != nil || h == nil:
		add(HeadFile, "missing or unreadable: %v", err)
	default:
		rep.Head = h
		sig, derr := base64.StdEncoding.DecodeString(h.Signature)
		if pub := keys[h.KeyID]; pub == nil || derr != nil || !ed25519.Verify(pub, h.SignedBytes(), sig) {
			add(HeadFile, "signature does not verify with a trusted key (key %s)", h.KeyID)
		}
		if n := len(chain); n > 0 && (chain[n-1].Seq != h.Seq || chain[n-1].SHA256 != h.SHA256) {
			add(HeadFile, "names record %06d %s, chain.json ends with %06d %s", h.Seq, short(h.SHA256), chain[n-1].Seq, short(chain[n-1].SHA256))
		}
	}
	var claimed FleetSummary
	if b, err := os.ReadFile(filepath.Join(dir, "summary.json")); err != nil || json.Unmarshal(b, &claimed) != nil {
		add("summary.json", "missing or unreadable: %v", err)
	} else {
		for _, c := range []struct {
			name      string
			said, got int
		}{{"records", claimed.Records, got.Records}, {"wiped", claimed.Wiped, got.Wiped}, {"removed", claimed.Removed, got.Removed},
			{"unassigned", claimed.Unassigned, got.Unassigned}, {"notReusable", claimed.NotReusable, got.NotReusable},
			{"reusable", claimed.Reusable, got.Reusable}, {"approvals", claimed.Approvals, got.Approvals}, {"reports", claimed.Reports, got.Reports}} {
			if c.said != c.got {
				add("summary.json", "says %s %d, the records say %d", c.name, c.said, c.got)
			}
		}
	}
	return rep, nil
}
