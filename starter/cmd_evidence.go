package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/offboard/offboard/internal/evidence"
)

func init() { register("", evidenceCmd) }

// evidenceCmd is `starter evidence`: a device's retirement record (`evidence <serial>`, the same
// as `evidence show <serial>`), and the commands that verify the archive, bundle a fleet's records
// or make a signing key (cmd_evidence_*.go). None needs a Temporal server.
func evidenceCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence <serial>",
		Short: "retirement records: evidence <serial> | evidence verify | evidence fleet <id> | evidence keygen",
		Long: `Read the retirement records the workers write outside Temporal (EVIDENCE_DIR): a device's latest
record, the archive's verification (hash chain and signatures), a fleet's bundle, and the signing
key. None needs a Temporal server.`,
		Example: `  starter evidence F2LXK0A1HG7J
  starter evidence verify --public-key offboard-evidence.pub
  starter evidence fleet mar-2026 --out mar-2026-evidence.json`,
		Args: cobra.ArbitraryArgs,
	}
	show := showFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return c.showRecord(cmd, args, show) }
	return cmd
}

// showOptions are the flags of a record's display, on `evidence` and `evidence show` alike.
type showOptions struct {
	dir *string
	out *output
}

func showFlags(cmd *cobra.Command) showOptions {
	return showOptions{dir: dirFlag(cmd.Flags()), out: addOutput(cmd, jsonCompact)}
}

// showRecord prints a device's latest record; as JSON, exactly as it is stored (canonical JSON).
func (c *cli) showRecord(cmd *cobra.Command, args []string, o showOptions) error {
	serial, err := oneSerial("evidence", args)
	if err != nil {
		return err
	}
	rec, name, err := (&evidence.Archive{Dir: *o.dir}).Latest(serial)
	if err != nil {
		return err
	}
	if !o.out.is(formatJSON) {
		printRecord(c.stdout, rec, name)
		return nil
	}
	b, err := evidence.Canonical(rec)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, string(b))
	return err
}

func dirFlag(fs *pflag.FlagSet) *string {
	return fs.String("dir", envOr("EVIDENCE_DIR", ".offboard/evidence"), "the evidence archive (EVIDENCE_DIR)")
}
