package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/internal/simulator"
	"github.com/offboard/offboard/internal/stack"
	"github.com/offboard/offboard/internal/temporalclient"
	"github.com/offboard/offboard/workflows"
)

// The personal data of the codec test's device: none of it may reach the server in clear.
const (
	codecContact   = "user@example.com"
	codecRequester = "Hanako Requester"
	codecOperator  = "Olga Operator"
	codecNote1     = "wiped at the front desk"
	codecNote2     = "greyed out after lunch"
	codecToken     = "integration-codec-token-0123456789"
)

// TestCodecKeepsPersonalDataOutOfHistory runs a device through workers and a client that encrypt
// (dialled by temporalclient from CODEC_KEY_FILE, as the worker and the starter dial), on a dev
// server of its own: the shared server's workers poll the same task queues without the keys.
// Halfway through, the key is rotated and the workers restart on the new key file: the device
// goes on (its old events decrypt), the new events use the new key. The history read raw holds no
// contact, name or note in clear; decoded through the codec server, it holds them all.
func TestCodecKeepsPersonalDataOutOfHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "codec-keys")
	keyA, keyB := codecKeyLine(t, "key-a"), codecKeyLine(t, "key-b")
	codecWriteFile(t, keyFile, keyA+"\n")

	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: codecCLIPath(), ExtraArgs: codecDevServerArgs(), LogLevel: "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: quietLogger()},
	})
	if err != nil {
		t.Fatalf("start a dev server: %v", err)
	}
	defer func() { _ = srv.Stop() }()
	raw := srv.Client() // no codec: it sees what the server stores

	cfg := config.Temporal{Address: srv.FrontendHostPort(), Namespace: "default", Codec: config.Codec{KeyFile: keyFile}}
	c, err := temporalclient.Dial(ctx, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	stackDir := filepath.Join(dir, "stack")
	if err := os.Mkdir(stackDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := stack.Start(stack.Options{TimeScale: 3600, Dir: stackDir, ReappearAfter: 14 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.StartWorkers(c); err != nil {
		t.Fatal(err)
	}

	serial := uniqueSerial("CD")
	if err := st.Sim.AddDevices(quick(simulator.DeviceSpecFor(serial, "ade"))); err != nil {
		t.Fatal(err)
	}
	req := procedure.Request{Serial: serial, Enrollment: procedure.ADE, Wipe: true}
	plan, err := procedure.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(ctx, startOptions(serial, plan.Path), contract.DeviceWorkflowType, workflows.DeviceInput{
		Request: req, Confirmed: true, ConsoleMode: contract.ModeOperator, Contact: codecContact, RequestedBy: codecRequester, Timing: fastTiming})
	if err != nil {
		t.Fatal(err)
	}
	codecWaitFor(t, c, serial, procedure.ConsoleWipe)
	codecReport(t, c, serial, workflows.StepReport{Step: procedure.ConsoleWipe, By: codecOperator, Outcome: "done", Note: codecNote1})

	// Rotation: a new first key, the old one kept; the workers and the client restart on the file.
	st.StopWorkers()
	c.Close()
	codecWriteFile(t, keyFile, keyB+"\n"+keyA+"\n")
	c, err = temporalclient.Dial(ctx, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := st.StartWorkers(c); err != nil {
		t.Fatal(err)
	}
	// New workers hold no cached state: answering, they replay the events key A encrypted.
	codecWaitFor(t, c, serial, procedure.AwaitGreyedOut)
	codecReport(t, c, serial, workflows.StepReport{Step: procedure.AwaitGreyedOut, By: codecOperator, Outcome: "done", Note: codecNote2})
	status := codecWaitFor(t, c, serial, procedure.DeleteGreyedOutRecord)
	if len(status.Audit) != 2 || status.Audit[0].Note != codecNote1 || status.Audit[1].By != codecOperator {
		t.Fatalf("the status after rotation lacks the reports: %+v", status.Audit)
	}

	// The history as the server stores it.
	events := codecRawHistory(t, raw, run.GetID())
	secrets := []string{codecContact, codecRequester, codecOperator, codecNote1, codecNote2}
	var stored []byte
	for _, e := range events {
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := protojson.Marshal(e)
		stored = append(append(stored, b...), j...)
	}
	// The check sees a plain payload's data: the same bytes without the codec would fail it.
	plain, _ := converter.GetDefaultDataConverter().ToPayload(workflows.DeviceInput{Contact: codecContact})
	if b, _ := proto.Marshal(plain); !bytes.Contains(b, []byte(codecContact)) {
		t.Fatal("the check cannot see a contact in a plain payload")
	}
	for _, s := range secrets {
		if bytes.Contains(stored, []byte(s)) {
			t.Errorf("the stored history shows %q in clear", s)
		}
	}
	var payloads []*commonpb.Payload
	for _, e := range events {
		payloads = append(payloads, codecPayloadsIn(e.ProtoReflect())...)
	}
	byKey := map[string]int{}
	for _, p := range payloads {
		if string(p.Metadata[converter.MetadataEncoding]) == codec.EncodingEncrypted {
			byKey[string(p.Metadata[codec.MetadataKeyID])]++
		}
	}
	if byKey["key-a"] == 0 || byKey["key-b"] == 0 {
		t.Errorf("encrypted payloads by key: %v; want both keys, before and after the rotation", byKey)
	}

	// Decoded through the codec server (on the rotated file), the history shows everything.
	keys, err := codec.LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	h, err := codec.NewServer(codec.ServerOptions{Codec: codec.New(keys), Token: codecToken, Origins: []string{"http://localhost:8233"}})
	if err != nil {
		t.Fatal(err)
	}
	cs := httptest.NewServer(h)
	defer cs.Close()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	if err != nil {
		t.Fatal(err)
	}
	if resp := codecPost(t, cs.URL+"/decode", body, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("decode without the token: status %d", resp.StatusCode)
	}
	resp := codecPost(t, cs.URL+"/decode", body, codecToken)
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("decode: %d %s", resp.StatusCode, answer)
	}
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal(answer, &decoded); err != nil {
		t.Fatal(err)
	}
	var text []byte
	for _, p := range decoded.Payloads {
		if string(p.Metadata[converter.MetadataEncoding]) == codec.EncodingEncrypted {
			t.Errorf("a payload is still encrypted after /decode")
		}
		text = append(text, p.Data...)
	}
	for _, s := range secrets {
		if !bytes.Contains(text, []byte(s)) {
			t.Errorf("the decoded history lacks %q", s)
		}
	}

	if _, err := c.WorkflowService().TerminateWorkflowExecution(ctx, &workflowservice.TerminateWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()}, Reason: "test over"}); err != nil {
		t.Logf("terminate: %v", err)
	}
}

// codecCLIPath is the temporal CLI TestMain started the shared server from.
func codecCLIPath() string {
	if p := os.Getenv("TEMPORAL_CLI_PATH"); p != "" {
		return p
	}
	return filepath.Join("..", "bin", "temporal")
}

// codecDevServerArgs are the shared server's: updates on, the contract's search attributes.
func codecDevServerArgs() []string {
	args := []string{"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"}
	for _, name := range contract.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	return args
}

func codecKeyLine(t *testing.T, id string) string {
	t.Helper()
	k := make([]byte, codec.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return id + " " + base64.StdEncoding.EncodeToString(k)
}

func codecWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func codecStatus(t *testing.T, c client.Client, serial string) (workflows.DeviceStatus, error) {
	t.Helper()
	v, err := c.QueryWorkflow(context.Background(), contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
	if err != nil {
		return workflows.DeviceStatus{}, err
	}
	var st workflows.DeviceStatus
	return st, v.Get(&st)
}

func codecWaitFor(t *testing.T, c client.Client, serial string, step procedure.StepID) workflows.DeviceStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := codecStatus(t, c, serial)
		if err == nil && st.Current == step && len(st.Choices) > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never waited on %s: now %s on %s (%v)", serial, step, st.Current, st.WaitingOn, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func codecReport(t *testing.T, c client.Client, serial string, r workflows.StepReport) {
	t.Helper()
	h, err := c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: contract.DeviceWorkflowID(serial), UpdateName: contract.UpdateCompleteStep,
		Args: []any{r}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(context.Background(), nil)
	}
	if err != nil {
		t.Fatalf("report %s: %v", r.Step, err)
	}
}

func codecRawHistory(t *testing.T, c client.Client, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// codecPayloadsIn collects every Payload inside m: inputs, results, update arguments, failures'
// encoded attributes, search attributes.
func codecPayloadsIn(m protoreflect.Message) []*commonpb.Payload {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		return []*commonpb.Payload{p}
	}
	var out []*commonpb.Payload
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				out = append(out, codecPayloadsIn(v.List().Get(i).Message())...)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				out = append(out, codecPayloadsIn(mv.Message())...)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			out = append(out, codecPayloadsIn(v.Message())...)
		}
		return true
	})
	return out
}

func codecPost(t *testing.T, url string, body []byte, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
