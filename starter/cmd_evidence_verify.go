package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func init() { register("evidence", evidenceVerifyCmd) }

// errProblems makes verify exit with status 2 after it has printed what is wrong.
var errProblems = errors.New("the evidence archive has problems")

// verification is verify's JSON.
type verification struct {
	Dir      string   `json:"dir"`
	Records  int      `json:"records"`
	Signed   int      `json:"signed"`
	Problems []string `json:"problems"`
	OK       bool     `json:"ok"`
	// Anchor is the head as found (SEQ:SHA256): note it elsewhere and pass it to the next verify.
	Anchor string `json:"anchor,omitempty"`
}

// evidenceVerifyCmd checks every file of the archive (or an unpacked fleet bundle) offline: each
// record's hash chain and signature, and the signed head, so an edited, removed or swapped record
// is named; any problem makes the exit status 2.
func evidenceVerifyCmd(c *cli) *cobra.Command {
	var keyFiles []string
	var anchor string
	var bundle bool
	cmd := &cobra.Command{
		Use:   "verify [--dir D] [--public-key F]... [--anchor SEQ:SHA256] [--bundle]",
		Short: "check the archive: every record's hash chain and signature, and the signed head",
		Example: `  starter evidence verify --dir /srv/offboard/evidence --public-key evidence.pub
  starter evidence verify --anchor 1042:9f2c...   # the head noted after the last verify
  starter evidence verify --bundle --dir mar-2026-evidence --public-key evidence.pub`,
		Args: cobra.NoArgs,
	}
	dir := dirFlag(cmd.Flags())
	cmd.Flags().StringArrayVar(&keyFiles, "public-key", nil, "a trusted public key (PEM; repeat for rotated keys); default: the public half of EVIDENCE_SIGNING_KEY_FILE")
	cmd.Flags().StringVar(&anchor, "anchor", "", "a head noted elsewhere earlier (SEQ:SHA256, printed by verify): the archive must still hold that record")
	cmd.Flags().BoolVar(&bundle, "bundle", false, "--dir is an unpacked fleet bundle (fleet report --evidence), not an archive")
	out := addOutput(cmd, jsonIndented)
	cmd.RunE = func(*cobra.Command, []string) error {
		rep, err := verifyEvidence(*dir, keyFiles, anchor, bundle)
		if err != nil {
			return err
		}
		v := verification{Dir: *dir, Records: rep.Records, Signed: rep.Signed, Problems: []string{}, OK: rep.OK()}
		for _, p := range rep.Problems {
			v.Problems = append(v.Problems, p.String())
		}
		if rep.Head != nil {
			v.Anchor = rep.Head.Anchor()
		}
		if err := out.print(c.stdout, v, func() { printVerification(c.stdout, *dir, rep) }); err != nil {
			return err
		}
		if !v.OK {
			return errProblems
		}
		return nil
	}
	return cmd
}
