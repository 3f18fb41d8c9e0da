package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Output formats of the reading commands.
const (
	formatTable = "table" // for a person: the default
	formatJSON  = "json"  // for a program: one JSON document on stdout, nothing else
)

// jsonStyle is how a command's JSON is laid out. Each command keeps the layout it had before
// --output existed, so scripts that read it keep working.
type jsonStyle int

const (
	jsonCompact  jsonStyle = iota // one line (plan's contract, list, inbox)
	jsonIndented                  // two-space indent (status, apple, fleet watch)
)

// output is a reading command's --output (-o) flag, with --json kept as its alias. Every reading
// command gets it from addOutput, so the flag, its check and its JSON are written once.
type output struct {
	cmd     *cobra.Command
	value   string
	allowed []string
	asJSON  bool
	style   jsonStyle
}

// addOutput gives cmd --output table|json (and any extra formats the command prints itself, as
// fleet report's csv) and --json, and checks them before the command runs.
func addOutput(cmd *cobra.Command, style jsonStyle, extra ...string) *output {
	o := &output{cmd: cmd, value: formatTable, allowed: append([]string{formatTable, formatJSON}, extra...), style: style}
	cmd.Flags().VarP(o, "output", "o", "output format: "+strings.Join(o.allowed, " | "))
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "same as --output json")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return o.allowed, cobra.ShellCompDirectiveNoFileComp
	})
	next := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if o.asJSON {
			if cmd.Flags().Changed("output") && o.value != formatJSON {
				return fmt.Errorf("--json and --output %s disagree: give one", o.value)
			}
			o.value = formatJSON
		}
		if next != nil {
			return next(cmd, args)
		}
		return nil
	}
	return o
}

// String, Set and Type make output a pflag.Value, so a bad format is refused while the flags
// are parsed, before anything is dialled or started.
func (o *output) String() string { return o.value }
func (o *output) Type() string   { return "format" }
func (o *output) Set(v string) error {
	v = strings.ToLower(strings.TrimSpace(v))
	if !slices.Contains(o.allowed, v) {
		return fmt.Errorf("%q is not an output format: use %s", v, strings.Join(o.allowed, " or "))
	}
	o.value = v
	return nil
}

// is reports whether the command prints format.
func (o *output) is(format string) bool { return o.value == format }

// print writes v as JSON when asked for, else calls table.
func (o *output) print(w io.Writer, v any, table func()) error {
	if !o.is(formatJSON) {
		table()
		return nil
	}
	return writeJSON(w, v, o.style)
}

// writeJSON writes one JSON document: HTML characters as they are (instructions hold <, >, &).
func writeJSON(w io.Writer, v any, style jsonStyle) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if style == jsonIndented {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
