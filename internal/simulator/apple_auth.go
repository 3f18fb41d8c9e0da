package simulator

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// What Apple's token endpoint requires of a client-credentials request.
const (
	AssertionAudience   = "https://account.apple.com/auth/oauth2/v2/token"
	AssertionType       = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	AppleScope          = "business.api"
	maxAssertionLife    = 180 * 24 * time.Hour
	assertionClockSkew  = time.Minute
	oauthInvalidClient  = "invalid_client"
	oauthInvalidRequest = "invalid_request"
)

// handleToken serves POST /auth/oauth2/token: OAuth 2 client credentials with an ES256 client
// assertion, as Apple's account server does for the Apple Business API.
func (s *Simulator) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "the body is not a form")
		return
	}
	form := r.PostForm
	for _, name := range []string{"grant_type", "client_id", "client_assertion_type", "client_assertion", "scope"} {
		if form.Get(name) == "" {
			writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "missing parameter "+name)
			return
		}
	}
	switch {
	case form.Get("grant_type") != "client_credentials":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	case form.Get("client_assertion_type") != AssertionType:
		writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "client_assertion_type must be "+AssertionType)
		return
	case !slices.Contains(strings.Fields(form.Get("scope")), AppleScope):
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "scope must be "+AppleScope)
		return
	}
	clientID := form.Get("client_id")
	if s.cfg.AppleClientID == "" || s.cfg.ApplePublicKey == nil || clientID != s.cfg.AppleClientID {
		writeOAuthError(w, http.StatusUnauthorized, oauthInvalidClient, "unknown client_id")
		return
	}
	wall := s.cfg.Wall()
	if err := verifyClientAssertion(form.Get("client_assertion"), clientID, s.cfg.AppleKeyID, s.cfg.ApplePublicKey, wall); err != nil {
		writeOAuthError(w, http.StatusUnauthorized, oauthInvalidClient, err.Error())
		return
	}
	token := randomHex(32)
	s.mu.Lock()
	for h, exp := range s.st.Tokens {
		if !wall.Before(exp) {
			delete(s.st.Tokens, h)
		}
	}
	s.st.Tokens[tokenHash(token)] = wall.Add(AccessTokenLifetime)
	s.st.Counters.TokensIssued++
	s.changed()
	s.mu.Unlock()

	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(AccessTokenLifetime / time.Second),
		"scope":        AppleScope,
	})
}

// appleAuthorized checks the bearer token of a /v1 request against the tokens issued; the state
// keeps only their SHA-256, so the state file holds no usable token.
func (s *Simulator) appleAuthorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return false
	}
	s.mu.Lock()
	exp, ok := s.st.Tokens[tokenHash(token)]
	s.mu.Unlock()
	return ok && s.cfg.Wall().Before(exp)
}

// verifyClientAssertion checks a JWS compact ES256 client assertion the way Apple documents it.
func verifyClientAssertion(assertion, clientID, keyID string, pub *ecdsa.PublicKey, now time.Time) error {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return errors.New("client_assertion is not a signed JWT (header.claims.signature)")
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("client_assertion header: %w", err)
	}
	if header.Alg != "ES256" {
		return fmt.Errorf("client_assertion alg is %q, want ES256", header.Alg)
	}
	if header.Kid != keyID {
		return errors.New("client_assertion kid is not the key id of this API account")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("client_assertion signature is not a base64url ES256 signature (64 bytes R||S)")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, sv := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, sv) {
		return errors.New("client_assertion signature does not verify with this API account's public key")
	}
	var claims struct {
		Sub string          `json:"sub"`
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Iat *float64        `json:"iat"`
		Exp *float64        `json:"exp"`
		Jti string          `json:"jti"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("client_assertion claims: %w", err)
	}
	switch {
	case claims.Sub != clientID || claims.Iss != clientID:
		return errors.New("client_assertion sub and iss must both be the client_id")
	case !audienceIs(claims.Aud, AssertionAudience):
		return errors.New("client_assertion aud must be " + AssertionAudience)
	case claims.Jti == "":
		return errors.New("client_assertion has no jti")
	case claims.Iat == nil || claims.Exp == nil:
		return errors.New("client_assertion needs iat and exp")
	}
	iat, exp := unixTime(*claims.Iat), unixTime(*claims.Exp)
	switch {
	case !now.Before(exp):
		return errors.New("client_assertion has expired")
	case iat.After(now.Add(assertionClockSkew)):
		return errors.New("client_assertion iat is in the future")
	case exp.Sub(iat) > maxAssertionLife:
		return errors.New("client_assertion lives longer than 180 days (exp - iat)")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errors.New("not base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("not JSON")
	}
	return nil
}

// audienceIs accepts aud as a string or as a list containing want (RFC 7519 §4.1.3).
func audienceIs(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}

func unixTime(secs float64) time.Time { return time.Unix(int64(secs), 0) }

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID, the shape of Apple's activity ids.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
