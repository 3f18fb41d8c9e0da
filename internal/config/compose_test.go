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
		"temporal":        "temporalio/server:1.29.1",
		"temporal-schema": "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
		"temporal-setup":  "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
		"temporal-ui":     "temporalio/ui:2.42.1",
		"postgresql":      "postgres:15",
	} {
		if got := c.Services[service].Image; got != want {
			t.Errorf("%s image = %q, want %q", service, got, want)
		}
	}
	// Temporal builds auto-setup no more: the server and admin-tools images take its place.
	for name, s := range c.Services {
		if strings.Contains(s.Image, "auto-setup") {
			t.Errorf("%s uses %s: use temporalio/server with temporalio/admin-tools", name, s.Image)
		}
	}
	// The server of make cluster is the same version as the image's.
	if v := clusterScriptVar(t, "server_version"); "temporalio/server:"+strings.TrimPrefix(v, "v") != c.Services["temporal"].Image {
		t.Errorf("scripts/cluster.sh runs server %s, docker-compose.yml %s", v, c.Services["temporal"].Image)
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
	got := composeLoopList(t, cmd, "sa")
	slices.Sort(got)
	if !slices.Equal(got, contractSearchAttributes) {
		t.Errorf("temporal-setup registers %v, want %v", got, contractSearchAttributes)
	}
	// The CLI (v1.5) creates only the first --name of a call: one attribute a call.
	if n := len(regexp.MustCompile(`--name\s`).FindAllString(cmd, -1)); n != 1 {
		t.Errorf("temporal-setup passes --name %d times: the CLI creates only the first of a call", n)
	}
}

// composeLoopList returns the words of the command's `for <variable> in ...; do` loop.
func composeLoopList(t *testing.T, cmd, variable string) []string {
	t.Helper()
	m := regexp.MustCompile(`for ` + variable + ` in ([^;]*); do`).FindStringSubmatch(cmd)
	if m == nil {
		t.Fatalf("no `for %s in ...; do` loop in:\n%s", variable, cmd)
	}
	return strings.Fields(m[1])
}

// clusterScript is scripts/cluster.sh, which runs the same server without Docker.
func clusterScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../scripts/cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// clusterScriptVar is the value (or default) the script gives a variable: name=value or
// name=${ENV:-value}.
func clusterScriptVar(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=(?:\$\{[A-Z_]+:-([^}]*)\}|(\S+))$`).FindStringSubmatch(clusterScript(t))
	if m == nil {
		t.Fatalf("scripts/cluster.sh sets no %s", name)
	}
	return m[1] + m[2]
}

// clusterScriptArray is the words of the script's name=(...) line.
func clusterScriptArray(t *testing.T, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=\(([^)]*)\)`).FindStringSubmatch(clusterScript(t))
	if m == nil {
		t.Fatalf("scripts/cluster.sh has no %s=(...) line", name)
	}
	return strings.Fields(m[1])
}

// docker-compose.yml's one-shot services and scripts/cluster.sh take the same steps: the same two
// databases, each created, set up at 0.0 and updated from its versioned schema directory; the same
// namespace; the same five search attributes.
func TestComposeSetupMatchesClusterScript(t *testing.T) {
	c := loadCompose(t)
	script := clusterScript(t)

	schemaCmd := c.Services["temporal-schema"].commandText(t)
	dbs := composeLoopList(t, schemaCmd, "db")
	if want := clusterScriptArray(t, "databases"); !slices.Equal(dbs, want) {
		t.Errorf("temporal-schema sets up %v, scripts/cluster.sh %v", dbs, want)
	}
	for _, step := range []string{" create", " setup-schema -v 0.0", " update-schema -d "} {
		if !strings.Contains(schemaCmd, "temporal-sql-tool --db $${db%%:*}"+step) {
			t.Errorf("temporal-schema does not run temporal-sql-tool%s for each database:\n%s", step, schemaCmd)
		}
		if !strings.Contains(script, `sql --db "$db"`+step) {
			t.Errorf("scripts/cluster.sh does not run temporal-sql-tool%s for each database", step)
		}
	}
	if !strings.Contains(schemaCmd, "/schema/postgresql/v12/$${db#*:}/versioned") ||
		!strings.Contains(script, `"$schema/$sub/versioned"`) {
		t.Error("the schema updates do not both read schema/postgresql/v12/<database>/versioned")
	}
	if env := c.Services["temporal-schema"].env(t); env["SQL_PLUGIN"] != "postgres12" ||
		!strings.Contains(script, "--plugin postgres12") {
		t.Errorf("temporal-schema's plugin is %q; both should use postgres12", env["SQL_PLUGIN"])
	}
	// The server reads the databases the schema was set up in.
	env := c.Services["temporal"].env(t)
	var names []string
	for _, db := range dbs {
		name, _, _ := strings.Cut(db, ":")
		names = append(names, name)
	}
	if got := []string{env["DBNAME"], env["VISIBILITY_DBNAME"]}; !slices.Equal(got, names) || env["DB"] != "postgres12" {
		t.Errorf("temporal reads DB=%s databases %v, the schema is in %v", env["DB"], got, names)
	}

	namespace := clusterScriptVar(t, "namespace")
	setupCmd := c.Services["temporal-setup"].commandText(t)
	for _, m := range regexp.MustCompile(`--namespace\s+(\S+)`).FindAllStringSubmatch(setupCmd, -1) {
		if m[1] != namespace {
			t.Errorf("temporal-setup uses namespace %s, scripts/cluster.sh %s", m[1], namespace)
		}
	}
	if !strings.Contains(setupCmd, "namespace create --namespace "+namespace) {
		t.Errorf("temporal-setup does not create namespace %s", namespace)
	}
	if got := c.Services["worker"].env(t)["TEMPORAL_NAMESPACE"]; got != namespace {
		t.Errorf("worker TEMPORAL_NAMESPACE = %q, the namespace made is %s", got, namespace)
	}

	sas := composeLoopList(t, setupCmd, "sa")
	if want := clusterScriptArray(t, "search_attributes"); !slices.Equal(sas, want) {
		t.Errorf("temporal-setup registers %v, scripts/cluster.sh %v", sas, want)
	}
	got := clusterScriptArray(t, "search_attributes")
	slices.Sort(got)
	if !slices.Equal(got, contractSearchAttributes) {
		t.Errorf("scripts/cluster.sh registers %v, want %v", got, contractSearchAttributes)
	}

	// Each step waits for the one before it.
	for service, after := range map[string]string{"temporal": "temporal-schema", "temporal-setup": "temporal", "worker": "temporal-setup"} {
		if deps := c.Services[service].dependsOn(t); !slices.Contains(deps, after) {
			t.Errorf("%s does not depend on %s (depends on %v)", service, after, deps)
		}
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
