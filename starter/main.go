// The starter is Offboard's command line: plan a device, start it, read its status, list and
// cancel devices, complete an operator's step, and read the operator's inbox.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/logging"
	"github.com/offboard/offboard/internal/temporalclient"
)

const usage = `usage: starter <command> [flags]

Commands:
  plan      print the plan for one device (no Temporal server needed)
  start     start offboarding one device
  status    show one device's status (--json, --history)
  list      list devices (by --waiting-on, --path, --step, --fleet)
  inbox     devices that wait on a person, oldest first, with what to do
  complete  report a step a person carried out (the complete-step update)
  event     send a device-event signal (greyed-out, checked-out, record-gone)
  cancel    cancel offboarding of one device
  fleet     retire many devices from a fleet file (fleet start|watch|report|pause|resume|cancel)
  apple     the Apple coordinator: devices waiting for Apple, activities in flight, the request budget
  evidence  retirement records: evidence <serial> | evidence verify | evidence fleet <id> | evidence keygen

Run "starter <command> -h" for the flags of a command.
Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* (as the temporal CLI).`

// cli carries what every command needs: its output streams and, once dialled, the Temporal client.
type cli struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	dial           func(ctx context.Context) (client.Client, error)
}

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, dial: dialFromEnv}
	if err := c.run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "starter:", message(err))
		}
		os.Exit(2)
	}
}

func (c *cli) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "plan":
		return c.plan(rest)
	case "start":
		return c.start(ctx, rest)
	case "status":
		return c.status(ctx, rest)
	case "list":
		return c.list(ctx, rest)
	case "inbox":
		return c.inbox(ctx, rest)
	case "complete":
		return c.complete(ctx, rest)
	case "event":
		return c.event(ctx, rest)
	case "cancel":
		return c.cancel(ctx, rest)
	case "fleet":
		return c.fleet(ctx, rest)
	case "apple":
		return c.apple(ctx, rest)
	case "evidence":
		return c.evidenceCmd(rest)
	case "help", "-h", "--help":
		fmt.Fprintln(c.stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

func dialFromEnv(ctx context.Context) (client.Client, error) {
	cfg, err := config.LoadTemporal()
	if err != nil {
		return nil, err
	}
	logger, err := logging.New(envOr("LOG_LEVEL", "warn"), "console")
	if err != nil {
		logger = zap.NewNop()
	}
	c, err := temporalclient.Dial(ctx, cfg, logging.NewTemporalLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.Address, err)
	}
	return c, nil
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

// flags makes a flag set whose errors and help go to the command's stderr.
func (c *cli) flags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: starter %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before or after the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func oneSerial(name string, positional []string) (string, error) {
	if len(positional) != 1 || strings.TrimSpace(positional[0]) == "" {
		return "", fmt.Errorf("%s needs exactly one serial", name)
	}
	return strings.ToUpper(strings.TrimSpace(positional[0])), nil
}
