package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every variable of Variables for the test, so the machine's environment (a
// developer's TEMPORAL_ADDRESS, say) does not leak in; nor does a temporal CLI profile in the
// developer's own configuration directory.
func clearEnv(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, v := range Variables() {
		t.Setenv(v.Name, "") // registers restoration
		os.Unsetenv(v.Name)
	}
}

func TestLoadWorkerDefaults(t *testing.T) {
	clearEnv(t)
	w, err := LoadWorker()
	if err != nil {
		t.Fatalf("LoadWorker: %v", err)
	}
	want := Worker{
		Temporal:                   Temporal{Address: "localhost:7233", Namespace: "default"},
		Console:                    Console{URL: "http://127.0.0.1:8088", Mode: "automated", RateLimit: 20, SafetyNetPoll: 24 * time.Hour},
		Apple:                      Apple{APIURL: "https://api-business.apple.com", TokenURL: "https://account.apple.com/auth/oauth2/token", RateLimit: 5, GetPerMinute: 20, PostPerHour: 10, BudgetTimeScale: 1},
		Notify:                     Notify{SMTPPort: 587},
		Evidence:                   Evidence{Dir: ".offboard/evidence"},
		Destructive:                Destructive{Budget: 50, BudgetWindow: 10 * time.Minute},
		LogLevel:                   "info",
		LogFormat:                  "console",
		MaxConcurrentActivities:    200,
		MaxConcurrentWorkflowTasks: 100, WorkflowCacheSize: 1000, WorkflowTaskPollers: 2, ActivityTaskPollers: 2, PollerAutoscaling: true,
		FleetApprovalWipes: 100,
	}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", w, want)
	}
	if w.Apple.Configured() {
		t.Error("Apple.Configured() with no account set")
	}
	if w.Temporal.TLSEnabled() {
		t.Error("TLS on by default")
	}
}

func TestLoadWorkerOverrides(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"TEMPORAL_ADDRESS":                 "ns.acct.tmprl.cloud:7233",
		"TEMPORAL_NAMESPACE":               "ns.acct",
		"TEMPORAL_API_KEY":                 "key-123",
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/ca.pem",
		"CONSOLE_URL":                      "https://console.example.com/",
		"CONSOLE_TOKEN_FILE":               tokenFile,
		"CONSOLE_MODE":                     "operator",
		"CONSOLE_RATE_LIMIT":               "2.5",
		"CONSOLE_SAFETY_NET_POLL":          "6h",
		"APPLE_CLIENT_ID":                  "BUSINESSAPI.x",
		"APPLE_KEY_ID":                     "k1",
		"APPLE_PRIVATE_KEY_FILE":           "/key.p8",
		"APPLE_SERVER_ID":                  "srv",
		"SMTP_HOST":                        "smtp.example.com",
		"SMTP_PORT":                        "2525",
		"SMTP_FROM":                        "offboard@example.com",
		"LOG_LEVEL":                        "debug",
		"LOG_FORMAT":                       "json",
		"WORKER_MAX_CONCURRENT_ACTIVITIES": "7",
		"WORKER_METRICS_ADDR":              ":9090",
	} {
		t.Setenv(k, v)
	}
	w, err := LoadWorker()
	if err != nil {
		t.Fatalf("LoadWorker: %v", err)
	}
	if w.Address != "ns.acct.tmprl.cloud:7233" || w.Namespace != "ns.acct" || w.APIKey != "key-123" {
		t.Errorf("temporal: %+v", w.Temporal)
	}
	if !w.Temporal.TLSEnabled() {
		t.Error("a CA path should turn TLS on")
	}
	if w.Console.Token != "tok-from-file" || w.Console.Mode != "operator" || w.Console.RateLimit != 2.5 || w.Console.SafetyNetPoll != 6*time.Hour {
		t.Errorf("console: %+v", w.Console)
	}
	if !w.Apple.Configured() {
		t.Error("Apple.Configured() = false with the whole account set")
	}
	if w.SMTPPort != 2525 || w.LogLevel != "debug" || w.LogFormat != "json" || w.MaxConcurrentActivities != 7 || w.MetricsAddr != ":9090" {
		t.Errorf("worker: %+v", w)
	}
}

func TestLoadWorkerValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // in the error
	}{
		{"mode", map[string]string{"CONSOLE_MODE": "manual"}, `CONSOLE_MODE "manual" must be "automated" or "operator"`},
		{"console url", map[string]string{"CONSOLE_URL": "console.local:8088"}, "CONSOLE_URL"},
		{"console url unparsable", map[string]string{"CONSOLE_URL": "http://[::1"}, "CONSOLE_URL does not parse"},
		{"token url", map[string]string{"APPLE_TOKEN_URL": "/token"}, "APPLE_TOKEN_URL"},
		{"webhook", map[string]string{"NOTIFY_WEBHOOK_URL": "hooks.example.com/x"}, "NOTIFY_WEBHOOK_URL must be an absolute"},
		{"cert without key", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "/c.pem"}, "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together"},
		{"key without cert", map[string]string{"TEMPORAL_TLS_CLIENT_KEY_PATH": "/k.pem"}, "must be set together"},
		{"address", map[string]string{"TEMPORAL_ADDRESS": "localhost"}, "TEMPORAL_ADDRESS"},
		{"apple partial", map[string]string{"APPLE_CLIENT_ID": "c", "APPLE_KEY_ID": "k"}, "set APPLE_PRIVATE_KEY_FILE, APPLE_SERVER_ID too"},
		{"rate", map[string]string{"CONSOLE_RATE_LIMIT": "0"}, "CONSOLE_RATE_LIMIT must be greater than 0"},
		{"rate type", map[string]string{"APPLE_RATE_LIMIT": "fast"}, "APPLE_RATE_LIMIT"},
		{"smtp from", map[string]string{"SMTP_HOST": "smtp.example.com"}, "SMTP_FROM must be set"},
		{"smtp port", map[string]string{"SMTP_PORT": "70000"}, "SMTP_PORT 70000"},
		{"log level", map[string]string{"LOG_LEVEL": "verbose"}, "LOG_LEVEL"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT"},
		{"token twice", map[string]string{"CONSOLE_TOKEN": "a", "CONSOLE_TOKEN_FILE": "/x"}, "CONSOLE_TOKEN and CONSOLE_TOKEN_FILE are both set"},
		{"token file missing", map[string]string{"CONSOLE_TOKEN_FILE": "/nonexistent/token"}, "CONSOLE_TOKEN_FILE: open /nonexistent/token"},
		{"metrics addr", map[string]string{"WORKER_METRICS_ADDR": "9090"}, `WORKER_METRICS_ADDR "9090" must be host:port`},
		{"metrics port", map[string]string{"WORKER_METRICS_ADDR": "127.0.0.1:prom"}, "WORKER_METRICS_ADDR \"127.0.0.1:prom\": the port must be a number"},
		{"metrics port zero", map[string]string{"WORKER_METRICS_ADDR": "127.0.0.1:0"}, "from 1 to 65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := LoadWorker()
			if err == nil {
				t.Fatalf("LoadWorker accepted %v", tc.env)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not say %q", err, tc.want)
			}
		})
	}
}

func TestLoadWorkerReportsEveryProblem(t *testing.T) {
	clearEnv(t)
	t.Setenv("CONSOLE_MODE", "x")
	t.Setenv("LOG_FORMAT", "y")
	_, err := LoadWorker()
	if err == nil || !strings.Contains(err.Error(), "CONSOLE_MODE") || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestLoadTemporal(t *testing.T) {
	clearEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", "temporal:7233")
	t.Setenv("CONSOLE_MODE", "not-checked-here")
	tc, err := LoadTemporal()
	if err != nil {
		t.Fatal(err)
	}
	if tc.Address != "temporal:7233" || tc.Namespace != "default" {
		t.Errorf("%+v", tc)
	}
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", "/k.pem")
	if _, err := LoadTemporal(); err == nil {
		t.Error("key without cert accepted")
	}
}

// secrets are values no output of this package may contain.
var secrets = map[string]string{
	"TEMPORAL_API_KEY":   "s3cret-api-key",
	"CONSOLE_TOKEN":      "s3cret-console-token",
	"SMTP_PASSWORD":      "s3cret-smtp-password",
	"NOTIFY_WEBHOOK_URL": "https://hooks.example.com/services/s3cret-webhook-path",
}

func TestSecretsNeverShown(t *testing.T) {
	clearEnv(t)
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	w, err := LoadWorker()
	if err != nil {
		t.Fatal(err)
	}
	red := w.Redacted()
	for k := range secrets {
		if red[k] != "set" {
			t.Errorf("Redacted()[%s] = %q, want \"set\"", k, red[k])
		}
	}
	for k, v := range red {
		for _, s := range secrets {
			if strings.Contains(v, s) {
				t.Errorf("Redacted()[%s] shows a secret", k)
			}
		}
	}
	if red["CONSOLE_URL"] != "http://127.0.0.1:8088" || red["SMTP_PORT"] != "587" {
		t.Errorf("plain values missing from Redacted: %v", red)
	}
	if got := w.Temporal.Redacted()["TEMPORAL_API_KEY"]; got != "set" {
		t.Errorf("Temporal.Redacted API key = %q", got)
	}
	if len(red) != len(Variables())-len(codecServerOnly)-len(intakeOnly) {
		t.Errorf("Redacted has %d variables, Variables %d (%d of them the codec server's alone, %d the intake's)",
			len(red), len(Variables()), len(codecServerOnly), len(intakeOnly))
	}

	clearEnv(t)
	if got := (Worker{}).Redacted()["CONSOLE_TOKEN"]; got != "unset" {
		t.Errorf("unset secret shows %q", got)
	}
}

func TestSecretsAbsentFromErrors(t *testing.T) {
	clearEnv(t)
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	// Break everything that can break around the secrets.
	t.Setenv("NOTIFY_WEBHOOK_URL", "s3cret-webhook-path")
	t.Setenv("CONSOLE_TOKEN_FILE", "/nonexistent")
	t.Setenv("SMTP_PASSWORD_FILE", "/nonexistent")
	t.Setenv("CONSOLE_MODE", "bad")
	t.Setenv("CONSOLE_URL", "http://user:s3cret-url-password@console.example.com:bad")
	_, err := LoadWorker()
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range append(mapValues(secrets), "s3cret-webhook-path", "s3cret-url-password") {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows secret %q: %v", s, err)
		}
	}
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

// TestVariablesDocumentEveryField reflects over the structs on its own, so a field added without
// an envconfig tag or a description fails here.
func TestVariablesDocumentEveryField(t *testing.T) {
	tags := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name := f.Tag.Get("envconfig")
			if name == "" {
				t.Errorf("%s.%s has no envconfig tag", rt.Name(), f.Name)
				continue
			}
			if tags[name] {
				t.Errorf("%s is read by two fields", name)
			}
			tags[name] = true
		}
	}
	walk(reflect.TypeOf(Worker{}))
	// The codec server shares Codec (CODEC_KEY_FILE) with the worker's Temporal settings.
	for _, f := range reflect.VisibleFields(reflect.TypeOf(CodecServer{})) {
		if f.Anonymous || len(f.Index) > 1 {
			continue
		}
		name := f.Tag.Get("envconfig")
		if name == "" || tags[name] {
			t.Errorf("CodecServer.%s: no envconfig tag, or %q read by the worker too", f.Name, name)
		}
		tags[name] = true
	}
	// The intake shares Temporal with the worker.
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Intake{})) {
		if f.Anonymous || len(f.Index) > 1 {
			continue
		}
		name := f.Tag.Get("envconfig")
		if name == "" || tags[name] {
			t.Errorf("Intake.%s: no envconfig tag, or %q read by another program too", f.Name, name)
		}
		tags[name] = true
	}

	seen := map[string]bool{}
	for _, v := range Variables() {
		if seen[v.Name] {
			t.Errorf("%s documented twice", v.Name)
		}
		seen[v.Name] = true
		if !tags[v.Name] {
			t.Errorf("%s is documented but no field reads it", v.Name)
		}
		if strings.TrimSpace(v.Description) == "" {
			t.Errorf("%s has no description", v.Name)
		}
	}
	for name := range tags {
		if !seen[name] {
			t.Errorf("%s is read but not documented in Variables()", name)
		}
	}

	byName := map[string]Variable{}
	for _, v := range Variables() {
		byName[v.Name] = v
	}
	for _, s := range []string{"TEMPORAL_API_KEY", "CONSOLE_TOKEN", "SMTP_PASSWORD", "CODEC_TOKEN"} {
		if !byName[s].Secret {
			t.Errorf("%s is not marked secret", s)
		}
	}
	if byName["CONSOLE_RATE_LIMIT"].Default != "20" || byName["TEMPORAL_ADDRESS"].Default != "localhost:7233" {
		t.Errorf("defaults not taken from tags: %+v %+v", byName["CONSOLE_RATE_LIMIT"], byName["TEMPORAL_ADDRESS"])
	}
}
