package applebusiness

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// assertionLifetime is how long a client assertion is valid. Apple allows up to 180 days; a
	// fresh assertion is signed for every token request, so a short one limits what a leaked
	// assertion is worth.
	assertionLifetime = 10 * time.Minute
	// refreshEarly is how long before its expiry a cached access token is replaced.
	refreshEarly = time.Minute
	// defaultTokenLifetime is assumed when the token answer has no expires_in (Apple: 3600).
	defaultTokenLifetime = time.Hour
	// tokenFetchTimeout bounds a token request that no caller can cancel (see tokenSource.get).
	tokenFetchTimeout = time.Minute
)

// clientAssertion returns a signed ES256 JWT: header {alg, kid, typ}, claims sub = iss = client ID,
// aud = AssertionAudience, iat, exp and a random jti. The signature is JWS's raw R||S, 32 bytes
// each, base64url without padding (RFC 7515 §A.3), not ASN.1 DER.
func clientAssertion(cfg Config, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("apple business: client assertion: random jti: %w", err)
	}
	header, err := json.Marshal(map[string]string{"alg": "ES256", "kid": cfg.KeyID, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"sub": cfg.ClientID,
		"iss": cfg.ClientID,
		"aud": AssertionAudience,
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, cfg.PrivateKey, digest[:])
	if err != nil {
		return "", errors.New("apple business: client assertion: signing with the private key failed")
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signingInput + "." + enc.EncodeToString(sig), nil
}

// tokenSource caches one access token and shares one refresh among concurrent callers.
type tokenSource struct {
	cfg Config

	mu      sync.Mutex
	token   string
	expiry  time.Time
	flight  *tokenFlight // the refresh under way, if any
	fetched int
}

type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

// get returns the cached token while it is good for at least refreshEarly more, else waits for
// one refresh. The refresh runs detached from the context of the caller that started it, so a
// cancelled caller does not fail the others waiting on it; each caller still stops waiting when its
// own context ends.
func (s *tokenSource) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && s.cfg.Now().Before(s.expiry.Add(-refreshEarly)) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		s.flight = f
		go s.refresh(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("apple business: waiting for an access token: %w", ctx.Err())
	}
}

func (s *tokenSource) refresh(ctx context.Context, f *tokenFlight) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	token, lifetime, err := s.fetch(ctx)
	s.mu.Lock()
	if err == nil {
		s.token = token
		s.expiry = s.cfg.Now().Add(lifetime)
		s.fetched++
	}
	s.flight = nil
	s.mu.Unlock()
	f.token, f.err = token, err
	close(f.done)
}

// invalidate drops token if it is still the cached one (after Apple answered 401 to it), so the
// next get fetches a new one. A token another caller already replaced is left alone.
func (s *tokenSource) invalidate(token string) {
	s.mu.Lock()
	if s.token == token {
		s.token = ""
	}
	s.mu.Unlock()
}

func (s *tokenSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetched
}

// fetch requests one access token with a fresh client assertion. The parameters travel in the
// form body (RFC 6749 §4.4), never in the URL, so no transport error can show the assertion.
func (s *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	const op = "request an access token"
	assertion, err := clientAssertion(s.cfg, s.cfg.Now())
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {s.cfg.ClientID},
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {assertion},
		"scope":                 {s.cfg.Scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("apple business: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("apple business: %s from %s: no answer (safe to retry): %w",
			op, s.cfg.TokenURL, scrub(err, assertion))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", 0, fmt.Errorf("apple business: %s: read answer (HTTP %d): %w", op, resp.StatusCode, scrub(err, assertion))
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, tokenError(resp, body, s.cfg.Now(), assertion)
	}
	var answer struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.AccessToken == "" {
		return "", 0, fmt.Errorf("apple business: %s: the answer of %s (HTTP 200) holds no access_token; check APPLE_TOKEN_URL", op, s.cfg.TokenURL)
	}
	if answer.TokenType != "" && !strings.EqualFold(answer.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("apple business: %s: token_type %q, want Bearer", op, answer.TokenType)
	}
	lifetime := time.Duration(answer.ExpiresIn) * time.Second
	if answer.ExpiresIn <= 0 {
		lifetime = defaultTokenLifetime
	}
	if lifetime < 2*refreshEarly {
		// A very short token would count as expired at once; keep it for half its life instead.
		lifetime += refreshEarly - lifetime/2
	}
	return answer.AccessToken, lifetime, nil
}

// tokenError turns a refused token request into an *APIError. The endpoint answers OAuth's
// {"error","error_description"} (RFC 6749 §5.2); Apple's {"errors":[...]} is accepted too.
func tokenError(resp *http.Response, body []byte, now time.Time, secrets ...string) *APIError {
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	var e *APIError
	if json.Unmarshal(body, &oauth) == nil && oauth.Error != "" {
		e = &APIError{Status: resp.StatusCode, Code: oauth.Error, Title: "token request refused", Detail: oauth.Description}
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	} else {
		e = parseError(resp, body, now)
	}
	e.Op = "request an access token"
	redactError(e, secrets...)
	return e
}
