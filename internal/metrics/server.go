package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.uber.org/zap"
)

// Path is where the server answers Prometheus' scrapes.
const Path = "/metrics"

// DurationBuckets are the histogram buckets of every timer, the SDK's and Offboard's, in seconds:
// from the SDK's milliseconds of a workflow task to the days a device waits for its user.
var DurationBuckets = []float64{
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, // a task, a request, an activity
	60, 300, 900, 1800, 3600, // a console command, a step a device carries out
	3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, // a wait on a person or a device
}

// reportEvery is how often tally hands what was recorded to the Prometheus registry.
const reportEvery = time.Second

// Server serves the metrics of one worker process.
type Server struct {
	handler client.MetricsHandler
	scope   io.Closer
	http    *http.Server
	ln      net.Listener
	done    chan struct{}
}

// Start listens on addr (host:port; port 0 picks one, see Addr) and serves Path. Hand Handler to
// the Temporal client's options: every worker built on that client reports through it.
func Start(addr string, logger *zap.Logger) (*Server, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	registry, handler, scope := newRegistry(logger)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = scope.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(Path, registryHandler(registry))
	s := &Server{handler: handler, scope: scope, ln: ln, done: make(chan struct{}),
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", zap.Error(err))
		}
	}()
	return s, nil
}

// Handler is the metrics handler for client.Options.MetricsHandler.
func (s *Server) Handler() client.MetricsHandler { return s.handler }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the scrape URL.
func (s *Server) URL() string { return "http://" + s.Addr() + Path }

// Close stops serving, after a last report of what was recorded.
func (s *Server) Close() error {
	err := s.scope.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, s.http.Shutdown(ctx))
	<-s.done
	return err
}

// newRegistry builds the Prometheus registry (with the Go runtime's and the process's
// collectors), the tally scope that reports into it and the SDK's handler on that scope.
func newRegistry(logger *zap.Logger) (*prom.Registry, client.MetricsHandler, io.Closer) {
	registry := prom.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              registry,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: DurationBuckets,
		// A metric emitted with a second set of label keys cannot be registered beside the first:
		// log it (once per message) rather than panic, tally's default.
		OnRegisterError: onceEach(func(err error) { logger.Warn("metric not registered", zap.Error(err)) }),
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sanitize,
		OmitCardinalityMetrics: true,
	}, reportEvery)
	return registry, sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}

// sanitize is the SDK contrib's PrometheusSanitizeOptions but for label values, which Prometheus
// takes as they are: a path stays keep/ade, a step abm-unassign, a party vendor-support.
var sanitize = tally.SanitizeOptions{
	NameCharacters:  sdktally.PrometheusSanitizeOptions.NameCharacters,
	KeyCharacters:   sdktally.PrometheusSanitizeOptions.KeyCharacters,
	ValueCharacters: tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: []rune{'_', '-', '/', '.', ':', '@'}},
	// Anything else in a value becomes an underscore.
	ReplacementCharacter: tally.DefaultReplacementCharacter,
}

// registryHandler serves the registry in Prometheus' text format (or OpenMetrics, when asked).
func registryHandler(registry *prom.Registry) http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// onceEach calls f for the first error with each message only.
func onceEach(f func(error)) func(error) {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(err error) {
		mu.Lock()
		first := !seen[err.Error()]
		seen[err.Error()] = true
		mu.Unlock()
		if first {
			f(err)
		}
	}
}
