package main

// The Temporal server a measurement runs on (--server): bin/temporal's dev server, a fresh one for
// each measurement, or the PostgreSQL-backed cluster of scripts/cluster.sh, a fresh namespace of it
// for each measurement. A fresh namespace is the cluster's analogue of a fresh dev server: the
// measurement's visibility queries (the fleet's census, the bench's counts) and its workflows see
// nothing of the measurements before it, while the database is shared as a production cluster's
// is. The namespaces stay (retention 72 h, as scripts/cluster.sh makes them); `scripts/cluster.sh
// destroy` removes them with the cluster.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
)

// engine is a running Temporal server and a client of it; *testsuite.DevServer is one.
type engine interface {
	Client() client.Client
	FrontendHostPort() string
	Stop() error
}

// startServer starts the next measurement's server: a dev server, or a namespace on the cluster.
func startServer(ctx context.Context, o options) (engine, error) {
	if o.server == "cluster" {
		return startClusterNamespace(ctx)
	}
	return startDevServer(ctx, o.temporalCLI)
}

// serverKinds are the values of --server.
var serverKinds = []string{"dev", "cluster"}

// serverDescription says in the bench's header what it measures on.
func serverDescription(o options) string {
	if o.server == "cluster" {
		return fmt.Sprintf("the full server %s on PostgreSQL (scripts/cluster.sh, %s, data in %s), a fresh namespace each measurement",
			clusterServerVersion(), clusterAddress(), clusterDir())
	}
	return "dev server, SQLite in memory, a fresh one each measurement"
}

// clusterEngine is one namespace of the cluster: Stop closes the client, the cluster runs on.
type clusterEngine struct {
	address, namespace string
	c                  client.Client
}

func (e *clusterEngine) Client() client.Client    { return e.c }
func (e *clusterEngine) FrontendHostPort() string { return e.address }
func (e *clusterEngine) Stop() error {
	e.c.Close()
	return nil
}

// clusterNamespaces counts the namespaces this run made.
var clusterNamespaces int

// startCluster starts the cluster (scripts/cluster.sh start: nothing when it runs already), once.
// The script reads CLUSTER_DIR, CLUSTER_PORT, CLUSTER_PG_PORT from the environment, as here.
func startCluster(ctx context.Context) error {
	fmt.Println("Cluster: scripts/cluster.sh start ...")
	return clusterScript(ctx, nil, "start")
}

// startClusterNamespace makes a namespace of its own for the next measurement (scripts/cluster.sh
// namespace: the search attributes registered, a probe workflow run and listed) and dials it.
func startClusterNamespace(ctx context.Context) (engine, error) {
	clusterNamespaces++
	ns := fmt.Sprintf("bench-%s-%d", time.Now().UTC().Format("20060102-150405"), clusterNamespaces)
	if err := clusterScript(ctx, []string{"CLUSTER_NAMESPACE=" + ns}, "namespace"); err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: clusterAddress(), Namespace: ns, Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("dial the cluster at %s, namespace %s: %w", clusterAddress(), ns, err)
	}
	return &clusterEngine{address: clusterAddress(), namespace: ns, c: c}, nil
}

func clusterScript(ctx context.Context, env []string, command string) error {
	script := filepath.Join("scripts", "cluster.sh")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("--server cluster runs %s from the repository's root (make bench does): %w", script, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(sctx, "bash", script, command)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/cluster.sh %s: %v\n%s(make cluster builds the tools and starts it)", command, err, out)
	}
	if command == "start" {
		fmt.Print(indent(string(out)))
	}
	return nil
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

// The cluster's address and data, as scripts/cluster.sh computes them from the same variables.
func clusterAddress() string {
	port := os.Getenv("CLUSTER_PORT")
	if port == "" {
		port = "17233"
	}
	return "127.0.0.1:" + port
}

func clusterDir() string {
	if d := os.Getenv("CLUSTER_DIR"); d != "" {
		return d
	}
	return filepath.Join(".offboard", "cluster")
}

func clusterServerVersion() string {
	b, err := os.ReadFile(filepath.Join("scripts", "cluster.sh"))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "server_version="); ok {
			return v
		}
	}
	return "?"
}

// namespace is the namespace of the measurement's server.
func (b *bench) namespace() string {
	if e, ok := b.srv.(*clusterEngine); ok {
		return e.namespace
	}
	return "default"
}

// serverCPU is the CPU seconds the Temporal server has used: the dev server is a child process of
// the bench named temporal; the cluster is the temporal-server process of the script's pid file
// and its PostgreSQL (the postmaster and its backends), which the bench did not start.
var serverCPU = func() float64 { return childCPU(os.Getpid(), "temporal") }

func clusterCPU() float64 {
	total := 0.0
	if pid, ok := pidFile(filepath.Join(clusterDir(), "temporal-server.pid")); ok {
		total += procCPU(fmt.Sprintf("/proc/%d/stat", pid))
	}
	if pid, ok := pidFile(filepath.Join(clusterDir(), "pg", "data", "postmaster.pid")); ok {
		total += procCPU(fmt.Sprintf("/proc/%d/stat", pid)) + childCPU(pid, "postgres")
	}
	return total
}

// pidFile reads the process ID on the first line of a pid file.
func pidFile(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	return pid, err == nil
}

// The dev server satisfies engine.
var _ engine = (*testsuite.DevServer)(nil)
