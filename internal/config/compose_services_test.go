package config

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The services of docker-compose.yml beside Temporal: the worker's metrics, Prometheus, Grafana,
// the codec server and the Web UI pointed at it, the intake API, and their secrets. There is no
// Docker engine where the tests run, so each is checked against what the code and the deploy files
// read: a variable no command reads, a mounted file that is not in the repository or a port that
// does not meet its peer fails here.

// composeWiring is the part of each service these tests read beyond composeService.
type composeWiring struct {
	Services map[string]struct {
		Image      string    `yaml:"image"`
		Command    yaml.Node `yaml:"command"`
		Entrypoint yaml.Node `yaml:"entrypoint"`
		Ports      []string  `yaml:"ports"`
		Volumes    []string  `yaml:"volumes"`
		Secrets    []string  `yaml:"secrets"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

func loadWiring(t *testing.T) composeWiring {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeWiring
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// ourImage is the image the Dockerfile builds; its commands are /app/<name>.
const ourImage = "offboard:dev"

// readsVariables is what each of our commands reads from its environment: its config struct's
// variables, and for the intake the two it reads itself (envOr in intake/main.go).
func readsVariables(t *testing.T, command string) map[string]bool {
	t.Helper()
	var types []reflect.Type
	var own string
	switch command {
	case "/app/worker":
		types = []reflect.Type{reflect.TypeOf(Worker{})}
	case "/app/codec":
		types = []reflect.Type{reflect.TypeOf(CodecServer{})}
	case "/app/intake":
		types, own = []reflect.Type{reflect.TypeOf(Intake{})}, "../../intake/main.go"
	default:
		return nil // the simulator and the starter: not checked here
	}
	vars := map[string]bool{}
	for _, typ := range types {
		for _, f := range tagged(typ) {
			vars[f.Tag.Get("envconfig")] = true
		}
	}
	if own != "" {
		b, err := os.ReadFile(own)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`envOr\("([A-Z_]+)"`).FindAllStringSubmatch(string(b), -1) {
			vars[m[1]] = true
		}
	}
	return vars
}

// Every variable a service of our image sets is one its command reads, and no secret is set in
// plain text where the command reads it from a file.
func TestComposeOurServicesSetOnlyVariablesTheyRead(t *testing.T) {
	c := loadCompose(t)
	checked := 0
	for name, s := range c.Services {
		if s.Image != ourImage {
			continue
		}
		cmd := s.commandText(t)
		vars := readsVariables(t, cmd)
		if vars == nil {
			continue
		}
		checked++
		for v := range s.env(t) {
			if !vars[v] {
				t.Errorf("%s (%s) sets %s, which %s does not read", name, cmd, v, cmd)
			}
			if vars[v+"_FILE"] {
				t.Errorf("%s sets secret %s in plain text; use a compose secret and %s_FILE", name, v, v)
			}
		}
	}
	if checked < 3 {
		t.Errorf("checked %d services of %s, want the worker, the codec server and the intake", checked, ourImage)
	}
}

// Every /run/secrets file a service reads is a secret it is given, every secret is declared with a
// file under .offboard/compose/ that make compose-secrets writes, and every file a service mounts
// from the repository exists.
func TestComposeSecretsAndMountsExist(t *testing.T) {
	c := loadCompose(t)
	w := loadWiring(t)
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^compose-secrets:((?:[^\n]*\\\n)*[^\n]*)`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile has no compose-secrets target")
	}
	made := strings.Fields(strings.ReplaceAll(strings.SplitN(string(m[1]), "##", 2)[0], "\\", " "))
	for name, s := range c.Services {
		reads := map[string]bool{}
		for v, value := range s.env(t) {
			if secret, ok := strings.CutPrefix(value, "/run/secrets/"); ok {
				reads[secret] = true
				if !slices.Contains(s.Secrets, secret) {
					t.Errorf("%s: %s reads secret %q, which the service is not given", name, v, secret)
				}
			}
		}
		for _, line := range append(strings.Split(w.Services[name].Command.Value, "\n"), commandLines(w.Services[name].Command)...) {
			for _, m := range regexp.MustCompile(`/run/secrets/([a-z_]+)`).FindAllStringSubmatch(line, -1) {
				reads[m[1]] = true
				if !slices.Contains(s.Secrets, m[1]) {
					t.Errorf("%s's command reads secret %q, which the service is not given", name, m[1])
				}
			}
		}
		for _, secret := range s.Secrets {
			if !reads[secret] {
				t.Errorf("%s is given secret %s and reads it nowhere", name, secret)
			}
		}
		for _, v := range w.Services[name].Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, "./") {
				if _, ok := w.Volumes[src]; !ok {
					t.Errorf("%s mounts volume %s, which is not declared", name, src)
				}
				continue
			}
			if _, err := os.Stat(filepath.Join("..", "..", src)); err != nil {
				t.Errorf("%s mounts %s, which is not in the repository: %v", name, src, err)
			}
		}
	}
	for secret, d := range w.Secrets {
		file, ok := strings.CutPrefix(d.File, "./.offboard/compose/")
		if !ok {
			t.Errorf("secret %s is read from %s, outside .offboard/compose/ (never committed)", secret, d.File)
			continue
		}
		if !slices.Contains(made, "$(COMPOSE_SECRETS)/"+file) {
			t.Errorf("secret %s (%s): make compose-secrets does not write it (it writes %v)", secret, d.File, made)
		}
	}
}

func commandLines(n yaml.Node) []string {
	var out []string
	for _, c := range n.Content {
		out = append(out, strings.Split(c.Value, "\n")...)
	}
	return out
}

// hostPort splits host:port and fails the test on anything else.
func hostPort(t *testing.T, what, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s = %q: %v", what, addr, err)
	}
	return h, p
}

// published reports whether the service publishes container port port on the same host port.
func published(ports []string, port string) bool {
	return slices.Contains(ports, port+":"+port)
}

// Prometheus scrapes the worker at the port of its WORKER_METRICS_ADDR and loads the alert rules;
// Grafana reads that Prometheus and loads the dashboard from where its provider looks.
func TestComposeMetricsWiring(t *testing.T) {
	c := loadCompose(t)
	w := loadWiring(t)
	host, port := hostPort(t, "worker WORKER_METRICS_ADDR", c.Services["worker"].env(t)["WORKER_METRICS_ADDR"])
	if host != "0.0.0.0" {
		t.Errorf("worker WORKER_METRICS_ADDR listens on %s: Prometheus, in another container, cannot reach it", host)
	}

	mounts := func(service string) map[string]string { // container path -> repository path
		out := map[string]string{}
		for _, v := range w.Services[service].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 {
				out[parts[1]] = parts[0]
			}
		}
		return out
	}
	prom := mounts("prometheus")
	if prom["/etc/prometheus/prometheus.yml"] != "./deploy/prometheus/prometheus.yml" {
		t.Fatalf("prometheus does not mount deploy/prometheus/prometheus.yml as its config: %v", prom)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "../../deploy/prometheus/prometheus.yml", &cfg)
	var targets []string
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	if !slices.Contains(targets, "worker:"+port) {
		t.Errorf("prometheus.yml scrapes %v, want worker:%s (the worker's WORKER_METRICS_ADDR)", targets, port)
	}
	for _, rf := range cfg.RuleFiles {
		if src := prom[rf]; src == "" {
			t.Errorf("prometheus.yml loads rules %s, which the prometheus service does not mount", rf)
		} else if _, err := os.Stat(filepath.Join("..", "..", src)); err != nil {
			t.Errorf("rules %s: %v", rf, err)
		}
	}
	if !slices.Contains(cfg.RuleFiles, "/etc/prometheus/alerts.yml") || prom["/etc/prometheus/alerts.yml"] != "./deploy/prometheus/alerts.yml" {
		t.Errorf("prometheus does not load deploy/prometheus/alerts.yml (rule_files %v)", cfg.RuleFiles)
	}
	// The local configuration of the README's walk-through scrapes the same port on loopback.
	var local struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "../../deploy/prometheus/prometheus-local.yml", &local)
	if len(local.ScrapeConfigs) == 0 || len(local.ScrapeConfigs[0].StaticConfigs) == 0 ||
		!slices.Contains(local.ScrapeConfigs[0].StaticConfigs[0].Targets, "127.0.0.1:"+port) {
		t.Errorf("prometheus-local.yml does not scrape 127.0.0.1:%s", port)
	}

	graf := mounts("grafana")
	if graf["/etc/grafana/provisioning"] != "./deploy/grafana/provisioning" {
		t.Fatalf("grafana does not mount deploy/grafana/provisioning: %v", graf)
	}
	var ds struct {
		Datasources []struct {
			Type, URL string
			IsDefault bool `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readYAML(t, "../../deploy/grafana/provisioning/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || !ds.Datasources[0].IsDefault {
		t.Fatalf("grafana's data sources %+v: want Prometheus, the default", ds.Datasources)
	}
	u, err := url.Parse(ds.Datasources[0].URL)
	if err != nil || u.Hostname() != "prometheus" || !published(w.Services["prometheus"].Ports, u.Port()) {
		t.Errorf("grafana's Prometheus is %s: want the prometheus service at the port it serves (%v)", ds.Datasources[0].URL, w.Services["prometheus"].Ports)
	}
	var dash struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "../../deploy/grafana/provisioning/dashboards/offboard.yml", &dash)
	if len(dash.Providers) != 1 {
		t.Fatalf("want one dashboard provider, got %+v", dash.Providers)
	}
	if src := graf[dash.Providers[0].Options.Path+"/offboard.json"]; src != "./deploy/grafana/offboard.json" {
		t.Errorf("grafana's provider reads %s, where the compose file mounts %v", dash.Providers[0].Options.Path, graf)
	}
}

// The codec server, the worker and the intake share one key file; the Web UI calls the codec
// server at the port it listens on, with its token, from the origin the codec server allows.
func TestComposeCodecWiring(t *testing.T) {
	c := loadCompose(t)
	w := loadWiring(t)
	codecEnv := c.Services["codec"].env(t)
	keyFile := codecEnv["CODEC_KEY_FILE"]
	if keyFile == "" {
		t.Fatal("the codec server has no CODEC_KEY_FILE")
	}
	for _, s := range []string{"worker", "intake"} {
		if got := c.Services[s].env(t)["CODEC_KEY_FILE"]; got != keyFile {
			t.Errorf("%s CODEC_KEY_FILE = %q, the codec server's %q: what one encrypts the other could not read", s, got, keyFile)
		}
	}
	_, port := hostPort(t, "codec CODEC_LISTEN", codecEnv["CODEC_LISTEN"])
	if !published(w.Services["codec"].Ports, port) {
		t.Errorf("the codec server listens on %s but publishes %v: the browser cannot reach it", port, w.Services["codec"].Ports)
	}

	ui := strings.Join(commandLines(w.Services["temporal-ui"].Command), "\n")
	m := regexp.MustCompile(`TEMPORAL_CODEC_ENDPOINT="(http://[^/]+)/t/\$\$\(cat /run/secrets/([a-z_]+)\)"`).FindStringSubmatch(ui)
	if m == nil {
		t.Fatalf("temporal-ui sets no TEMPORAL_CODEC_ENDPOINT with the codec token:\n%s", ui)
	}
	endpoint, _ := url.Parse(m[1])
	if endpoint.Port() != port {
		t.Errorf("the Web UI calls the codec server at %s, which listens on %s", m[1], port)
	}
	if want := strings.TrimPrefix(codecEnv["CODEC_TOKEN_FILE"], "/run/secrets/"); m[2] != want {
		t.Errorf("the Web UI reads token %s, the codec server %s", m[2], want)
	}
	if !strings.Contains(ui, "exec ./start-ui-server.sh") {
		t.Errorf("temporal-ui's command does not go on to the image's entrypoint:\n%s", ui)
	}
	// The browser's origin is the UI's published port on localhost.
	var uiPort string
	for _, p := range w.Services["temporal-ui"].Ports {
		if host, container, ok := strings.Cut(p, ":"); ok && container == "8080" {
			uiPort = host
		}
	}
	origins := strings.Split(codecEnv["CODEC_CORS_ORIGIN"], ",")
	if uiPort == "" || !slices.Contains(origins, "http://localhost:"+uiPort) {
		t.Errorf("the codec server allows %v, the Web UI is published on port %q", origins, uiPort)
	}
}

// The intake reaches the same Temporal namespace as the worker and is published where it listens.
func TestComposeIntakeWiring(t *testing.T) {
	c := loadCompose(t)
	w := loadWiring(t)
	env, worker := c.Services["intake"].env(t), c.Services["worker"].env(t)
	for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} {
		if env[v] == "" || env[v] != worker[v] {
			t.Errorf("intake %s = %q, the worker's %q", v, env[v], worker[v])
		}
	}
	if env["INTAKE_TOKENS_FILE"] == "" && env["INTAKE_HMAC_SECRET_FILE"] == "" {
		t.Error("the intake has no callers (INTAKE_TOKENS_FILE or INTAKE_HMAC_SECRET_FILE)")
	}
	host, port := hostPort(t, "intake INTAKE_LISTEN", env["INTAKE_LISTEN"])
	if host != "0.0.0.0" || !published(w.Services["intake"].Ports, port) {
		t.Errorf("the intake listens on %s:%s and publishes %v", host, port, w.Services["intake"].Ports)
	}
	if !slices.Contains(c.Services["intake"].dependsOn(t), "temporal-setup") {
		t.Error("the intake does not wait for temporal-setup (the namespace and its search attributes)")
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
