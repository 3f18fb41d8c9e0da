package main

import (
	"github.com/spf13/cobra"
)

func init() { register("evidence", evidenceCertificateCmd) }

// evidenceCertificateCmd writes the printable certificate (one A4 page, the vendor's labels in
// Japanese and English) of a device's newest record. A record that does not verify is still
// written, marked INVALID, and the command fails.
func evidenceCertificateCmd(c *cli) *cobra.Command {
	var keyFiles []string
	var outFile string
	cmd := &cobra.Command{
		Use:     "certificate <serial> [--dir D] [--public-key F]... [--out file.html]",
		Short:   "the printable retirement certificate of a device, from its signed record (HTML)",
		Example: "  starter evidence certificate F2LXK0A1HG7J --out F2LXK0A1HG7J.html",
		Args:    cobra.ExactArgs(1),
	}
	dir := dirFlag(cmd.Flags())
	cmd.Flags().StringArrayVar(&keyFiles, "public-key", nil, "a trusted public key (PEM; repeat for rotated keys); default: the public half of EVIDENCE_SIGNING_KEY_FILE")
	cmd.Flags().StringVar(&outFile, "out", "", "the HTML file to write (default: standard output)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return evidenceCertificate(cmd.Context(), c.stdout, *dir, args[0], outFile, keyFiles)
	}
	return cmd
}
