package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed request.
const (
	// HeaderSignature is "sha256=<hex>": HMAC-SHA256, with the caller's secret, of
	// "<timestamp>.<raw body>".
	HeaderSignature = "X-Offboard-Signature"
	// HeaderTimestamp is the time of signing, in Unix seconds.
	HeaderTimestamp = "X-Offboard-Timestamp"
)

// MaxSignatureAge is how far a signed request's timestamp may be from the intake's clock, either
// way: an older request is refused as a replay.
const MaxSignatureAge = 5 * time.Minute

// Principal is the authenticated caller.
type Principal struct {
	Name   string
	Scope  Scope
	Method string // "bearer" or "hmac"
}

// Authenticator checks a request's bearer token or its body's signature.
type Authenticator struct {
	tokens  []Credential
	secrets []Credential
	now     func() time.Time
}

// NewAuthenticator takes the bearer tokens and the HMAC secrets; either may be empty, not both.
// now is the clock of the signatures' timestamps (nil: time.Now).
func NewAuthenticator(tokens, secrets []Credential, now func() time.Time) (*Authenticator, error) {
	if len(tokens) == 0 && len(secrets) == 0 {
		return nil, fmt.Errorf("intake: no token and no HMAC secret: nobody could call it")
	}
	if now == nil {
		now = time.Now
	}
	return &Authenticator{tokens: tokens, secrets: secrets, now: now}, nil
}

const realm = `Bearer realm="offboard-intake"`

func unauthorized(detail string) *Problem {
	return problem(http.StatusUnauthorized, TypeUnauthorized, "Not authenticated", detail).withHeader("WWW-Authenticate", realm)
}

// Authenticate returns the caller of r, whose body is body. A bearer token is taken on every
// route; a signature only on a request with a body (a POST): a GET has nothing to sign, so its
// signature could be replayed against another device's status.
func (a *Authenticator) Authenticate(r *http.Request, body []byte) (Principal, *Problem) {
	if authz := r.Header.Get("Authorization"); authz != "" {
		scheme, tok, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return Principal{}, unauthorized(`the Authorization header must be "Bearer <token>"`)
		}
		if len(a.tokens) == 0 {
			return Principal{}, unauthorized("this intake takes no bearer token: sign the body (" + HeaderSignature + ")")
		}
		c, ok := a.token(strings.TrimSpace(tok))
		if !ok {
			return Principal{}, unauthorized("the bearer token is not one of this intake's")
		}
		return Principal{Name: c.Name, Scope: c.Scope, Method: "bearer"}, nil
	}
	sig := r.Header.Get(HeaderSignature)
	if sig == "" {
		return Principal{}, unauthorized("no credentials: send \"Authorization: Bearer <token>\", or sign the body (" +
			HeaderSignature + " and " + HeaderTimestamp + ")")
	}
	if r.Method != http.MethodPost {
		return Principal{}, unauthorized("a signature is taken on a POST only: read with a bearer token of scope read")
	}
	if len(a.secrets) == 0 {
		return Principal{}, unauthorized("this intake takes no signature: send \"Authorization: Bearer <token>\"")
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	mac, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(mac) != sha256.Size {
		return Principal{}, unauthorized(HeaderSignature + ` must be "sha256=<64 hex digits>"`)
	}
	ts := r.Header.Get(HeaderTimestamp)
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Principal{}, unauthorized(HeaderTimestamp + " must be the time of signing in Unix seconds")
	}
	c, ok := a.signer(ts, body, mac)
	if !ok {
		return Principal{}, unauthorized(`the signature does not match: sign "<timestamp>.<raw body>" with HMAC-SHA256 and your secret`)
	}
	age := a.now().Sub(time.Unix(secs, 0))
	if age > MaxSignatureAge || age < -MaxSignatureAge {
		return Principal{}, unauthorized(fmt.Sprintf("the signature's timestamp is %s from the intake's clock (at most %s): sign the request again",
			age.Abs().Round(time.Second), MaxSignatureAge))
	}
	return Principal{Name: c.Name, Scope: c.Scope, Method: "hmac"}, nil
}

// token finds the credential of a bearer token. Every token is compared, each in constant time
// over their hashes, so the answer's timing says nothing of which token came close.
func (a *Authenticator) token(tok string) (Credential, bool) {
	sum := sha256.Sum256([]byte(tok))
	found := -1
	for i, c := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], c.sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Credential{}, false
	}
	return a.tokens[found], true
}

// signer finds the secret that signed "<timestamp>.<body>" as mac; every secret is tried.
func (a *Authenticator) signer(ts string, body, mac []byte) (Credential, bool) {
	found := -1
	for i, c := range a.secrets {
		if hmac.Equal(Sign(c.secret, ts, body), mac) {
			found = i
		}
	}
	if found < 0 {
		return Credential{}, false
	}
	return a.secrets[found], true
}

// Sign is the signature of body at timestamp ts (Unix seconds, as sent in X-Offboard-Timestamp):
// HMAC-SHA256 of "<ts>.<body>" with secret. A caller sends "sha256=" + hex of it.
func Sign(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignatureHeader is the X-Offboard-Signature value of body signed at ts.
func SignatureHeader(secret []byte, ts string, body []byte) string {
	return "sha256=" + hex.EncodeToString(Sign(secret, ts, body))
}
