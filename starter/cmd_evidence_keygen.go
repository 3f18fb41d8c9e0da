package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/evidence"
)

func init() { register("evidence", evidenceKeygenCmd) }

// evidenceKeygenCmd writes a new signing key (0600) and prints its public key.
func evidenceKeygenCmd(c *cli) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "keygen --file F",
		Short: "write a new Ed25519 signing key and print its public key",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if file == "" {
				return errors.New("evidence keygen needs --file")
			}
			pub, err := evidence.GenerateKey(file)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "wrote %s; set EVIDENCE_SIGNING_KEY_FILE=%s on the workers. Its public key, for starter evidence verify --public-key:\n", file, file)
			fmt.Fprint(c.stdout, string(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "where to write the Ed25519 private key (PKCS#8 PEM, mode 0600; never overwritten)")
	return cmd
}
