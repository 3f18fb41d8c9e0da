package config

import (
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of docker-compose.yml these tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

type composeService struct {
	Image       string    `yaml:"image"`
	Build       yaml.Node `yaml:"build"`
	Command     yaml.Node `yaml:"command"`
	Environment yaml.Node `yaml:"environment"` // a map or a list of KEY=VALUE
	DependsOn   yaml.Node `yaml:"depends_on"`  // a list or a map of service: {condition}
	Secrets     []string  `yaml:"secrets"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

func (s composeService) env(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	switch s.Environment.Kind {
	case 0:
	case yaml.MappingNode:
		if err := s.Environment.Decode(&env); err != nil {
			t.Fatal(err)
		}
	case yaml.SequenceNode:
		var list []string
		if err := s.Environment.Decode(&list); err != nil {
			t.Fatal(err)
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	default:
		t.Fatalf("environment is neither a map nor a list")
	}
	return env
}

func (s composeService) dependsOn(t *testing.T) []string {
	t.Helper()
	var names []string
	switch s.DependsOn.Kind {
	case 0:
	case yaml.SequenceNode:
		if err := s.DependsOn.Decode(&names); err != nil {
			t.Fatal(err)
		}
	case yaml.MappingNode:
		var m map[string]yaml.Node
		if err := s.DependsOn.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for name := range m {
			names = append(names, name)
		}
	}
	return names
}

// commandText is the service's command as one string, whatever its YAML form.
func (s composeService) commandText(t *testing.T) string {
	t.Helper()
	switch s.Command.Kind {
	case yaml.ScalarNode:
		return s.Command.Value
	case yaml.SequenceNode:
		var parts []string
		if err := s.Command.Decode(&parts); err != nil {
			t.Fatal(err)
		}
		return strings.Join(parts, " ")
	}
	return ""
}

func TestComposeWorkerUsesKnownVariables(t *testing.T) {
	c := loadCompose(t)
	worker, ok := c.Services["worker"]
	if !ok {
		t.Fatal("no worker service")
	}
	known := map[string]bool{}
	for _, v := range Variables() {
		known[v.Name] = true
	}
	env := worker.env(t)
	if len(env) == 0 {
		t.Fatal("the worker sets no environment")
	}
	for name := range env {
		if !known[name] {
			t.Errorf("worker sets %s, which Offboard does not read (a typo?)", name)
		}
		if known[name+"_FILE"] {
			t.Errorf("worker sets secret %s in plain text; use a compose secret and %s_FILE", name, name)
		}
	}

	host, _, err := net.SplitHostPort(env["TEMPORAL_ADDRESS"])
	if err != nil || host != "temporal" {
		t.Errorf("worker TEMPORAL_ADDRESS = %q, want the temporal service", env["TEMPORAL_ADDRESS"])
	}
	if _, ok := c.Services[host]; !ok {
		t.Errorf("TEMPORAL_ADDRESS names %q, which is no service", host)
	}
	if !strings.HasPrefix(env["CONSOLE_URL"], "http://simulator:") {
		t.Errorf("worker CONSOLE_URL = %q, want the simulator", env["CONSOLE_URL"])
	}

	// Every file the worker reads from /run/secrets is a secret it is given.
	for name, value := range env {
		if secret, ok := strings.CutPrefix(value, "/run/secrets/"); ok {
			if !slices.Contains(worker.Secrets, secret) {
				t.Errorf("worker %s reads secret %q it is not given", name, secret)
			}
			if _, ok := c.Secrets[secret]; !ok {
				t.Errorf("secret %q is not declared", secret)
			}
		}
	}

	deps := worker.dependsOn(t)
	for _, want := range []string{"temporal", "simulator"} {
		if !slices.Contains(deps, want) {
			t.Errorf("worker does not depend on %s (depends on %v)", want, deps)
		}
	}
	if worker.Build.Kind == 0 || c.Services["simulator"].Build.Kind == 0 {
		t.Error("worker and simulator should be built from the Dockerfile")
	}
}

func TestComposeImages(t *testing.T) {
	c := loadCompose(t)
	for service, want := range map[string]string{
		"temporal":    "temporalio/auto-setup:1.29.1",
		"temporal-ui": "temporalio/ui:2.42.1",
		"postgresql":  "postgres:15",
	} {
		if got := c.Services[service].Image; got != want {
			t.Errorf("%s image = %q, want %q", service, got, want)
		}
	}
	if env := c.Services["temporal-ui"].env(t); env["TEMPORAL_ADDRESS"] != "temporal:7233" {
		t.Errorf("temporal-ui TEMPORAL_ADDRESS = %q", env["TEMPORAL_ADDRESS"])
	}
}

// contractSearchAttributes are the Keyword search attributes of docs/contract.md.
var contractSearchAttributes = []string{"DeviceSerial", "FleetID", "OffboardPath", "OffboardStep", "WaitingOn"}

func TestComposeRegistersContractSearchAttributes(t *testing.T) {
	c := loadCompose(t)
	setup, ok := c.Services["temporal-setup"]
	if !ok {
		t.Fatal("no temporal-setup service")
	}
	cmd := setup.commandText(t)
	if !strings.Contains(cmd, "search-attribute create") || !strings.Contains(cmd, "--type Keyword") {
		t.Fatalf("temporal-setup does not create Keyword search attributes:\n%s", cmd)
	}
	var got []string
	for _, m := range regexp.MustCompile(`--name\s+(\S+)`).FindAllStringSubmatch(cmd, -1) {
		got = append(got, m[1])
	}
	slices.Sort(got)
	if !slices.Equal(got, contractSearchAttributes) {
		t.Errorf("temporal-setup registers %v, want %v", got, contractSearchAttributes)
	}
}

// The dev server script registers the same five.
func TestDevserverRegistersContractSearchAttributes(t *testing.T) {
	b, err := os.ReadFile("../../scripts/devserver.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^search_attributes=\(([^)]*)\)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("scripts/devserver.sh has no search_attributes=(...) line")
	}
	got := strings.Fields(string(m[1]))
	slices.Sort(got)
	if !slices.Equal(got, contractSearchAttributes) {
		t.Errorf("devserver.sh registers %v, want %v", got, contractSearchAttributes)
	}
}
