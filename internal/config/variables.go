package config

import (
	"fmt"
	"reflect"
)

// Variable documents one environment variable.
type Variable struct {
	Name        string
	Default     string // "" when there is none
	Description string
	Secret      bool // never printed; Redacted shows "set" or "unset"
}

// descriptions is the documentation of every variable, in the order of the README's table.
// A variable of the structs that is missing here fails the package's tests.
var descriptions = []struct{ name, text string }{
	{"TEMPORAL_ADDRESS", "Temporal frontend, host:port (a dev server, a self-hosted cluster or <ns>.<acct>.tmprl.cloud:7233)"},
	{"TEMPORAL_NAMESPACE", "Temporal namespace"},
	{"TEMPORAL_API_KEY", "API key (Temporal Cloud); turns TLS on"},
	{"TEMPORAL_TLS", "connect with TLS (implied by any other TEMPORAL_TLS_ setting)"},
	{"TEMPORAL_TLS_CLIENT_CERT_PATH", "client certificate (PEM) for mutual TLS"},
	{"TEMPORAL_TLS_CLIENT_KEY_PATH", "client private key (PEM) for mutual TLS"},
	{"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "CA certificate (PEM) that signed the server's certificate, if not a public CA"},
	{"TEMPORAL_TLS_SERVER_NAME", "server name to verify the server's certificate against, if not the address's host"},
	{"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "skip verifying the server's certificate (tests only)"},
	{"TEMPORAL_CONFIG_FILE", "the temporal CLI's configuration file (temporal.toml) whose profile supplies what no TEMPORAL_ variable sets; unset: its default place, if there"},
	{"TEMPORAL_PROFILE", "the profile of that file to use (default: default)"},
	{"CODEC_KEY_FILE", "payload encryption keys, one \"<key id> <base64 32-byte key>\" a line, the first encrypting (docs/codec.md); unset: payloads in clear"},
	{"CONSOLE_URL", "base URL of the console API (the simulator, or an adapter in front of CLOMO)"},
	{"CONSOLE_TOKEN_FILE", "file holding the console API bearer token (preferred over CONSOLE_TOKEN)"},
	{"CONSOLE_TOKEN", "console API bearer token"},
	{"CONSOLE_MODE", "who carries out console steps: automated (the console API) or operator (a person in CLOMO PANEL)"},
	{"CONSOLE_RATE_LIMIT", "console API requests per second, across all workers (task-queue rate limit)"},
	{"CONSOLE_SAFETY_NET_POLL", "how often a device waiting on its check-in reads the console when the console watcher wakes it for nothing (the watcher follows the console's change feed)"},
	{"APPLE_CLIENT_ID", "Apple Business API client ID; with the key and server ID, enables the abm-unassign step"},
	{"APPLE_KEY_ID", "Apple Business API key ID"},
	{"APPLE_PRIVATE_KEY_FILE", "Apple Business API private key (.p8, PEM)"},
	{"APPLE_SERVER_ID", "ID of this MDM server in Apple Business Manager"},
	{"APPLE_API_URL", "Apple Business API base URL"},
	{"APPLE_TOKEN_URL", "Apple OAuth2 token endpoint"},
	{"APPLE_RATE_LIMIT", "Apple Business API requests per second, across all workers (task-queue rate limit)"},
	{"APPLE_GET_PER_MINUTE", "Apple's GET budget for the organisation, kept by the Apple coordinator for every worker"},
	{"APPLE_BUDGET_TIME_SCALE", "divides the Apple budget's minute and hour, for a simulator faster than real time; 1 against Apple"},
	{"APPLE_POST_PER_HOUR", "Apple's POST budget for the organisation (UNASSIGN_DEVICES activities), kept by the Apple coordinator"},
	{"ACTIVATION_LOCK_HOLD", "hold abm-unassign of a wiped device still Activation Locked until an operator turns the lock off in Apple Business Manager"},
	{"DESTRUCTIVE_BUDGET", "destructive console commands (wipes, deletes) let through in any window, across all workers; past it each waits for a second person's approval (docs/approval.md)"},
	{"DESTRUCTIVE_BUDGET_WINDOW", "the window of DESTRUCTIVE_BUDGET (a Go duration: 10m, 1h)"},
	{"NOTIFY_WEBHOOK_URL", "webhook that receives notifications for people (JSON POST)"},
	{"SMTP_HOST", "SMTP server for e-mail notifications; unset: no e-mail"},
	{"SMTP_PORT", "SMTP port (STARTTLS)"},
	{"SMTP_USERNAME", "SMTP user name"},
	{"SMTP_PASSWORD_FILE", "file holding the SMTP password (preferred over SMTP_PASSWORD)"},
	{"SMTP_PASSWORD", "SMTP password"},
	{"SMTP_FROM", "sender address of e-mail notifications"},
	{"NOTIFY_OPERATOR_EMAIL", "address of the operator who handles steps waiting on a person"},
	{"EVIDENCE_DIR", "directory of the retirement records (docs/evidence.md): write-once, hash-chained; shared by workers only on a filesystem with flock"},
	{"EVIDENCE_SIGNING_KEY_FILE", "Ed25519 private key (PKCS#8 PEM, starter evidence keygen) that signs each retirement record; unset: records are unsigned and verify reports them"},
	{"LOG_LEVEL", "debug, info, warn or error"},
	{"LOG_FORMAT", "console (for people) or json (for log collectors)"},
	{"WORKER_MAX_CONCURRENT_ACTIVITIES", "activities one worker runs at once"},
	{"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "workflow tasks one worker runs at once"},
	{"WORKER_WORKFLOW_CACHE_SIZE", "workflows the worker process keeps in memory between their tasks (the SDK's sticky cache); one not kept replays its history at its next task"},
	{"WORKER_WORKFLOW_TASK_POLLERS", "polls for workflow tasks one worker holds open (at least 2)"},
	{"WORKER_ACTIVITY_TASK_POLLERS", "polls for activity tasks one worker holds open on each task queue"},
	{"WORKER_POLLER_AUTOSCALING", "the SDK scales the pollers (up to 4 times the numbers above) and always keeps one on the normal queue; false: fixed pollers, which under load leave the normal queue (new devices, queries of finished ones) unpolled"},
	{"WORKER_METRICS_ADDR", "host:port where the worker serves Prometheus metrics at /metrics (docs/metrics.md); unset: no metrics"},
	{"FLEET_APPROVAL_WIPES", "a fleet with more wipes than this waits, before any device starts, for a second person's approval (starter fleet approve); 0: no fleet does"},
	{"CODEC_LISTEN", "codec server (go run ./codec): host:port it listens on"},
	{"CODEC_TOKEN_FILE", "codec server: file holding the bearer token every request must carry (preferred over CODEC_TOKEN)"},
	{"CODEC_TOKEN", "codec server: bearer token every request must carry (at least 16 characters)"},
	{"CODEC_CORS_ORIGIN", "codec server: Web UI origins (comma-separated) allowed to call it from a browser"},
	{"INTAKE_LISTEN", "intake API (bin/intake): host:port it listens on"},
	{"INTAKE_TOKENS_FILE", "intake API: callers' bearer tokens, one \"<name> <scope> <token>\" a line, scope read, start or wipe (docs/intake.md)"},
	{"INTAKE_HMAC_SECRET_FILE", "intake API: callers' HMAC secrets, one \"<name> <scope> <secret>\" a line, for signed bodies instead of tokens (docs/intake.md)"},
}

// Variables documents every environment variable Offboard reads (the worker, the starter, the
// codec server and the intake API), in a stable order. Defaults and secrecy come from the struct
// tags, so the table cannot drift from the code.
func Variables() []Variable {
	fields := map[string]reflect.StructField{}
	for _, t := range []reflect.Type{reflect.TypeOf(Worker{}), reflect.TypeOf(CodecServer{}), reflect.TypeOf(Intake{})} {
		for _, f := range tagged(t) {
			fields[f.Tag.Get("envconfig")] = f
		}
	}
	vars := make([]Variable, 0, len(descriptions))
	for _, d := range descriptions {
		f := fields[d.name]
		vars = append(vars, Variable{
			Name:        d.name,
			Default:     f.Tag.Get("default"),
			Description: d.text,
			Secret:      f.Tag.Get("secret") == "true",
		})
	}
	return vars
}

// Redacted lists every variable with its value for a start-up log line; secrets show as "set" or
// "unset".
func (w Worker) Redacted() map[string]string {
	out := map[string]string{}
	redact(reflect.ValueOf(w), out)
	return out
}

// Redacted lists the Temporal variables with their values; the API key shows as "set" or "unset".
func (t Temporal) Redacted() map[string]string {
	out := map[string]string{}
	redact(reflect.ValueOf(t), out)
	return out
}

func redact(v reflect.Value, out map[string]string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			redact(v.Field(i), out)
			continue
		}
		name := f.Tag.Get("envconfig")
		if name == "" {
			continue
		}
		value := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" {
			value = "unset"
			if !v.Field(i).IsZero() {
				value = "set"
			}
		}
		out[name] = value
	}
}

// tagged returns the fields of t (embedded structs flattened) that name an environment variable.
func tagged(t reflect.Type) []reflect.StructField {
	var fs []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			fs = append(fs, tagged(f.Type)...)
			continue
		}
		if f.Tag.Get("envconfig") != "" {
			fs = append(fs, f)
		}
	}
	return fs
}
