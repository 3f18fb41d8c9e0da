package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

// encoded is a query's answer, as the SDK hands it to the caller.
type encoded struct{ v any }

func (e encoded) HasValue() bool { return true }
func (e encoded) Get(ptr any) error {
	p, err := converter.GetDefaultDataConverter().ToPayload(e.v)
	if err != nil {
		return err
	}
	return converter.GetDefaultDataConverter().FromPayload(p, ptr)
}

func mockCLI(t *testing.T, tc *mocks.Client) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cli{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), dial: func(context.Context) (client.Client, error) {
		return tc, nil
	}}, &out, &errb
}

// Every reading command takes --output table|json and --json; a command added later that reads
// must be added here.
func TestEveryReadingCommandHasOutput(t *testing.T) {
	c, _, _ := testCLI("")
	root := c.root()
	for _, path := range []string{"plan", "status", "list", "inbox", "apple", "fleet watch", "fleet report", "evidence", "evidence show", "evidence verify", "evidence fleet", "activation-lock"} {
		cmd, _, err := root.Find(strings.Fields(path))
		if err != nil || cmd.CommandPath() != "starter "+path {
			t.Fatalf("%s: found %v, %v", path, cmd.CommandPath(), err)
		}
		o := cmd.Flags().Lookup("output")
		if o == nil || o.Shorthand != "o" || o.DefValue != formatTable || cmd.Flags().Lookup("json") == nil {
			t.Errorf("%s: no --output/-o (default table) and --json", path)
		}
	}
}

// A bad format is refused while the flags are parsed, so nothing is dialled.
func TestOutputRefusesBadValues(t *testing.T) {
	for _, args := range [][]string{
		{"status", "F2LXK0A1HG7J", "-o", "yaml"},
		{"list", "--output=xml"},
		{"fleet", "report", "mar-2026", "-o", "yaml"},
		{"plan", "--serial", "ABC123456", "--enrollment", "ade", "--wipe", "-o", "csv"},
	} {
		c, out, _ := fleetCLI("", nil) // a dial panics
		err := c.run(context.Background(), args)
		if err == nil || !strings.Contains(err.Error(), "is not an output format") || !strings.Contains(err.Error(), "--help") {
			t.Errorf("%v: %v", args, err)
		}
		if out.Len() > 0 {
			t.Errorf("%v printed %q", args, out)
		}
	}
	c, _, _ := fleetCLI("", nil)
	err := c.run(context.Background(), []string{"status", "F2LXK0A1HG7J", "--json", "-o", "table"})
	if err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("--json -o table: %v", err)
	}
}

var statusNow = workflows.DeviceStatus{Serial: "F2LXK0A1HG7J", Path: "wipe/ade", ConsoleMode: "operator", Outcome: "running",
	Current: "console-wipe", WaitingOn: "operator", Instruction: "click <Erase> & confirm", Choices: []string{"done"},
	Steps: []workflows.StepStatus{{ID: "preflight", State: "done", Attempts: 1}, {ID: "console-wipe", State: "waiting"}}}

func statusClient(t *testing.T) *mocks.Client {
	tc := mocks.NewClient(t)
	tc.On("QueryWorkflow", mock.Anything, contract.DeviceWorkflowID("F2LXK0A1HG7J"), "", contract.QueryStatus).Return(encoded{statusNow}, nil)
	tc.On("Close").Return()
	return tc
}

// status -o json is the status query's document and nothing else, in the layout it had; table is
// the default; -json (the flag package's single dash) still works.
func TestStatusOutput(t *testing.T) {
	for _, args := range [][]string{{"-o", "json"}, {"--output", "json"}, {"--json"}, {"-json"}} {
		c, out, _ := mockCLI(t, statusClient(t))
		if err := c.run(context.Background(), append([]string{"status", "f2lxk0a1hg7j"}, args...)); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var got workflows.DeviceStatus
		dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil || got.Current != "console-wipe" || got.Instruction != statusNow.Instruction {
			t.Errorf("%v: %v %+v\n%s", args, err, got, out)
		}
		if dec.More() || !strings.Contains(out.String(), `"current": "console-wipe"`) {
			t.Errorf("%v: not one indented document:\n%s", args, out)
		}
	}
	c, out, _ := mockCLI(t, statusClient(t))
	if err := c.run(context.Background(), []string{"status", "F2LXK0A1HG7J"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Device F2LXK0A1HG7J  path wipe/ade", "STEP", "console-wipe", "starter complete F2LXK0A1HG7J console-wipe --outcome done"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func keyword(t *testing.T, s string) *commonpb.Payload {
	p, err := converter.GetDefaultDataConverter().ToPayload(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// list -o json is one line a script can grep, [] when nothing matches.
func TestListOutput(t *testing.T) {
	tc := mocks.NewClient(t)
	tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.Query, "WaitingOn = 'operator'")
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			contract.SADeviceSerial: keyword(t, "F2LXK0A1HG7J"), contract.SAOffboardStep: keyword(t, "console-wipe"), contract.SAWaitingOn: keyword(t, "operator")}},
	}}}, nil).Once()
	tc.On("ListWorkflow", mock.Anything, mock.Anything).Return(&workflowservice.ListWorkflowExecutionsResponse{}, nil).Once()
	tc.On("Close").Return()
	c, out, _ := mockCLI(t, tc)
	if err := c.run(context.Background(), []string{"list", "--waiting-on", "operator", "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), `"Serial":"F2LXK0A1HG7J",`) || !strings.Contains(out.String(), `"Step":"console-wipe"`) {
		t.Errorf("list -o json:\n%s", out)
	}
	c, out, _ = mockCLI(t, tc)
	if err := c.run(context.Background(), []string{"list", "--json"}); err != nil || out.String() != "[]\n" {
		t.Errorf("empty list: %v %q", err, out)
	}
}

// evidence verify -o json is the verification; problems still end with status 2.
func TestEvidenceVerifyJSON(t *testing.T) {
	t.Setenv("EVIDENCE_SIGNING_KEY_FILE", "")
	dir, keys := t.TempDir(), t.TempDir()
	c, out, _ := testCLI("")
	if err := c.run(context.Background(), []string{"evidence", "keygen", "--file", filepath.Join(keys, "key.pem")}); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(keys, "pub.pem")
	if err := os.WriteFile(pub, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, out, _ = testCLI("")
	if err := c.run(context.Background(), []string{"evidence", "verify", "--dir", dir, "--public-key", pub, "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	var v verification
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || !v.OK || v.Records != 0 || v.Problems == nil {
		t.Errorf("%v %+v\n%s", err, v, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, out, _ = testCLI("")
	err := c.run(context.Background(), []string{"evidence", "verify", "--dir", dir, "--public-key", pub, "--json"})
	if !errors.Is(err, errProblems) || json.Unmarshal(out.Bytes(), &v) != nil || v.OK || len(v.Problems) == 0 {
		t.Errorf("%v %+v\n%s", err, v, out)
	}
}

// --profile and --config-file choose the temporal CLI profile the starter connects with, over
// TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE; TEMPORAL_ADDRESS still wins over the profile.
func TestProfileFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(file, []byte("[profile.default]\naddress = \"wrong:7233\"\n[profile.ops]\naddress = \"ops.internal:7233\"\nnamespace = \"offboard\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "CODEC_KEY_FILE"} {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(dir, "absent.toml"))
	t.Setenv("TEMPORAL_PROFILE", "absent")
	c, _, _ := testCLI("")
	var addr, ns string
	c.dial = func(context.Context) (client.Client, error) {
		cfg, err := c.temporalConfig()
		addr, ns = cfg.Address, cfg.Namespace
		if err != nil {
			return nil, err
		}
		return nil, errors.New("no Temporal in this test")
	}
	err := c.run(context.Background(), []string{"status", "F2LXK0A1HG7J", "--config-file", file, "--profile", "ops"})
	if err == nil || !strings.Contains(err.Error(), "no Temporal in this test") || addr != "ops.internal:7233" || ns != "offboard" {
		t.Errorf("%v: dialled %s/%s", err, addr, ns)
	}
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:7233")
	_ = c.run(context.Background(), []string{"--profile", "ops", "--config-file", file, "inbox"})
	if addr != "127.0.0.1:7233" || ns != "offboard" {
		t.Errorf("TEMPORAL_ADDRESS over the profile: dialled %s/%s", addr, ns)
	}
	err = c.run(context.Background(), []string{"list", "--config-file", file, "--profile", "nope"})
	if err == nil || !strings.Contains(err.Error(), `profile "nope"`) || !strings.Contains(err.Error(), file) {
		t.Errorf("unknown profile: %v", err)
	}
}

// Help and completion are generated for every command.
func TestHelpAndCompletion(t *testing.T) {
	c, out, _ := testCLI("")
	if err := c.run(context.Background(), []string{"--help"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plan", "start", "status", "list", "inbox", "complete", "event", "cancel", "fleet", "apple", "evidence", "completion", "--profile", "--config-file"} {
		if !strings.Contains(out.String(), "  "+name) {
			t.Errorf("help lacks %s:\n%s", name, out)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		c, out, _ := testCLI("")
		if err := c.run(context.Background(), []string{"completion", shell}); err != nil || !strings.Contains(out.String(), "starter") || out.Len() < 1000 {
			t.Errorf("completion %s: %v, %d bytes", shell, err, out.Len())
		}
	}
	c, out, _ = testCLI("")
	if err := c.run(context.Background(), []string{cobra.ShellCompRequestCmd, "status", "F2LXK0A1HG7J", "-o", ""}); err != nil ||
		!strings.HasPrefix(out.String(), "table\njson\n") {
		t.Errorf("completion of -o: %v %q", err, out)
	}
	c, _, errb := testCLI("")
	if err := c.run(context.Background(), nil); !errors.Is(err, errUsageShown) || !strings.Contains(errb.String(), "Available Commands") {
		t.Errorf("no command: %v\n%s", err, errb)
	}
	c, _, _ = testCLI("")
	if err := c.run(context.Background(), []string{"fleet", "launch"}); err == nil || !strings.Contains(err.Error(), `unknown command "launch"`) {
		t.Errorf("unknown fleet command: %v", err)
	}
}

// A command registered under a group is built into it: adding a command is one file.
func TestRegisterBuildsUnderTheParent(t *testing.T) {
	saved := commands
	defer func() { commands = saved }()
	ran := ""
	register("fleet", func(*cli) *cobra.Command {
		return &cobra.Command{Use: "rehearse <fleet-id>", Args: cobra.ExactArgs(1), RunE: func(_ *cobra.Command, args []string) error {
			ran = args[0]
			return nil
		}}
	})
	c, _, _ := testCLI("")
	if err := c.run(context.Background(), []string{"fleet", "rehearse", "mar-2026"}); err != nil || ran != "mar-2026" {
		t.Errorf("%v, ran %q", err, ran)
	}
}

// --except SERIAL=OUTCOME and --except-note SERIAL=NOTE become the exceptions; malformed ones and
// a note for no exception are refused before anything is dialled.
func TestFleetCompleteExceptions(t *testing.T) {
	got, err := fleetExceptions([]string{"f2lxk0a1hg7j=certificates-remain", "B2=work-smart"}, []string{"F2LXK0A1HG7J=two profiles left"})
	if err != nil || len(got) != 2 || got[0].Serial != "F2LXK0A1HG7J" || got[0].Outcome != "certificates-remain" || got[0].Note != "two profiles left" || got[1].Note != "" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][2][]string{{{"F2LXK0A1HG7J"}, nil}, {{"=done"}, nil}, {{"A1=done"}, {"B9=a note"}}} {
		if _, err := fleetExceptions(bad[0], bad[1]); err == nil {
			t.Errorf("%v %v: accepted", bad[0], bad[1])
		}
	}
	c, _, _ := testCLI("")
	if err := c.run(context.Background(), []string{"fleet", "complete", "mar-2026", "delete-greyed-out-record", "--except", "nope"}); err == nil || !strings.Contains(err.Error(), "SERIAL=OUTCOME") {
		t.Errorf("a malformed --except: %v", err)
	}
	if err := c.run(context.Background(), []string{"fleet", "approve", "mar-2026"}); err == nil || !strings.Contains(err.Error(), "--by") {
		t.Errorf("approve without --by: %v", err)
	}
}

// The inbox shows a fleet's task for many devices once, with its one report, and leaves its
// devices out of the per-device lines; a device of no task is still listed; a fleet waiting for
// approval is an item that names the command.
func TestInboxGroupsAFleetsTask(t *testing.T) {
	device := func(serial string) *workflowpb.WorkflowExecutionInfo {
		return &workflowpb.WorkflowExecutionInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
				contract.SADeviceSerial: keyword(t, serial), contract.SAWaitingOn: keyword(t, "operator")}}}
	}
	tc := mocks.NewClient(t)
	tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.Query, contract.DeviceWorkflowType)
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{device("G1"), device("G2"), device("LONE1")}}, nil)
	tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return strings.Contains(r.Query, contract.FleetWorkflowType)
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		{Execution: &commonpb.WorkflowExecution{WorkflowId: contract.FleetWorkflowID("mar")}},
		{Execution: &commonpb.WorkflowExecution{WorkflowId: contract.FleetWorkflowID("apr")}}}}, nil)
	tc.On("QueryWorkflow", mock.Anything, contract.FleetWorkflowID("mar"), "", contract.QueryProgress).Return(encoded{workflows.FleetProgress{FleetID: "mar",
		Tasks: []workflows.FleetTask{{Step: "delete-greyed-out-record", Section: "4-2", Title: "delete the greyed-out records", Serials: []string{"G1", "G2"},
			Outcomes: []string{"done", "certificates-remain"}, Report: "starter fleet complete mar delete-greyed-out-record --by <you>"}}}}, nil)
	tc.On("QueryWorkflow", mock.Anything, contract.FleetWorkflowID("apr"), "", contract.QueryProgress).Return(encoded{workflows.FleetProgress{FleetID: "apr",
		WaitingOn: string(contract.WaitingOnApproval), Approval: &workflows.FleetApproval{Wipes: 200, Threshold: 100, StartedBy: "sato"}}}, nil)
	lone := workflows.DeviceStatus{Serial: "LONE1", Current: "console-wipe", WaitingOn: "operator", Choices: []string{"done"}}
	tc.On("QueryWorkflow", mock.Anything, contract.DeviceWorkflowID("LONE1"), "", contract.QueryStatus).Return(encoded{lone}, nil)
	tc.On("Close").Return()
	c, out, _ := mockCLI(t, tc)
	if err := c.run(context.Background(), []string{"inbox"}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"● FLEET mar  delete-greyed-out-record  2 devices", "devices: G1 G2", "→ starter fleet complete mar delete-greyed-out-record",
		"● FLEET apr  waits for approval", "200 wipes", "→ starter fleet approve apr --by <name>", "● LONE1  console-wipe"} {
		if !strings.Contains(text, want) {
			t.Errorf("inbox lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "● G1") || strings.Contains(text, "● G2") {
		t.Errorf("a device of the fleet's task is listed on its own too:\n%s", text)
	}
}
