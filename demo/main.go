// The demo driver of `make demo`: it makes the demo's secrets, puts a sample fleet into the
// simulator (one device per cell of the matrix and wipe method, plus one per caution and error
// branch), offboards each device through Temporal, and prints what became of them and where to look.
// `demo seed` puts one device into the simulator, for a walkthrough (scripts/screenshots.sh).
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/temporalclient"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/workflows"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demo keys --dir D | demo run --sim URL | demo seed --sim URL --serial S --enrollment E")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "keys":
		err = keys(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "seed":
		err = seed(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// keys writes the demo's console token and Apple private key, once.
func keys(args []string) error {
	fs := flag.NewFlagSet("keys", flag.ExitOnError)
	dir := fs.String("dir", ".offboard/demo", "where the secrets go")
	_ = fs.Parse(args)
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	tokenFile := filepath.Join(*dir, "console-token")
	if _, err := os.Stat(tokenFile); errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		if err := os.WriteFile(tokenFile, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return err
		}
	}
	keyFile := filepath.Join(*dir, "apple-key.pem")
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// seed adds one device to the simulator: the enrollment's defaults (docs/simulator.md).
func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	sim := fs.String("sim", "http://127.0.0.1:8088", "the simulator")
	serial := fs.String("serial", "", "the device's serial (required)")
	enrollment := fs.String("enrollment", "ade", "ade-restricted | ade | manual")
	_ = fs.Parse(args)
	if *serial == "" {
		return errors.New("seed needs --serial")
	}
	spec := simulator.DeviceSpecFor(strings.ToUpper(strings.TrimSpace(*serial)), *enrollment)
	if err := postJSON(*sim+"/sim/devices", spec); err != nil {
		return fmt.Errorf("seed the simulator: %w", err)
	}
	fmt.Printf("seeded %s (%s) into the simulator at %s\n", spec.Serial, spec.Enrollment, *sim)
	return nil
}

// sample is one device of the demo fleet and what the procedure prescribes for it.
type sample struct {
	name   string
	spec   simulator.DeviceSpec
	req    procedure.Request
	expect string // "removed", or the party it must end up waiting on
}

func sampleFleet(run string) []sample {
	var out []sample
	n := 0
	add := func(name, enroll string, wipe bool, method procedure.WipeMethod, expect string, mutate func(*simulator.DeviceSpec)) {
		n++
		serial := fmt.Sprintf("DEMO%s%02d", run, n)
		spec := simulator.DeviceSpecFor(serial, enroll)
		spec.CheckInEvery = simulator.Duration(time.Hour)
		spec.UserActsAfter = simulator.Duration(30 * time.Minute)
		if mutate != nil {
			mutate(&spec)
		}
		out = append(out, sample{name: name, spec: spec, expect: expect,
			req: procedure.Request{Serial: serial, Enrollment: procedure.Enrollment(enroll), Wipe: wipe, WipeMethod: method}})
	}
	for _, e := range []string{"ade-restricted", "ade", "manual"} {
		add("wipe, console (2-2)", e, true, procedure.WipeConsole, "removed", nil)
		add("wipe, on the device (2-1)", e, true, procedure.WipeDevice, "removed", nil)
		add("keep", e, false, "", "removed", nil)
	}
	lost := func(s *simulator.DeviceSpec) { s.LostMode = true }
	add("lost mode on (keep)", "ade-restricted", false, "", "removed", lost)
	// Lost mode locks Settings: it is turned off before the user is told to remove the MDM profile.
	add("lost mode on (keep, user)", "ade", false, "", "removed", lost)
	add("lost mode on (keep, manual)", "manual", false, "", "removed", lost)
	add("VPP license left", "manual", true, procedure.WipeConsole, "removed", func(s *simulator.DeviceSpec) { s.VPPLicenses = 3 })
	add("certificates left", "ade", true, procedure.WipeConsole, "removed", func(s *simulator.DeviceSpec) { s.Certificates = 2 })
	add("VPP license Apple keeps", "manual", true, procedure.WipeConsole, "vendor-support", func(s *simulator.DeviceSpec) { s.VPPStuck = true })
	add("Work Smart", "ade-restricted", false, "", "vendor-support", func(s *simulator.DeviceSpec) { s.WorkSmart = true })
	add("never checks in", "ade", false, "", "operator", func(s *simulator.DeviceSpec) { s.CheckInEvery = simulator.Never })
	return out
}

// demoTiming fits the simulator's hour-a-second clock: a device that never checks in reaches its
// deadline within a minute instead of fourteen days.
var demoTiming = workflows.Timing{
	CheckInPoll: 2 * time.Second, ConsolePoll: time.Second, ApplePoll: time.Second, CheckInDeadline: 45 * time.Second,
	UserReminders: []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second}, OperatorReminder: time.Minute,
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	sim := fs.String("sim", "http://127.0.0.1:8088", "the simulator")
	address := fs.String("temporal", "127.0.0.1:7233", "the Temporal frontend")
	ui := fs.String("ui", "http://localhost:8233", "the Temporal Web UI")
	_ = fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The demo's client is every other Offboard client: TEMPORAL_* and CODEC_KEY_FILE from the
	// environment (scripts/lib.sh), so it reads what the worker encrypted.
	cfg, err := config.LoadTemporal()
	if err != nil {
		return err
	}
	cfg.Address = *address
	c, err := temporalclient.Dial(ctx, cfg, quiet{})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", *address, err)
	}
	defer c.Close()
	runID := strings.ToUpper(strconv.FormatInt(time.Now().Unix()%46656, 36))
	fleet := sampleFleet(runID)
	specs := make([]simulator.DeviceSpec, len(fleet))
	for i, s := range fleet {
		specs[i] = s.spec
	}
	if err := postJSON(*sim+"/sim/devices", specs); err != nil {
		return fmt.Errorf("seed the simulator: %w", err)
	}
	fmt.Printf("Offboarding %d sample devices (run %s) ...\n", len(fleet), runID)
	for _, s := range fleet {
		plan, err := procedure.Plan(s.req)
		if err != nil {
			return err
		}
		serial := s.req.Serial
		_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: contract.DeviceWorkflowID(serial), TaskQueue: contract.TaskQueue,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
			StaticSummary:                            fmt.Sprintf("Offboard %s (%s): %s", serial, plan.Path, s.name),
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SADeviceSerial.ValueSet(serial),
				workflows.SAOffboardPath.ValueSet(plan.Path), workflows.SAFleetID.ValueSet("demo-"+runID)),
		}, contract.DeviceWorkflowType, workflows.DeviceInput{Request: s.req, Confirmed: true, RequestedBy: "make demo",
			Contact: "user-" + strings.ToLower(serial) + "@example.com", Timing: demoTiming})
		if err != nil {
			return fmt.Errorf("start %s: %w", serial, err)
		}
	}
	results := waitAll(ctx, c, fleet)
	printTable(fleet, results)
	printWhereToLook(*ui, runID, fleet, results)
	return nil
}

// waitAll polls each device's status until it is removed or waits on the party it should.
func waitAll(ctx context.Context, c client.Client, fleet []sample) map[string]workflows.DeviceStatus {
	out := map[string]workflows.DeviceStatus{}
	for {
		settled := 0
		for _, s := range fleet {
			st, err := status(ctx, c, s.req.Serial)
			if err != nil {
				continue
			}
			out[s.req.Serial] = st
			if st.Outcome != workflows.OutcomeRunning || string(st.WaitingOn) == s.expect {
				settled++
			}
		}
		fmt.Printf("\r  %d of %d devices settled", settled, len(fleet))
		if settled == len(fleet) || ctx.Err() != nil {
			fmt.Println()
			return out
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func status(ctx context.Context, c client.Client, serial string) (workflows.DeviceStatus, error) {
	var st workflows.DeviceStatus
	v, err := c.QueryWorkflow(ctx, contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func printTable(fleet []sample, results map[string]workflows.DeviceStatus) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSERIAL\tCASE\tPATH\tSTEPS\tOUTCOME\tPRESCRIBED\t")
	for _, s := range fleet {
		st := results[s.req.Serial]
		got := st.Outcome
		if got == workflows.OutcomeRunning {
			got = "waiting on " + string(st.WaitingOn) + " at " + string(st.Current)
		}
		want := s.expect
		if want != "removed" {
			want = "waiting on " + want
		}
		mark := "✓"
		if !strings.HasPrefix(got, want) {
			mark = "✗"
		}
		done := 0
		for _, step := range st.Steps {
			if step.State == workflows.StateDone {
				done++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d done\t%s\t%s %s\t\n", s.req.Serial, s.name, st.Path, done, len(st.Steps), got, want, mark)
	}
	_ = tw.Flush()
}

func printWhereToLook(ui, runID string, fleet []sample, results map[string]workflows.DeviceStatus) {
	fmt.Printf(`
Where to look
  Web UI, this demo's devices:  %s/namespaces/default/workflows?query=FleetID%%3D%%22demo-%s%%22
  Devices that need a person:   %s/namespaces/default/workflows?query=WaitingOn%%3D%%22operator%%22+OR+WaitingOn%%3D%%22vendor-support%%22
  The same from the CLI:        bin/temporal workflow list --query "WaitingOn='operator'"
                                bin/starter inbox
  One device:                   bin/starter status <serial> --history
  Apple's budget and queue:     bin/starter apple
  Activation Lock, reusable?:   bin/starter activation-lock <serial>
  The signed records:           bin/starter evidence verify; bin/starter evidence certificate <serial> --out cert.html
  In another terminal first:    export CODEC_KEY_FILE=%s EVIDENCE_DIR=%s EVIDENCE_SIGNING_KEY_FILE=%s
                                (the demo's payload keys, its details being encrypted; its signed records)
`, ui, runID, ui, os.Getenv("CODEC_KEY_FILE"), os.Getenv("EVIDENCE_DIR"), os.Getenv("EVIDENCE_SIGNING_KEY_FILE"))
	for _, s := range fleet {
		st := results[s.req.Serial]
		if st.Outcome == workflows.OutcomeRunning && len(st.Choices) > 0 {
			fmt.Printf("  Complete %-14s bin/starter complete %s %s --outcome %s\n", s.req.Serial+":", s.req.Serial, st.Current, strings.Join(st.Choices, "|"))
		}
	}
}

func postJSON(url string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// quiet drops the SDK client's own log lines from the demo's output.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
