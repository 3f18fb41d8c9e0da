// Command worker is one build of the device workflow, for integration/upgrade_test.go: a worker
// process on a task queue of the test's own, serving only workflow tasks (the device's activities
// run on the product's task queues, served by the test's other workers). SIGTERM stops it as a
// rollout stops a worker.
//
//	worker -build a|b -address host:port -namespace default -task-queue offboard-upgrade-test
package main

import (
	"flag"
	"fmt"
	"os"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/offboard/offboard/integration/upgradebuild"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/logging"
	"github.com/offboard/offboard/workflows"
)

func main() {
	build := flag.String("build", "", "a: the device workflow as it is; b: with build B's changes (package upgradebuild)")
	address := flag.String("address", "127.0.0.1:7233", "Temporal frontend")
	namespace := flag.String("namespace", "default", "Temporal namespace")
	queue := flag.String("task-queue", "", "the task queue of the test's devices")
	flag.Parse()
	if err := run(*build, *address, *namespace, *queue); err != nil {
		fmt.Fprintln(os.Stderr, "upgrade worker:", err)
		os.Exit(1)
	}
}

func run(build, address, namespace, queue string) error {
	if queue == "" {
		return fmt.Errorf("-task-queue is required")
	}
	z, err := logging.New("info", "console")
	if err != nil {
		return err
	}
	z = z.With(zap.String("Build", build))
	c, err := client.Dial(client.Options{HostPort: address, Namespace: namespace, Logger: logging.NewTemporalLogger(z)})
	if err != nil {
		return err
	}
	defer c.Close()
	w := worker.New(c, queue, worker.Options{})
	as := workflow.RegisterOptions{Name: contract.DeviceWorkflowType}
	switch build {
	case "a":
		w.RegisterWorkflowWithOptions(workflows.DeviceOffboarding, as)
	case "b":
		w.RegisterWorkflowWithOptions(upgradebuild.BuildB, as)
		w.RegisterActivityWithOptions(upgradebuild.Mark, activity.RegisterOptions{Name: upgradebuild.MarkActivity})
	default:
		return fmt.Errorf("-build %q: want a or b", build)
	}
	z.Info("upgrade worker started", zap.String("TaskQueue", queue))
	return w.Run(worker.InterruptCh())
}
