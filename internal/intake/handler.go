// Package intake is Offboard's HTTP intake for pipelines (an HR system, an identity platform's
// workflow): POST /v1/offboardings starts a device's offboarding with the checks of
// `starter start`, GET /v1/offboardings/{serial} answers its status query. Callers authenticate
// with a bearer token or an HMAC signature of the body; a start is idempotent by serial; every
// refusal is application/problem+json naming the field. See docs/intake.md and
// docs/openapi/intake.yaml.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

// MaxBodyBytes bounds a request's body: one device's request is well under a kilobyte.
const MaxBodyBytes = 64 << 10

// DefaultTimeout bounds the Temporal calls of one request.
const DefaultTimeout = 20 * time.Second

// Route is a method and a path pattern the handler serves (net/http's pattern syntax, which is
// also OpenAPI's for these paths).
type Route struct{ Method, Path string }

// Routes are every route the handler serves; docs/openapi/intake.yaml documents each (a test
// checks it).
var Routes = []Route{
	{http.MethodPost, "/v1/offboardings"},
	{http.MethodGet, "/v1/offboardings/{serial}"},
	{http.MethodGet, "/healthz"},
}

// Options configure the handler.
type Options struct {
	// Client is the Temporal client (temporalclient.Dial's).
	Client Client
	// DataConverter decodes the histories the intake reads (temporalclient.DataConverter of the
	// same settings); nil is the default converter, right only when payloads are not encrypted.
	DataConverter converter.DataConverter
	// Tokens are the bearer tokens (INTAKE_TOKENS_FILE), Secrets the HMAC secrets
	// (INTAKE_HMAC_SECRET_FILE); at least one of them.
	Tokens, Secrets []Credential
	// Timing is every started device's waits; zero fields take the workflow's defaults
	// (production's). Tests shorten them.
	Timing workflows.Timing
	// Logger logs one line a request: never a token, a signature or a body.
	Logger *zap.Logger
	// Now is the clock of the signatures' timestamps (nil: time.Now).
	Now func() time.Time
	// Timeout bounds the Temporal calls of one request (0: DefaultTimeout).
	Timeout time.Duration
}

// Handler serves the intake API.
type Handler struct {
	auth    *Authenticator
	backend backend
	timing  workflows.Timing
	log     *zap.Logger
	timeout time.Duration
	mux     *http.ServeMux
	paths   *http.ServeMux // the routes' paths without their methods: a 405 rather than a 404
}

// New makes the handler.
func New(opts Options) (*Handler, error) {
	if opts.Client == nil {
		return nil, errors.New("intake: no Temporal client")
	}
	dc := opts.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	return newHandler(temporalBackend{c: opts.Client, dc: dc}, opts)
}

func newHandler(b backend, opts Options) (*Handler, error) {
	for _, c := range opts.Secrets {
		if !c.Scope.Allows(ScopeStart) {
			return nil, fmt.Errorf("intake: HMAC secret %s has scope read, which a signature cannot use (it signs POSTs only): give it start or wipe, or make it a token", c.Name)
		}
	}
	auth, err := NewAuthenticator(opts.Tokens, opts.Secrets, opts.Now)
	if err != nil {
		return nil, err
	}
	h := &Handler{auth: auth, backend: b, timing: opts.Timing, log: opts.Logger, timeout: opts.Timeout,
		mux: http.NewServeMux(), paths: http.NewServeMux()}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	if h.timeout <= 0 {
		h.timeout = DefaultTimeout
	}
	handlers := map[Route]http.HandlerFunc{
		Routes[0]: h.postOffboarding,
		Routes[1]: h.getOffboarding,
		Routes[2]: h.healthz,
	}
	allow := map[string][]string{}
	for _, rt := range Routes {
		h.mux.HandleFunc(rt.Method+" "+rt.Path, handlers[rt])
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
	}
	for path, methods := range allow {
		h.paths.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, r, problem(http.StatusMethodNotAllowed, TypeMethodNotAllowed, "Method not allowed",
				fmt.Sprintf("%s takes %s", path, strings.Join(methods, ", "))).withHeader("Allow", strings.Join(methods, ", ")))
		})
	}
	return h, nil
}

// NewServer is the http.Server of the intake, with its timeouts: a slow or stalled client cannot
// hold a connection, and the headers are bounded as the body is.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: DefaultTimeout + 30*time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// ServeHTTP routes a request and logs it: method, path, status, caller and time, nothing else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	r = r.WithContext(context.WithValue(r.Context(), logKey{}, rec))
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(rec, r)
	} else if _, pattern := h.paths.Handler(r); pattern != "" {
		h.paths.ServeHTTP(rec, r)
	} else {
		writeProblem(rec, r, problem(http.StatusNotFound, TypeNotFound, "Not found",
			"no such route: the intake serves POST /v1/offboardings and GET /v1/offboardings/{serial}"))
	}
	if r.URL.Path == "/healthz" {
		return
	}
	fields := []zap.Field{zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Int("status", rec.status),
		zap.Duration("duration", time.Since(start))}
	if rec.caller != "" {
		fields = append(fields, zap.String("caller", rec.caller), zap.String("auth", rec.method))
	}
	if rec.serial != "" {
		fields = append(fields, zap.String("serial", rec.serial))
	}
	if rec.err != nil {
		fields = append(fields, zap.Error(rec.err))
	}
	h.log.Info("intake request", fields...)
}

type logKey struct{}

// recorder keeps what the log line says of a request.
type recorder struct {
	http.ResponseWriter
	status                 int
	caller, method, serial string
	err                    error
}

func (rec *recorder) WriteHeader(status int) {
	rec.status = status
	rec.ResponseWriter.WriteHeader(status)
}

func note(r *http.Request) *recorder {
	if rec, ok := r.Context().Value(logKey{}).(*recorder); ok {
		return rec
	}
	return &recorder{}
}

// Answer is the answer of a start (201) or of a request that is already running or done (200).
type Answer struct {
	Serial     string `json:"serial"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	Path       string `json:"path"`
	// State is running or completed.
	State string `json:"state"`
	// RequestedBy is who asked for the running workflow: a caller's name, and its reference.
	RequestedBy string             `json:"requestedBy"`
	Steps       []procedure.StepID `json:"steps"`
	Warnings    []string           `json:"warnings"`
	StatusURL   string             `json:"statusUrl"`
	// Status is the status query's answer when the device was already started (best effort).
	Status *workflows.DeviceStatus `json:"status,omitempty"`
}

func statusURL(serial string) string { return "/v1/offboardings/" + serial }

func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// authenticate authenticates r and checks that its caller has scope need.
func (h *Handler) authenticate(r *http.Request, body []byte) (Principal, *Problem) {
	p, prob := h.auth.Authenticate(r, body)
	if prob != nil {
		return p, prob
	}
	rec := note(r)
	rec.caller, rec.method = p.Name, p.Method
	return p, nil
}

func (h *Handler) postOffboarding(w http.ResponseWriter, r *http.Request) {
	rec := note(r)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, r, problem(http.StatusRequestEntityTooLarge, TypeTooLarge, "Body too large",
				fmt.Sprintf("a request's body is at most %d bytes: send one device a request", MaxBodyBytes)))
			return
		}
		writeProblem(w, r, problem(http.StatusBadRequest, TypeInvalidRequest, "Invalid request", "the body could not be read"))
		return
	}
	caller, prob := h.authenticate(r, body)
	if prob != nil {
		writeProblem(w, r, prob)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeProblem(w, r, problem(http.StatusUnsupportedMediaType, TypeUnsupportedMedia, "Unsupported media type",
			"send the request as Content-Type: application/json").withHeader("Accept-Post", "application/json"))
		return
	}
	o, serial, invalid := ParseRequest(body)
	rec.serial = serial
	if len(invalid) > 0 {
		writeProblem(w, r, invalidRequest(serial, invalid))
		return
	}
	if !caller.Scope.Allows(o.Scope()) {
		writeProblem(w, r, problem(http.StatusForbidden, TypeForbidden, "Not allowed",
			fmt.Sprintf("device %s: path %s wipes the device, which needs a credential of scope wipe; %s has scope %s. Nothing was started: "+
				"send it with a credential allowed to wipe, or ask to keep the device (wipe false)", serial, o.Plan.Path, caller.Name, caller.Scope)))
		return
	}
	in := o.Input(caller.Name, h.timing)
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	h.start(ctx, w, r, o, in)
}

// start starts the device, or answers the run that holds its workflow ID. The workflow ID is
// the lock: the server refuses a second start while a run is open or after one completed, and
// the intake then compares the request with the one that run was started with.
func (h *Handler) start(ctx context.Context, w http.ResponseWriter, r *http.Request, o Offboarding, in workflows.DeviceInput) {
	rec := note(r)
	serial := o.Request.Serial
	id := contract.DeviceWorkflowID(serial)
	for range 3 {
		runID, err := h.backend.start(ctx, o, in)
		if err == nil {
			w.Header().Set("Location", statusURL(serial))
			writeJSON(w, http.StatusCreated, "application/json", Answer{Serial: serial, WorkflowID: id, RunID: runID, Path: o.Plan.Path,
				State: StateRunning, RequestedBy: in.RequestedBy, Steps: o.Plan.Steps, Warnings: nonNil(o.Plan.Warnings), StatusURL: statusURL(serial)})
			return
		}
		if !errors.Is(err, errAlreadyStarted) {
			rec.err = err
			writeProblem(w, r, unavailable(serial, "Temporal did not answer the start, which may or may not have happened: send the same request again (it is idempotent)"))
			return
		}
		ex, err := h.backend.latest(ctx, serial)
		if errors.Is(err, errNoWorkflow) {
			continue // gone since (a namespace's retention): start again
		}
		if err != nil {
			rec.err = err
			writeProblem(w, r, unavailable(serial, "its workflow exists, but the request that started it could not be read from Temporal "+
				"(no answer, or a payload this intake cannot decode: is CODEC_KEY_FILE the workers'?), so nothing was started"))
			return
		}
		if ex.State == StateClosed {
			continue // it failed or was cancelled since the refusal: it may start again
		}
		if diffs := differences(in, ex.Input); len(diffs) > 0 {
			writeProblem(w, r, conflict(serial, ex, diffs))
			return
		}
		ans := Answer{Serial: serial, WorkflowID: id, RunID: ex.RunID, Path: o.Plan.Path, State: ex.State,
			RequestedBy: ex.Input.RequestedBy, Steps: o.Plan.Steps, Warnings: nonNil(o.Plan.Warnings), StatusURL: statusURL(serial)}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if st, err := h.backend.status(qctx, serial); err == nil {
			ans.Status = &st
		}
		cancel()
		w.Header().Set("Location", statusURL(serial))
		writeJSON(w, http.StatusOK, "application/json", ans)
		return
	}
	writeProblem(w, r, unavailable(serial, "its workflow kept changing while the request was compared with it: send the request again"))
}

func (h *Handler) getOffboarding(w http.ResponseWriter, r *http.Request) {
	rec := note(r)
	if _, prob := h.authenticate(r, nil); prob != nil {
		writeProblem(w, r, prob)
		return
	}
	serial, err := procedure.NormalizeSerial(r.PathValue("serial"))
	if err != nil {
		writeProblem(w, r, invalidRequest("", []Param{{Name: "serial", Reason: err.Error()}}))
		return
	}
	rec.serial = serial
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	st, err := h.backend.status(ctx, serial)
	if errors.Is(err, errNoWorkflow) {
		p := problem(http.StatusNotFound, TypeNotFound, "No offboarding",
			fmt.Sprintf("device %s has no offboarding workflow (%s): start one with POST /v1/offboardings", serial, contract.DeviceWorkflowID(serial)))
		p.Serial = serial
		writeProblem(w, r, p)
		return
	}
	if err != nil {
		rec.err = err
		writeProblem(w, r, unavailable(serial, "Temporal did not answer its status query (is a worker running?)"))
		return
	}
	writeJSON(w, http.StatusOK, "application/json", st)
}

func invalidRequest(serial string, params []Param) *Problem {
	names := make([]string, 0, len(params))
	for _, p := range params {
		names = append(names, p.Name)
	}
	who := "the request"
	if serial != "" {
		who = "device " + serial
	}
	p := problem(http.StatusBadRequest, TypeInvalidRequest, "Invalid request",
		fmt.Sprintf("%s: nothing was started; correct %s (see invalid-params) and send the request again", who, strings.Join(names, ", ")))
	p.InvalidParams, p.Serial = params, serial
	return p
}

func conflict(serial string, ex existing, diffs []Param) *Problem {
	id := contract.DeviceWorkflowID(serial)
	path := procedure.PathName(ex.Input.Request.Wipe, ex.Input.Request.Enrollment)
	names := make([]string, 0, len(diffs))
	for _, d := range diffs {
		names = append(names, d.Name)
	}
	var detail string
	if ex.State == StateCompleted {
		detail = fmt.Sprintf("device %s was already offboarded (workflow %s, path %s, completed %s) by a request that differs in %s: "+
			"nothing was started; a removed device is not offboarded again (see its status)",
			serial, id, path, ex.CloseTime.UTC().Format(time.RFC3339), strings.Join(names, ", "))
	} else {
		detail = fmt.Sprintf("device %s is already being offboarded (workflow %s, path %s, asked by %s) by a request that differs in %s: "+
			"nothing was started; a device is never offboarded twice at once. Follow it at %s, or cancel it "+
			"(starter cancel %s) and send this request again",
			serial, id, path, orDash(ex.Input.RequestedBy), strings.Join(names, ", "), statusURL(serial), serial)
	}
	p := problem(http.StatusConflict, TypeConflict, "A different request holds the device", detail)
	p.Serial, p.WorkflowID, p.RunID, p.Path, p.State, p.StatusURL, p.Conflicts = serial, id, ex.RunID, path, ex.State, statusURL(serial), diffs
	return p
}

func unavailable(serial, what string) *Problem {
	p := problem(http.StatusServiceUnavailable, TypeUnavailable, "Temporal unavailable",
		fmt.Sprintf("device %s: %s", serial, what))
	p.Serial = serial
	return p.withHeader("Retry-After", "10")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
