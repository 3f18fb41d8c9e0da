package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func testCLI(stdin string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cli{stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin), dial: func(context.Context) (client.Client, error) {
		return nil, errors.New("no Temporal in this test")
	}}, &out, &errb
}

// plan --json prints the contract's shape and nothing else on stdout, without a server.
func TestPlanJSON(t *testing.T) {
	c, out, _ := testCLI("")
	if err := c.run(context.Background(), []string{"plan", "--serial", "f2lxk0a1hg7j", "--enrollment", "ade-restricted", "--no-wipe", "--json"}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Path     string   `json:"path"`
		Steps    []string `json:"steps"`
		Warnings []string `json:"warnings"`
	}
	dec := json.NewDecoder(out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not the plan JSON: %v\n%s", err, out)
	}
	want := []string{"preflight", "remove-profiles", "delete-managed-record", "abm-unassign"}
	if got.Path != "keep/ade-restricted" || strings.Join(got.Steps, ",") != strings.Join(want, ",") || len(got.Warnings) == 0 {
		t.Errorf("plan = %+v", got)
	}
	if !strings.Contains(strings.Join(got.Warnings, " "), "STAYS") {
		t.Errorf("the plan must say the MDM profile stays: %v", got.Warnings)
	}
}

func TestPlanRefusesBadInput(t *testing.T) {
	cases := map[string][]string{
		"unknown enrollment":       {"plan", "--serial", "ABC123456", "--enrollment", "dep", "--wipe"},
		"say --wipe or --no-wipe":  {"plan", "--serial", "ABC123456", "--enrollment", "ade"},
		"Return to Service":        {"plan", "--serial", "ABC123456", "--enrollment", "ade", "--wipe", "--return-to-service"},
		"--enrollment is required": {"plan", "--serial", "ABC123456", "--wipe"},
		"missing serial":           {"plan", "--enrollment", "ade", "--wipe"},
		"exactly one":              {"plan", "--serial", "ABC123456", "--enrollment", "ade", "--wipe", "--no-wipe"},
	}
	for want, args := range cases {
		c, _, _ := testCLI("")
		err := c.run(context.Background(), args)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want an error saying %q", args, err, want)
		}
	}
}

// start asks for the serial before it dials Temporal; a wrong answer starts nothing.
func TestStartNeedsTypedConfirmation(t *testing.T) {
	c, _, errb := testCLI("WRONGSERIAL\n")
	err := c.run(context.Background(), []string{"start", "--serial", "ABC123456", "--enrollment", "manual", "--wipe"})
	if err == nil || !strings.Contains(err.Error(), "not confirmed, nothing started") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(errb.String(), "Type the serial to confirm") || !strings.Contains(errb.String(), "wipe/manual") {
		t.Errorf("the prompt should show the plan and ask for the serial: %s", errb)
	}
	c, _, _ = testCLI("abc123456\n")
	err = c.run(context.Background(), []string{"start", "--serial", "ABC123456", "--enrollment", "manual", "--wipe"})
	if err == nil || !strings.Contains(err.Error(), "no Temporal in this test") {
		t.Fatalf("a typed serial should confirm and go on to dial Temporal, got %v", err)
	}
}

func TestDeviceQuery(t *testing.T) {
	q := deviceQuery(false, map[string]string{"WaitingOn": "operator", "OffboardPath": "wipe/ade'--"})
	for _, part := range []string{"WorkflowType = 'DeviceOffboarding'", "ExecutionStatus = 'Running'", "WaitingOn = 'operator'", "OffboardPath = 'wipe/ade--'"} {
		if !strings.Contains(q, part) {
			t.Errorf("query %q lacks %q", q, part)
		}
	}
	if strings.Contains(deviceQuery(true, nil), "Running") {
		t.Error("--all must include finished devices")
	}
}

func TestPlainTextUndoesMarkdown(t *testing.T) {
	got := plainText(`**Now:** click \[ デバイスの初期化 \] \(Erase\) &nbsp;`)
	if got != "Now: click [ デバイスの初期化 ] (Erase) " {
		t.Errorf("plainText = %q", got)
	}
}

// A refusal reads as the workflow wrote it, without the SDK's decoration.
func TestMessageDropsTheSDKsDecoration(t *testing.T) {
	inner := temporal.NewNonRetryableApplicationError("device F2LXK0A1HG7J does not fit path keep/ade: …; nothing was changed", "Rejected", nil)
	for _, err := range []error{inner, fmt.Errorf("device F2LXK0A1HG7J: start: %w", inner)} {
		got := message(err)
		if strings.Contains(got, "type: Rejected") || strings.Contains(got, "retryable") || !strings.Contains(got, "nothing was changed") {
			t.Errorf("message(%v) = %q", err, got)
		}
	}
}
