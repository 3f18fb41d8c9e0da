package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/evidence"
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
}

// evidenceVerifyCmd checks every file of the archive; any problem makes the exit status 2.
func evidenceVerifyCmd(c *cli) *cobra.Command {
	var keyFiles []string
	cmd := &cobra.Command{
		Use:   "verify [--dir D] [--public-key F]...",
		Short: "check the archive: every record's hash chain and signature",
		Args:  cobra.NoArgs,
	}
	dir := dirFlag(cmd.Flags())
	cmd.Flags().StringArrayVar(&keyFiles, "public-key", nil, "a trusted public key (PEM; repeat for rotated keys); default: the public half of EVIDENCE_SIGNING_KEY_FILE")
	out := addOutput(cmd, jsonIndented)
	cmd.RunE = func(*cobra.Command, []string) error {
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
		v := verification{Dir: *dir, Records: rep.Records, Signed: rep.Signed, Problems: []string{}, OK: rep.OK()}
		for _, p := range rep.Problems {
			v.Problems = append(v.Problems, p.String())
		}
		if err := out.print(c.stdout, v, func() {
			for _, p := range v.Problems {
				fmt.Fprintln(c.stdout, "PROBLEM", p)
			}
			fmt.Fprintf(c.stdout, "%d records, %d with a valid signature, %d problems (%s)\n", v.Records, v.Signed, len(v.Problems), v.Dir)
		}); err != nil {
			return err
		}
		if !v.OK {
			return errProblems
		}
		return nil
	}
	return cmd
}
