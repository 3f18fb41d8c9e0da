package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
)

// ServerOptions configure the codec server's handler.
type ServerOptions struct {
	// Codec decodes and encodes the payloads.
	Codec converter.PayloadCodec
	// Token is the bearer token every request must carry.
	Token string
	// Origins are the Web UI origins (scheme://host:port) allowed to call from a browser.
	Origins []string
	// MaxBodyBytes bounds a request (0: 32 MiB, room for a page of history's payloads).
	MaxBodyBytes int64
	// Logger is told about refused requests; nil is silent.
	Logger *zap.Logger
}

// MinTokenLength is the shortest token the server takes.
const MinTokenLength = 16

// NewServer returns the handler of the codec server protocol the Web UI and the temporal CLI
// speak: POST /encode and POST /decode with {"payloads": [...]}, answered the same way.
//
// Every request carries the token, as "Authorization: Bearer <token>" (the CLI's --codec-auth) or
// in the path, /t/<token>/decode (for a Web UI, which sends no header of its own: its codec
// endpoint is then http://host:port/t/<token>). Without it the answer is 401. Browser preflights
// (OPTIONS) need no token; the allowed origins get CORS headers on every answer.
func NewServer(opts ServerOptions) (http.Handler, error) {
	if opts.Codec == nil {
		return nil, errors.New("codec server: no codec")
	}
	if len(opts.Token) < MinTokenLength {
		return nil, errors.New("codec server: the token must be at least 16 characters")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	origins := map[string]bool{}
	for _, o := range opts.Origins {
		origins[strings.TrimRight(o, "/")] = true
	}
	sum := sha256.Sum256([]byte(opts.Token))
	return &server{codec: converter.NewPayloadCodecHTTPHandler(opts.Codec), tokenSum: sum, origins: origins,
		maxBody: opts.MaxBodyBytes, logger: opts.Logger}, nil
}

type server struct {
	codec    http.Handler
	tokenSum [sha256.Size]byte
	origins  map[string]bool
	maxBody  int64
	logger   *zap.Logger
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && s.origins[origin]
	if allowed {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		if !allowed {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}

	op, pathToken := route(r.URL.Path)
	if !s.authorized(r, pathToken) {
		s.logger.Warn("codec server: request without a valid token refused",
			zap.String("remote", r.RemoteAddr), zap.String("origin", origin))
		w.Header().Set("WWW-Authenticate", `Bearer realm="offboard-codec"`)
		http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
		return
	}
	if op == "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	// The SDK's handler serves the protocol; it sees the bare path, never the token.
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = op, ""
	s.codec.ServeHTTP(w, r2)
}

// route splits a path into the operation ("/encode", "/decode" or "" for none) and the token it
// carries, if any.
func route(path string) (op, token string) {
	for _, o := range []string{"/encode", "/decode"} {
		if path == o {
			return o, ""
		}
		if rest, ok := strings.CutPrefix(path, "/t/"); ok {
			if tok, ok := strings.CutSuffix(rest, o); ok && tok != "" && !strings.Contains(tok, "/") {
				return o, tok
			}
		}
	}
	if rest, ok := strings.CutPrefix(path, "/t/"); ok {
		tok, _, _ := strings.Cut(rest, "/")
		return "", tok
	}
	return "", ""
}

func (s *server) authorized(r *http.Request, pathToken string) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.matches(strings.TrimSpace(tok)) {
		return true
	}
	return pathToken != "" && s.matches(pathToken)
}

// matches compares digests in constant time, so neither the token nor its length leaks.
func (s *server) matches(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}
