// The starter is Offboard's command line: plan a device, start it, read its status, list and
// cancel devices, complete an operator's step, and read the operator's inbox. It is a cobra
// command tree: one command a file (cmd_<name>.go), each registering itself with register.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/logging"
	"github.com/offboard/offboard/internal/temporalclient"
)

// cli carries what every command needs: its output streams, the temporal CLI profile chosen by
// the root's flags and, once dialled, the Temporal client.
type cli struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	dial           func(ctx context.Context) (client.Client, error)
	profile        config.ProfileChoice
}

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	c.dial = c.dialTemporal
	if err := c.run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, errUsageShown) {
			fmt.Fprintln(os.Stderr, "starter:", message(err))
		}
		os.Exit(2)
	}
}

// errUsageShown ends a command that has printed its usage already (a command group run alone).
var errUsageShown = errors.New("usage shown")

// command is one registered command: its parent's name ("" for the root) and how to build it.
type command struct {
	parent string
	build  func(*cli) *cobra.Command
}

// commands are filled by the cmd_*.go files' init functions.
var commands []command

// register adds a command under parent: "" (starter <name>), "fleet" (starter fleet <name>) or
// "evidence". A new command is one file that calls it from init.
func register(parent string, build func(*cli) *cobra.Command) {
	commands = append(commands, command{parent, build})
}

// root builds the command tree for one run.
func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "starter",
		Short: "Offboard's command line: retire iOS devices from CLOMO and Apple Business Manager",
		Long: `Offboard's command line: plan a device, start its offboarding, follow it, report the steps a
person carries out, and retire whole fleets.

Temporal: the temporal CLI's profile (--profile, --config-file, TEMPORAL_PROFILE,
TEMPORAL_CONFIG_FILE; temporal.toml) under the TEMPORAL_* variables (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*), which win over it.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetIn(c.stdin)
	root.PersistentFlags().StringVar(&c.profile.Profile, "profile", "", "the temporal CLI profile to connect with (default: TEMPORAL_PROFILE, else \"default\")")
	root.PersistentFlags().StringVar(&c.profile.File, "config-file", "", "the temporal CLI configuration file (default: TEMPORAL_CONFIG_FILE, else its own temporal.toml)")
	_ = root.MarkPersistentFlagFilename("config-file", "toml")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see `%s --help`)", err, cmd.CommandPath())
	})
	built := map[string]*cobra.Command{"": root}
	for _, parentsFirst := range []bool{true, false} {
		for _, cmd := range commands {
			if (cmd.parent == "") != parentsFirst {
				continue
			}
			parent, ok := built[cmd.parent]
			if !ok {
				panic("starter: command group " + cmd.parent + " is not registered")
			}
			sub := cmd.build(c)
			parent.AddCommand(sub)
			if cmd.parent == "" {
				built[sub.Name()] = sub
			}
		}
	}
	return root
}

// group is a command that only holds others (fleet, evidence): alone, it shows its usage.
func group(c *cli, use, short string) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(c.stderr)
			_ = cmd.Usage()
			return fmt.Errorf("%s needs a command", cmd.Name())
		},
	}
}

func (c *cli) run(ctx context.Context, args []string) error {
	root := c.root()
	if len(args) == 0 {
		root.SetOut(c.stderr) // no command: the usage, as an error
		_ = root.Help()
		return errUsageShown
	}
	root.SetArgs(singleDashLongFlags(root, args))
	return root.ExecuteContext(ctx)
}

// singleDashLongFlags rewrites -json as --json: the starter's flags were the standard flag
// package's, which takes either, and scripts written for it keep working. Only names of long
// flags are rewritten, so -o json stays a shorthand.
func singleDashLongFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{cmd.LocalNonPersistentFlags(), cmd.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && long[name] {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

// temporalConfig is the Temporal connection: the TEMPORAL_* variables over the profile chosen by
// --profile and --config-file (or TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE).
func (c *cli) temporalConfig() (config.Temporal, error) {
	return config.LoadTemporalProfile(c.profile)
}

func (c *cli) dialTemporal(ctx context.Context) (client.Client, error) {
	cfg, err := c.temporalConfig()
	if err != nil {
		return nil, err
	}
	logger, err := logging.New(envOr("LOG_LEVEL", "warn"), "console")
	if err != nil {
		logger = zap.NewNop()
	}
	tc, err := temporalclient.Dial(ctx, cfg, logging.NewTemporalLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS, or the profile): %w", cfg.Address, err)
	}
	return tc, nil
}

// message is an error as a person should read it: its own words, without the SDK's decoration
// ("workflow execution error (type: …)", "(type: Rejected, retryable: false)").
func message(err error) string {
	text := err.Error()
	var wee *temporal.WorkflowExecutionError
	if errors.As(err, &wee) && wee.Unwrap() != nil {
		text = strings.Replace(text, wee.Error(), message(wee.Unwrap()), 1)
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		text = strings.Replace(text, app.Error(), app.Message(), 1)
	}
	return text
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// oneSerial reads the one serial a device command takes.
func oneSerial(name string, positional []string) (string, error) {
	if len(positional) != 1 || strings.TrimSpace(positional[0]) == "" {
		return "", fmt.Errorf("%s needs exactly one serial", name)
	}
	return strings.ToUpper(strings.TrimSpace(positional[0])), nil
}
