// Package integration runs real workers against a real Temporal dev server (bin/temporal, the
// official CLI) and the simulator, and reads the simulator's ledger to prove what ran.
package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/contract"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/logging"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/internal/stack"
)

var (
	tc    client.Client
	world *stack.Stack
	// updateHistories rewrites the committed histories that the replay test reads.
	updateHistories = flag.Bool("update-histories", false, "write workflows/testdata/histories from this run")
)

// TestMain starts the dev server once, from bin/temporal (TEMPORAL_CLI_PATH): nothing is downloaded.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	path := os.Getenv("TEMPORAL_CLI_PATH")
	if path == "" {
		path = filepath.Join("..", "bin", "temporal")
	}
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(os.Stderr, "integration: no Temporal CLI at %s: run `make bin/temporal` (make test does)\n", path)
		return 1
	}
	args := []string{"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"}
	for _, name := range contract.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: path, ExtraArgs: args, LogLevel: "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: quietLogger()},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: start dev server:", err)
		return 1
	}
	defer func() { _ = srv.Stop() }()
	tc = srv.Client()
	dir, err := os.MkdirTemp("", "offboard-integration")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	world, err = stack.Start(stack.Options{TimeScale: 3600, Dir: dir, ReappearAfter: 14 * 24 * time.Hour})
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: start simulator:", err)
		return 1
	}
	defer world.Close()
	if err := world.StartWorkers(tc); err != nil {
		fmt.Fprintln(os.Stderr, "integration: start workers:", err)
		return 1
	}
	return m.Run()
}

// quietLogger keeps the test output to what fails: workers and server log at warn and above.
func quietLogger() log.Logger {
	z, err := logging.New("error", "console")
	if err != nil {
		z = zap.NewNop()
	}
	return logging.NewTemporalLogger(z)
}
