package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/evidence"
)

// errProblems makes verify exit with status 2 after it has printed what is wrong.
var errProblems = errors.New("the evidence archive has problems")

// evidenceCmd is `starter evidence`: read a device's retirement record, verify the archive,
// bundle a fleet's records, or make a signing key. None needs a Temporal server.
func (c *cli) evidenceCmd(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return c.evidenceVerify(args[1:])
		case "keygen":
			return c.evidenceKeygen(args[1:])
		case "fleet":
			return c.evidenceFleet(args[1:])
		}
	}
	fs := c.flags("evidence", "<serial> [--dir D] [--json] | verify [--dir D] [--public-key F] | fleet <fleet-id> [--dir D] [--out F] | keygen --file F")
	dir := dirFlag(fs)
	asJSON := fs.Bool("json", false, "print the record as it is stored (canonical JSON)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	serial, err := oneSerial("evidence", pos)
	if err != nil {
		return err
	}
	a := &evidence.Archive{Dir: *dir}
	rec, name, err := a.Latest(serial)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := evidence.Canonical(rec)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, string(b))
		return nil
	}
	printRecord(c, rec, name)
	return nil
}

func dirFlag(fs *flag.FlagSet) *string {
	return fs.String("dir", envOr("EVIDENCE_DIR", ".offboard/evidence"), "the evidence archive (EVIDENCE_DIR)")
}

func ts(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func printRecord(c *cli, r evidence.Record, name string) {
	w := c.stdout
	fmt.Fprintf(w, "Retirement record of %s (%s)\n", r.Serial, name)
	fmt.Fprintf(w, "  workflow   %s run %s\n", r.WorkflowID, r.RunID)
	if r.FleetID != "" {
		fmt.Fprintf(w, "  fleet      %s\n", r.FleetID)
	}
	fmt.Fprintf(w, "  path       %s (console %s, requested by %s)\n", r.Path, orDash(r.ConsoleMode), orDash(r.RequestedBy))
	fmt.Fprintf(w, "  outcome    %s\n", r.Outcome)
	if r.Error != "" {
		fmt.Fprintf(w, "  error      %s\n", r.Error)
	}
	fmt.Fprintf(w, "  started    %s\n  ended      %s\n", ts(&r.StartedAt), ts(&r.EndedAt))
	fmt.Fprintf(w, "  greyed-out %s\n  record gone %s\n", ts(r.GreyedOutAt), ts(r.RecordGoneAt))
	if r.Wipe != nil {
		fmt.Fprintf(w, "  wipe       %s %s %s (remove eSIM %v, return to service %v)\n", r.Wipe.Method, r.Wipe.Step, r.Wipe.State, r.Wipe.RemoveESIM, r.Wipe.ReturnToService)
		if r.Wipe.Meaning != "" {
			fmt.Fprintf(w, "             %s\n             %s\n", r.Wipe.Meaning, r.Wipe.Reference)
		}
	}
	if a := r.Apple; a != nil {
		fmt.Fprintf(w, "  apple      activity %s %s %s\n", a.ActivityID, a.ActivityStatus, a.SubStatus)
		if a.LogLine != nil {
			fmt.Fprintf(w, "             log: %s %s %s %s\n", a.LogLine.Serial, a.LogLine.Status, a.LogLine.Code, a.LogLine.Detail)
		} else if a.LogNote != "" {
			fmt.Fprintf(w, "             log: %s\n", a.LogNote)
		}
	}
	fmt.Fprintf(w, "  activation lock %s\n", r.ActivationLock)
	fmt.Fprintf(w, "  software   %s %s %s\n", r.Software.Module, r.Software.Version, r.Software.Revision)
	fmt.Fprintln(w, "Steps:")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %-28s %-8s attempts %d  %s → %s\n", s.ID, s.State, s.Attempts, ts(s.StartedAt), ts(s.EndedAt))
		if s.Note != "" {
			fmt.Fprintf(w, "      %s\n", s.Note)
		}
		if len(s.CommandIDs) > 0 {
			fmt.Fprintf(w, "      commands %s; keys %s\n", strings.Join(s.CommandIDs, ", "), strings.Join(s.IdempotencyKeys, ", "))
		}
	}
	if len(r.Reports) > 0 {
		fmt.Fprintln(w, "Reports:")
		for _, p := range r.Reports {
			fmt.Fprintf(w, "  %s %s reported %s %s %s\n", ts(&p.Time), p.By, p.Step, p.Outcome, p.Note)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "Warnings:")
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "  - %s\n", x)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// evidenceVerify checks every file of the archive; any problem makes the exit status 2.
func (c *cli) evidenceVerify(args []string) error {
	fs := c.flags("evidence verify", "[--dir D] [--public-key F]...")
	dir := dirFlag(fs)
	var keyFiles stringList
	fs.Var(&keyFiles, "public-key", "a trusted public key (PEM; repeat for rotated keys); default: the public half of EVIDENCE_SIGNING_KEY_FILE")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if len(keyFiles) == 0 && os.Getenv("EVIDENCE_SIGNING_KEY_FILE") != "" {
		keyFiles = append(keyFiles, os.Getenv("EVIDENCE_SIGNING_KEY_FILE"))
	}
	var pubs []ed25519.PublicKey
	for _, f := range keyFiles {
		p, err := evidence.LoadPublicKey(f)
		if err != nil {
			return err
		}
		pubs = append(pubs, p)
	}
	if _, err := os.Stat(*dir); err != nil {
		return fmt.Errorf("evidence archive %s: %w", *dir, err)
	}
	rep, err := (&evidence.Archive{Dir: *dir}).Verify(evidence.Keys(pubs...))
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(c.stdout, "PROBLEM", p.String())
	}
	fmt.Fprintf(c.stdout, "%d records, %d with a valid signature, %d problems (%s)\n", rep.Records, rep.Signed, len(rep.Problems), *dir)
	if !rep.OK() {
		return errProblems
	}
	return nil
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// evidenceKeygen writes a new signing key (0600) and prints its public key.
func (c *cli) evidenceKeygen(args []string) error {
	fs := c.flags("evidence keygen", "--file F")
	file := fs.String("file", "", "where to write the Ed25519 private key (PKCS#8 PEM, mode 0600; never overwritten)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("evidence keygen needs --file")
	}
	pub, err := evidence.GenerateKey(*file)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "wrote %s; set EVIDENCE_SIGNING_KEY_FILE=%s on the workers. Its public key, for starter evidence verify --public-key:\n", *file, *file)
	fmt.Fprint(c.stdout, string(pub))
	return nil
}

// FleetBundle is a fleet's records with a summary.
type FleetBundle struct {
	FleetID   string            `json:"fleetId"`
	Summary   map[string]int    `json:"summary"` // records by outcome
	Devices   int               `json:"devices"`
	Files     []string          `json:"files"`
	Records   []evidence.Record `json:"records"`
	Generated time.Time         `json:"generated"`
}

// evidenceFleet bundles the records of one fleet (every run of every device) with a summary.
func (c *cli) evidenceFleet(args []string) error {
	fs := c.flags("evidence fleet", "<fleet-id> [--dir D] [--out bundle.json]")
	dir := dirFlag(fs)
	out := fs.String("out", "", "write the bundle (JSON) here; default: print the summary only")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("evidence fleet needs exactly one fleet ID")
	}
	recs, names, err := (&evidence.Archive{Dir: *dir}).Records(func(r evidence.Record) bool { return r.FleetID == pos[0] })
	if err != nil {
		return err
	}
	b := FleetBundle{FleetID: pos[0], Summary: map[string]int{}, Files: names, Records: recs, Generated: time.Now().UTC()}
	serials := map[string]bool{}
	for _, r := range recs {
		b.Summary[r.Outcome]++
		serials[r.Serial] = true
	}
	b.Devices = len(serials)
	outcomes := make([]string, 0, len(b.Summary))
	for o := range b.Summary {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	fmt.Fprintf(c.stdout, "fleet %s: %d records of %d devices\n", b.FleetID, len(recs), b.Devices)
	for _, o := range outcomes {
		fmt.Fprintf(c.stdout, "  %-10s %d\n", o, b.Summary[o])
	}
	if *out != "" {
		data, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "bundle written to %s (verify the archive itself with starter evidence verify)\n", *out)
	}
	return nil
}
