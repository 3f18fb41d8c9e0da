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

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
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
	// devServer is the dev server the suite started (nil when it dials OFFBOARD_TEST_TEMPORAL_ADDRESS).
	devServer *testsuite.DevServer
	// updateHistories rewrites the committed histories that the replay test reads.
	updateHistories = flag.Bool("update-histories", false, "write workflows/testdata/histories from this run")
)

// TestMain starts the dev server once, from bin/temporal (TEMPORAL_CLI_PATH): nothing is downloaded.
// With OFFBOARD_TEST_TEMPORAL_ADDRESS set it dials that server instead (make test-cluster).
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

// serverAddressEnv names a Temporal server that already runs (scripts/cluster.sh start, or any
// cluster whose namespace has the contract's search attributes): the suite dials it instead of
// starting a dev server. make test-cluster sets it.
const serverAddressEnv = "OFFBOARD_TEST_TEMPORAL_ADDRESS"

// serverAddress is the value of serverAddressEnv: empty when the suite runs its own dev server.
var serverAddress = os.Getenv(serverAddressEnv)

func run(m *testing.M) int {
	var stopServer func()
	var err error
	if serverAddress != "" {
		tc, err = dialServer(serverAddress)
	} else {
		tc, stopServer, err = startDevServer()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if stopServer != nil {
		defer stopServer()
	} else {
		defer tc.Close()
	}
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

// startDevServer starts the dev server from bin/temporal (TEMPORAL_CLI_PATH) with the contract's
// search attributes.
func startDevServer() (client.Client, func(), error) {
	path := os.Getenv("TEMPORAL_CLI_PATH")
	if path == "" {
		path = filepath.Join("..", "bin", "temporal")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no Temporal CLI at %s: run `make bin/temporal` (make test does)", path)
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
		return nil, nil, fmt.Errorf("start dev server: %w", err)
	}
	devServer = srv
	return srv.Client(), func() { _ = srv.Stop() }, nil
}

// dialServer dials a server that already runs, in OFFBOARD_TEST_TEMPORAL_NAMESPACE (default
// "default"), and checks that the namespace has the contract's search attributes: the suite does
// not register them on a server it did not start.
func dialServer(address string) (client.Client, error) {
	namespace := os.Getenv("OFFBOARD_TEST_TEMPORAL_NAMESPACE")
	if namespace == "" {
		namespace = "default"
	}
	c, err := client.Dial(client.Options{HostPort: address, Namespace: namespace, Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("dial %s=%s: %w", serverAddressEnv, address, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("search attributes of namespace %s at %s: %w", namespace, address, err)
	}
	for _, name := range contract.SearchAttributeNames {
		if sa.GetCustomAttributes()[name] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			c.Close()
			return nil, fmt.Errorf("namespace %s at %s has no Keyword search attribute %s (scripts/cluster.sh start registers them)", namespace, address, name)
		}
	}
	return c, nil
}

// quietLogger keeps the test output to what fails: workers and server log at warn and above.
func quietLogger() log.Logger {
	z, err := logging.New("error", "console")
	if err != nil {
		z = zap.NewNop()
	}
	return logging.NewTemporalLogger(z)
}
