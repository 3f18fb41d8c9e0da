// Package config reads Offboard's settings from environment variables. Temporal settings use the
// Temporal CLI's own variable names, so one worker reaches a dev server, a self-hosted cluster or
// Temporal Cloud with the environment an operator already has. Every variable is documented by
// Variables; secrets (tagged `secret:"true"`) never appear in Redacted output or in errors.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Temporal is the connection to a Temporal service: the TEMPORAL_* variables over the temporal
// CLI's profile (temporal.toml, applyProfile) over the defaults.
type Temporal struct {
	Address   string `envconfig:"TEMPORAL_ADDRESS" default:"localhost:7233"`
	Namespace string `envconfig:"TEMPORAL_NAMESPACE" default:"default"`
	// APIKey authenticates to Temporal Cloud (or any server that takes one); TLS is then on.
	APIKey string `envconfig:"TEMPORAL_API_KEY" secret:"true"`
	TLS    bool   `envconfig:"TEMPORAL_TLS"`
	// Client certificate and key for mutual TLS; both or neither.
	TLSCertPath string `envconfig:"TEMPORAL_TLS_CLIENT_CERT_PATH"`
	TLSKeyPath  string `envconfig:"TEMPORAL_TLS_CLIENT_KEY_PATH"`
	// CA that signed the server's certificate, when it is not in the system pool.
	TLSCACertPath              string `envconfig:"TEMPORAL_TLS_SERVER_CA_CERT_PATH"`
	TLSServerName              string `envconfig:"TEMPORAL_TLS_SERVER_NAME"`
	TLSDisableHostVerification bool   `envconfig:"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"`
	// ConfigFile and Profile choose the temporal CLI profile to read (profile.go).
	ConfigFile string `envconfig:"TEMPORAL_CONFIG_FILE"`
	Profile    string `envconfig:"TEMPORAL_PROFILE"`
	// Codec encrypts the payloads of every client dialled with these settings.
	Codec
}

// Codec is the payload codec: with a key file, every payload a client or worker writes to
// Temporal is encrypted (internal/codec); unset, payloads are stored in clear.
type Codec struct {
	// KeyFile holds one "<key id> <base64 key>" a line; the first key encrypts, all decrypt.
	KeyFile string `envconfig:"CODEC_KEY_FILE"`
}

// Enabled reports whether payloads are encrypted.
func (c Codec) Enabled() bool { return c.KeyFile != "" }

// CodecServer is what the codec server reads: the keys, where to listen, the token operators
// present and the Web UI origins allowed to call it from a browser.
type CodecServer struct {
	Codec
	Listen    string `envconfig:"CODEC_LISTEN" default:"127.0.0.1:8234"`
	TokenFile string `envconfig:"CODEC_TOKEN_FILE"`
	// Token is filled from TokenFile by LoadCodecServer when that is set.
	Token string `envconfig:"CODEC_TOKEN" secret:"true"`
	// CORSOrigin is a comma-separated list of origins (scheme://host:port).
	CORSOrigin string `envconfig:"CODEC_CORS_ORIGIN" default:"http://localhost:8233"`
}

// Intake is what the intake API (bin/intake, docs/intake.md) reads: the Temporal connection the
// starter uses, where to listen, and the files of its callers' credentials. The files are read and
// checked by internal/intake; at least one of them must be set.
type Intake struct {
	Temporal
	Listen string `envconfig:"INTAKE_LISTEN" default:"127.0.0.1:8090"`
	// TokensFile holds one "<name> <scope> <token>" a line: the bearer tokens of the callers.
	TokensFile string `envconfig:"INTAKE_TOKENS_FILE"`
	// HMACSecretFile holds one "<name> <scope> <secret>" a line: the shared secrets of callers
	// that sign their requests' bodies instead of sending a token.
	HMACSecretFile string `envconfig:"INTAKE_HMAC_SECRET_FILE"`
}

// CodecTokenMinLength is the shortest CODEC_TOKEN accepted.
const CodecTokenMinLength = 16

// Origins lists CODEC_CORS_ORIGIN's origins.
func (c CodecServer) Origins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigin, ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// TLSEnabled reports whether the connection uses TLS: asked for, or implied by a TLS setting.
// An API key turns TLS on as well (the SDK does that itself).
func (t Temporal) TLSEnabled() bool {
	return t.TLS || t.TLSCertPath != "" || t.TLSKeyPath != "" || t.TLSCACertPath != "" ||
		t.TLSServerName != "" || t.TLSDisableHostVerification
}

// Console modes: who carries out a console step.
const (
	ConsoleModeAutomated = "automated" // the console endpoint, through activities
	ConsoleModeOperator  = "operator"  // a person in CLOMO PANEL, confirming through complete-step
)

// Console is the console API endpoint (the simulator, or an adapter in front of CLOMO).
type Console struct {
	URL       string `envconfig:"CONSOLE_URL" default:"http://127.0.0.1:8088"`
	TokenFile string `envconfig:"CONSOLE_TOKEN_FILE"`
	// Token is the bearer token; LoadWorker fills it from TokenFile when that is set.
	Token     string  `envconfig:"CONSOLE_TOKEN" secret:"true"`
	Mode      string  `envconfig:"CONSOLE_MODE" default:"automated"`
	RateLimit float64 `envconfig:"CONSOLE_RATE_LIMIT" default:"20"`
	// SafetyNetPoll is how often a waiting device reads the console when the console watcher
	// wakes it for nothing (workflows.DefaultSafetyNetPoll).
	SafetyNetPoll time.Duration `envconfig:"CONSOLE_SAFETY_NET_POLL" default:"24h"`
}

// Apple is the Apple Business API (Apple School and Business Manager API) account.
type Apple struct {
	ClientID       string  `envconfig:"APPLE_CLIENT_ID"`
	KeyID          string  `envconfig:"APPLE_KEY_ID"`
	PrivateKeyFile string  `envconfig:"APPLE_PRIVATE_KEY_FILE"`
	ServerID       string  `envconfig:"APPLE_SERVER_ID"`
	APIURL         string  `envconfig:"APPLE_API_URL" default:"https://api-business.apple.com"`
	TokenURL       string  `envconfig:"APPLE_TOKEN_URL" default:"https://account.apple.com/auth/oauth2/token"`
	RateLimit      float64 `envconfig:"APPLE_RATE_LIMIT" default:"5"`
	// GetPerMinute and PostPerHour are the organisation's request budget, which the Apple
	// coordinator keeps for every worker (Apple publishes none; these are the observed numbers).
	GetPerMinute int `envconfig:"APPLE_GET_PER_MINUTE" default:"20"`
	PostPerHour  int `envconfig:"APPLE_POST_PER_HOUR" default:"10"`
	// BudgetTimeScale divides the budget's minute and hour: for a simulator that runs faster than
	// real time (the demo, the tests, the benchmark). Against Apple it stays 1.
	BudgetTimeScale float64 `envconfig:"APPLE_BUDGET_TIME_SCALE" default:"1"`
	// ActivationLockHold holds §5 of every wiped device whose Activation Lock is still on until
	// an operator has turned it off in Apple Business Manager (workflows/activation_lock.go).
	ActivationLockHold bool `envconfig:"ACTIVATION_LOCK_HOLD" default:"false"`
}

// Configured reports whether Offboard can call Apple: client ID, key ID, key file and MDM server
// ID are all set. Without them the abm-unassign step is left to a person.
func (a Apple) Configured() bool {
	return a.ClientID != "" && a.KeyID != "" && a.PrivateKeyFile != "" && a.ServerID != ""
}

// Notify is where Offboard tells people what to do: a webhook, e-mail, or both.
type Notify struct {
	// WebhookURL is a secret: chat webhooks carry their credential in the URL.
	WebhookURL       string `envconfig:"NOTIFY_WEBHOOK_URL" secret:"true"`
	SMTPHost         string `envconfig:"SMTP_HOST"`
	SMTPPort         int    `envconfig:"SMTP_PORT" default:"587"`
	SMTPUsername     string `envconfig:"SMTP_USERNAME"`
	SMTPPasswordFile string `envconfig:"SMTP_PASSWORD_FILE"`
	// SMTPPassword is filled from SMTPPasswordFile by LoadWorker when that is set.
	SMTPPassword  string `envconfig:"SMTP_PASSWORD" secret:"true"`
	SMTPFrom      string `envconfig:"SMTP_FROM"`
	OperatorEmail string `envconfig:"NOTIFY_OPERATOR_EMAIL"`
}

// Evidence is the archive of retirement records (docs/evidence.md): a directory outside Temporal
// and the Ed25519 key that signs each record.
type Evidence struct {
	Dir string `envconfig:"EVIDENCE_DIR" default:".offboard/evidence"`
	// SigningKeyFile holds an Ed25519 private key, PKCS#8 PEM (starter evidence keygen); unset,
	// records are written unsigned and `starter evidence verify` reports each of them.
	SigningKeyFile string `envconfig:"EVIDENCE_SIGNING_KEY_FILE"`
}

// Destructive is the organisation's budget of destructive console commands (wipes and deletes),
// kept for every worker by one workflow (docs/approval.md): past Budget in any window of
// BudgetWindow, a destructive step waits for a second person's approval.
type Destructive struct {
	Budget       int           `envconfig:"DESTRUCTIVE_BUDGET" default:"50"`
	BudgetWindow time.Duration `envconfig:"DESTRUCTIVE_BUDGET_WINDOW" default:"10m"`
}

// Worker is everything the worker process reads.
type Worker struct {
	Temporal
	Console
	Apple
	Notify
	Evidence
	Destructive
	LogLevel                   string `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat                  string `envconfig:"LOG_FORMAT" default:"console"`
	MaxConcurrentActivities    int    `envconfig:"WORKER_MAX_CONCURRENT_ACTIVITIES" default:"200"`
	MaxConcurrentWorkflowTasks int    `envconfig:"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS" default:"100"`
	// WorkflowCacheSize is how many workflows the worker process keeps in memory between their
	// workflow tasks (the SDK's sticky cache; its default is 10,000). A workflow not kept replays
	// its history when it next has a task: CPU for a device woken after days, instead of memory for
	// every waiting device (10,000 waiting devices held some 300 MB at the SDK's default).
	WorkflowCacheSize int `envconfig:"WORKER_WORKFLOW_CACHE_SIZE" default:"1000"`
	// WorkflowTaskPollers and ActivityTaskPollers are the worker's polls held open on each task
	// queue at once (the SDK's default is 2).
	WorkflowTaskPollers int `envconfig:"WORKER_WORKFLOW_TASK_POLLERS" default:"2"`
	ActivityTaskPollers int `envconfig:"WORKER_ACTIVITY_TASK_POLLERS" default:"2"`
	// PollerAutoscaling lets the SDK scale the pollers (up to 4 times the numbers above). On by
	// default: the SDK's fixed pollers all poll the sticky queue while it has a backlog, so under
	// load the normal queue (a new workflow's first task, every query of a finished workflow) went
	// unpolled long enough for the server to refuse queries ("no poller seen for task queue
	// recently"); the autoscaling pollers always keep one poll on each.
	PollerAutoscaling bool `envconfig:"WORKER_POLLER_AUTOSCALING" default:"true"`
	// MetricsAddr is where the worker serves Prometheus metrics (host:port, /metrics); empty: off.
	MetricsAddr string `envconfig:"WORKER_METRICS_ADDR"`
	// FleetApprovalWipes: a fleet with more wipes than this waits for a second person's approval
	// before any device starts; 0 turns the approval off.
	FleetApprovalWipes int `envconfig:"FLEET_APPROVAL_WIPES" default:"100"`
}

// LoadTemporal reads and checks the Temporal connection only (for the starter and tools), with
// the profile TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE choose.
func LoadTemporal() (Temporal, error) { return LoadTemporalProfile(ProfileChoice{}) }

// LoadTemporalProfile is LoadTemporal with the profile chosen by the caller (the starter's
// --config-file and --profile); empty fields fall back to the variables.
func LoadTemporalProfile(choice ProfileChoice) (Temporal, error) {
	var t Temporal
	if err := envconfig.Process("", &t); err != nil {
		return Temporal{}, fmt.Errorf("config: %w", scrub(err))
	}
	if err := t.applyProfile(choice); err != nil {
		return Temporal{}, fmt.Errorf("config: %w", err)
	}
	if err := t.validate(); err != nil {
		return Temporal{}, fmt.Errorf("config: %w", err)
	}
	return t, nil
}

// LoadWorker reads and checks the worker's settings, reading the console token and SMTP password
// from their files when those are given. It reports every problem at once.
func LoadWorker() (Worker, error) {
	var w Worker
	if err := envconfig.Process("", &w); err != nil {
		return Worker{}, fmt.Errorf("config: %w", scrub(err))
	}
	var errs []error
	var err error
	if err := w.Temporal.applyProfile(ProfileChoice{}); err != nil {
		return Worker{}, fmt.Errorf("config: %w", err)
	}
	if w.Console.Token, err = secretFromFile("CONSOLE_TOKEN", w.Console.Token, w.Console.TokenFile); err != nil {
		errs = append(errs, err)
	}
	if w.SMTPPassword, err = secretFromFile("SMTP_PASSWORD", w.SMTPPassword, w.SMTPPasswordFile); err != nil {
		errs = append(errs, err)
	}
	if err := w.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Worker{}, fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return w, nil
}

// LoadCodecServer reads and checks the codec server's settings, reading the token from its file
// when that is given. The key file must be set: a codec server without keys decodes nothing.
func LoadCodecServer() (CodecServer, error) {
	var c CodecServer
	if err := envconfig.Process("", &c); err != nil {
		return CodecServer{}, fmt.Errorf("config: %w", scrub(err))
	}
	var errs []error
	var err error
	if c.Token, err = secretFromFile("CODEC_TOKEN", c.Token, c.TokenFile); err != nil {
		errs = append(errs, err)
	}
	if err := c.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return CodecServer{}, fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return c, nil
}

// LoadIntake reads and checks the intake API's settings. It reports every problem at once.
func LoadIntake() (Intake, error) {
	var in Intake
	if err := envconfig.Process("", &in); err != nil {
		return Intake{}, fmt.Errorf("config: %w", scrub(err))
	}
	if err := in.Temporal.applyProfile(ProfileChoice{}); err != nil {
		return Intake{}, fmt.Errorf("config: %w", err)
	}
	if err := in.validate(); err != nil {
		return Intake{}, fmt.Errorf("config: %w", err)
	}
	return in, nil
}

func (in Intake) validate() error {
	errs := []error{in.Temporal.validate()}
	if _, _, err := net.SplitHostPort(in.Listen); err != nil {
		errs = append(errs, fmt.Errorf("INTAKE_LISTEN %q must be host:port", in.Listen))
	}
	if in.TokensFile == "" && in.HMACSecretFile == "" {
		errs = append(errs, errors.New("INTAKE_TOKENS_FILE or INTAKE_HMAC_SECRET_FILE (or both) must be set: every request must be authenticated"))
	}
	return errors.Join(errs...)
}

// Redacted lists the intake's variables with their values (the Temporal API key shows as "set"
// or "unset"; the credential files are paths, not secrets).
func (in Intake) Redacted() map[string]string {
	out := map[string]string{}
	redact(reflect.ValueOf(in), out)
	return out
}

func (c CodecServer) validate() error {
	var errs []error
	if c.KeyFile == "" {
		errs = append(errs, errors.New("CODEC_KEY_FILE must be set: the codec server decodes with its keys"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("CODEC_LISTEN %q must be host:port", c.Listen))
	}
	switch {
	case c.Token == "" && c.TokenFile == "":
		errs = append(errs, errors.New("CODEC_TOKEN_FILE (or CODEC_TOKEN) must be set: every request must carry the token"))
	case c.Token != "" && len(c.Token) < CodecTokenMinLength:
		errs = append(errs, fmt.Errorf("CODEC_TOKEN must be at least %d characters (openssl rand -hex 32)", CodecTokenMinLength))
	}
	origins := c.Origins()
	if len(origins) == 0 {
		errs = append(errs, errors.New("CODEC_CORS_ORIGIN must name at least one origin"))
	}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("CODEC_CORS_ORIGIN: %q is not an origin, scheme://host[:port]", o))
		}
	}
	return errors.Join(errs...)
}

// Redacted lists the codec server's variables with their values; the token shows as "set" or
// "unset".
func (c CodecServer) Redacted() map[string]string {
	out := map[string]string{}
	redact(reflect.ValueOf(c), out)
	return out
}

func (t Temporal) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(t.Address); err != nil {
		errs = append(errs, fmt.Errorf("TEMPORAL_ADDRESS %q must be host:port", t.Address))
	}
	if t.Namespace == "" {
		errs = append(errs, errors.New("TEMPORAL_NAMESPACE must not be empty"))
	}
	if (t.TLSCertPath == "") != (t.TLSKeyPath == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together"))
	}
	return errors.Join(errs...)
}

func (w Worker) validate() error {
	errs := []error{w.Temporal.validate()}
	if strings.TrimSpace(w.Evidence.Dir) == "" {
		errs = append(errs, errors.New("EVIDENCE_DIR must not be empty: every device's retirement record is written there"))
	}
	switch w.Console.Mode {
	case ConsoleModeAutomated, ConsoleModeOperator:
	default:
		errs = append(errs, fmt.Errorf("CONSOLE_MODE %q must be %q or %q", w.Console.Mode, ConsoleModeAutomated, ConsoleModeOperator))
	}
	errs = append(errs,
		checkURL("CONSOLE_URL", w.Console.URL, false),
		checkURL("APPLE_API_URL", w.APIURL, false),
		checkURL("APPLE_TOKEN_URL", w.TokenURL, false),
		checkURL("NOTIFY_WEBHOOK_URL", w.WebhookURL, true),
		positive("CONSOLE_RATE_LIMIT", w.Console.RateLimit),
		positive("CONSOLE_SAFETY_NET_POLL", w.Console.SafetyNetPoll.Seconds()),
		positive("APPLE_RATE_LIMIT", w.Apple.RateLimit),
		positive("APPLE_GET_PER_MINUTE", float64(w.Apple.GetPerMinute)),
		positive("APPLE_POST_PER_HOUR", float64(w.Apple.PostPerHour)),
		positive("APPLE_BUDGET_TIME_SCALE", w.Apple.BudgetTimeScale),
		positive("DESTRUCTIVE_BUDGET", float64(w.Destructive.Budget)),
		positive("DESTRUCTIVE_BUDGET_WINDOW", w.Destructive.BudgetWindow.Seconds()),
		positive("WORKER_MAX_CONCURRENT_ACTIVITIES", float64(w.MaxConcurrentActivities)),
		positive("WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", float64(w.MaxConcurrentWorkflowTasks)),
		positive("WORKER_WORKFLOW_CACHE_SIZE", float64(w.WorkflowCacheSize)),
		atLeast("WORKER_WORKFLOW_TASK_POLLERS", w.WorkflowTaskPollers, 2),
		positive("WORKER_ACTIVITY_TASK_POLLERS", float64(w.ActivityTaskPollers)),
		atLeast("FLEET_APPROVAL_WIPES", w.FleetApprovalWipes, 0),
	)
	errs = append(errs, checkListen("WORKER_METRICS_ADDR", w.MetricsAddr))
	if missing := w.Apple.missing(); len(missing) > 0 && len(missing) < 4 {
		errs = append(errs, fmt.Errorf("the Apple Business account is partly configured: set %s too, or none of the APPLE_ account variables", strings.Join(missing, ", ")))
	}
	if w.SMTPPort < 1 || w.SMTPPort > 65535 {
		errs = append(errs, fmt.Errorf("SMTP_PORT %d is not a TCP port", w.SMTPPort))
	}
	if w.SMTPHost != "" && w.SMTPFrom == "" {
		errs = append(errs, errors.New("SMTP_FROM must be set when SMTP_HOST is"))
	}
	switch w.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q must be debug, info, warn or error", w.LogLevel))
	}
	switch w.LogFormat {
	case "console", "json":
	default:
		errs = append(errs, fmt.Errorf("LOG_FORMAT %q must be console or json", w.LogFormat))
	}
	return errors.Join(errs...)
}

func (a Apple) missing() []string {
	var m []string
	for _, v := range []struct{ name, value string }{
		{"APPLE_CLIENT_ID", a.ClientID}, {"APPLE_KEY_ID", a.KeyID},
		{"APPLE_PRIVATE_KEY_FILE", a.PrivateKeyFile}, {"APPLE_SERVER_ID", a.ServerID},
	} {
		if v.value == "" {
			m = append(m, v.name)
		}
	}
	return m
}

// checkURL accepts an absolute http(s) URL. The value is not echoed when it is a secret, and a
// URL's user info never is.
func checkURL(name, value string, secret bool) error {
	if value == "" {
		if secret { // the optional ones are the secret ones
			return nil
		}
		return fmt.Errorf("%s must not be empty", name)
	}
	u, err := url.Parse(value)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL
		}
		return fmt.Errorf("%s does not parse as a URL: %v", name, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if secret {
			return fmt.Errorf("%s must be an absolute http or https URL", name)
		}
		return fmt.Errorf("%s %q must be an absolute http or https URL", name, u.Redacted())
	}
	return nil
}

// checkListen accepts an empty address (off) or host:port with a port from 1 to 65535; an empty
// host listens on every interface.
func checkListen(name, addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q must be host:port, like 127.0.0.1:9090", name, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s %q: the port must be a number from 1 to 65535", name, addr)
	}
	return nil
}

// atLeast checks a count with a floor (the SDK panics on one workflow task poller: its pollers
// take turns between the sticky and the normal queue).
func atLeast(name string, v, least int) error {
	if v < least {
		return fmt.Errorf("%s must be at least %d, not %d", name, least, v)
	}
	return nil
}

func positive(name string, v float64) error {
	if v <= 0 {
		return fmt.Errorf("%s must be greater than 0, not %v", name, v)
	}
	return nil
}

// secretFromFile returns the secret named name, read from file when file is set (trailing
// newlines trimmed, as editors and `echo` add them). Setting both is a mistake worth stopping on.
func secretFromFile(name, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set: keep one", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s_FILE %s is empty", name, file)
	}
	return s, nil
}

// scrub drops the value from envconfig's parse errors, so a mistyped secret is not logged.
func scrub(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: cannot read the value as %s", pe.KeyName, pe.TypeName)
	}
	return err
}
