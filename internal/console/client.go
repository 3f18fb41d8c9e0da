package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API is what the activities need from a console: read a record, send a command, read a command.
// *Client implements it against the console API; tests may fake it.
type API interface {
	Device(ctx context.Context, serial string) (Device, error)
	SendCommand(ctx context.Context, serial, idempotencyKey string, req CommandRequest) (Command, error)
	Command(ctx context.Context, serial, id string) (Command, error)
}

var _ API = (*Client)(nil)

// DefaultTimeout bounds one request when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// MaxIdempotencyKey is the longest Idempotency-Key the console accepts.
const MaxIdempotencyKey = 200

// maxBody bounds how much of an answer the client reads.
const maxBody = 1 << 20

// Config configures a Client. Its String and GoString never show the token, nor does JSON.
type Config struct {
	BaseURL    string       // e.g. http://127.0.0.1:8080 (the simulator) or a customer's adapter
	Token      string       `json:"-"` // bearer token; see LoadToken
	HTTPClient *http.Client // nil: a client with DefaultTimeout
	UserAgent  string       // empty: "offboard"
}

// String describes the configuration without the token.
func (c Config) String() string {
	token := "unset"
	if c.Token != "" {
		token = "[redacted]"
	}
	return fmt.Sprintf("console.Config{BaseURL: %q, Token: %s, UserAgent: %q}", c.BaseURL, token, c.UserAgent)
}

// GoString is String, so %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// Client is a client of the console API (docs/console-api.md). It does not retry: the caller (a
// Temporal activity) owns retries, and reads APIError.Temporary and RetryAfter to decide.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	agent string
	now   func() time.Time // for Retry-After dates
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("console: no base URL: set the console endpoint (the simulator's address or your adapter's)")
	}
	base, err := url.Parse(strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("console: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if base.User != nil {
		return nil, errors.New("console: base URL must not carry credentials: put the token in CONSOLE_TOKEN_FILE")
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("console: base URL %q must not have a query or fragment", cfg.BaseURL)
	}
	if cfg.Token == "" {
		return nil, errors.New("console: no token: set CONSOLE_TOKEN_FILE (preferred) or CONSOLE_TOKEN")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	agent := cfg.UserAgent
	if agent == "" {
		agent = "offboard"
	}
	return &Client{base: base, token: cfg.Token, http: hc, agent: agent, now: time.Now}, nil
}

// String describes the client without the token.
func (c *Client) String() string { return "console.Client{" + c.base.String() + "}" }

// Device reads the record of serial. A serial the console does not know (never known, or deleted)
// answers an *APIError with Code CodeDeviceNotFound.
func (c *Client) Device(ctx context.Context, serial string) (Device, error) {
	var d Device
	err := c.do(ctx, serial, "read device record", http.MethodGet, devicePath(serial), "", nil, &d)
	return d, err
}

// SendCommand sends req for serial with idempotencyKey. Sending the same key again for the same
// serial and type does nothing new: the console answers the original command with Replayed set.
func (c *Client) SendCommand(ctx context.Context, serial, idempotencyKey string, req CommandRequest) (Command, error) {
	op := "send " + req.Type
	if req.Type == "" {
		return Command{}, fmt.Errorf("console: device %s: send command: no command type", serial)
	}
	if idempotencyKey == "" || len(idempotencyKey) > MaxIdempotencyKey {
		return Command{}, fmt.Errorf("console: device %s: %s: the Idempotency-Key must be 1 to %d characters, got %d",
			serial, op, MaxIdempotencyKey, len(idempotencyKey))
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Command{}, fmt.Errorf("console: device %s: %s: encode: %w", serial, op, err)
	}
	var cmd Command
	err = c.do(ctx, serial, op, http.MethodPost, devicePath(serial)+"/commands", idempotencyKey, body, &cmd)
	return cmd, err
}

// Command reads the command id of serial, to poll a queued one.
func (c *Client) Command(ctx context.Context, serial, id string) (Command, error) {
	if id == "" {
		return Command{}, errNoCommandID(serial)
	}
	var cmd Command
	err := c.do(ctx, serial, "read command "+id, http.MethodGet,
		devicePath(serial)+"/commands/"+url.PathEscape(id), "", nil, &cmd)
	return cmd, err
}

func errNoCommandID(serial string) error {
	return fmt.Errorf("console: device %s: read command: no command id", serial)
}

func devicePath(serial string) string { return "/api/v1/devices/" + url.PathEscape(serial) }

// do sends one request and decodes a 2xx answer into out; any other answer is an *APIError.
func (c *Client) do(ctx context.Context, serial, op, method, path, idemKey string, body []byte, out any) error {
	_, err := c.send(ctx, serial, op, method, path, idemKey, body, nil, out)
	return err
}

// answerMeta is what a long poll needs of an answer besides its body.
type answerMeta struct {
	etag        string
	notModified bool // 304: the client's copy is still current
	waited      bool // the console honoured Prefer: wait (Preference-Applied)
}

// send sends one request, with extra headers, and decodes a 2xx answer into out; a 304 is not
// an error, any other answer is an *APIError.
func (c *Client) send(ctx context.Context, serial, op, method, path, idemKey string, body []byte, header http.Header, out any) (meta answerMeta, err error) {
	if strings.TrimSpace(serial) == "" {
		return meta, fmt.Errorf("console: %s: no serial", op)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return meta, fmt.Errorf("console: device %s: %s: %w", serial, op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	for k, v := range header {
		req.Header[k] = v
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return meta, fmt.Errorf("console: device %s: %s: %s: %w", serial, op, transportHint(ctx), c.scrubErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return meta, fmt.Errorf("console: device %s: %s: read answer (HTTP %d): %w", serial, op, resp.StatusCode, c.scrubErr(err))
	}
	meta.etag = resp.Header.Get("ETag")
	meta.waited = strings.HasPrefix(strings.TrimSpace(resp.Header.Get("Preference-Applied")), "wait")
	if resp.StatusCode == http.StatusNotModified {
		meta.notModified = true
		return meta, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseError(resp, data, c.now())
		e.Serial, e.Op = serial, op
		e.Message = redact(e.Message, c.token)
		return meta, e
	}
	if out == nil {
		return meta, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return meta, fmt.Errorf("console: device %s: %s: the answer (HTTP %d) is not the console API's JSON: %w; check the console base URL",
			serial, op, resp.StatusCode, err)
	}
	return meta, nil
}

// transportHint says what a failed round trip probably means.
func transportHint(ctx context.Context) string {
	if ctx.Err() != nil {
		return "cancelled before the console answered"
	}
	return "no answer from the console (check the endpoint is up and reachable; safe to retry)"
}

// scrubErr keeps err's chain (for errors.Is/As) but makes sure the token cannot leak through its text.
func (c *Client) scrubErr(err error) error {
	if !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &scrubbed{err: err, text: redact(err.Error(), c.token)}
}

type scrubbed struct {
	err  error
	text string
}

func (s *scrubbed) Error() string { return s.text }
func (s *scrubbed) Unwrap() error { return s.err }

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}
