package applebusiness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Apple's endpoints and constants (developer.apple.com, "Implementing OAuth for the Apple School
// Manager and Apple Business API").
const (
	DefaultAPIBaseURL = "https://api-business.apple.com"
	DefaultTokenURL   = "https://account.apple.com/auth/oauth2/token"
	DefaultScope      = "business.api"
	// AssertionAudience is the aud claim Apple requires in the client assertion. It is not the URL
	// the token is requested from (DefaultTokenURL), and it stays the same when TokenURL points at
	// a simulator.
	AssertionAudience = "https://account.apple.com/auth/oauth2/v2/token"
	// ClientAssertionType is the client_assertion_type of the token request (RFC 7523).
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// DefaultTimeout bounds one request when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// Config configures a Client. Its String, GoString and Format never show the private key; the
// key is not marshalled to JSON either.
type Config struct {
	ClientID   string            // the API account's client ID, "BUSINESSAPI.<uuid>"
	KeyID      string            // the API account's key ID: the kid of the client assertion
	PrivateKey *ecdsa.PrivateKey `json:"-"` // the API account's P-256 key; see LoadPrivateKey
	ServerID   string            // our MDM server's id in Apple Business Manager (APPLE_SERVER_ID)
	APIBaseURL string            // empty: DefaultAPIBaseURL
	TokenURL   string            // empty: DefaultTokenURL
	Scope      string            // empty: DefaultScope
	HTTPClient *http.Client      `json:"-"` // nil: a client with DefaultTimeout
	Now        func() time.Time  `json:"-"` // nil: time.Now; tests move the clock to expire tokens
}

// String describes the configuration without the private key.
func (c Config) String() string {
	key := "unset"
	if c.PrivateKey != nil {
		key = "[redacted]"
	}
	return fmt.Sprintf("applebusiness.Config{ClientID: %q, KeyID: %q, PrivateKey: %s, ServerID: %q, APIBaseURL: %q, TokenURL: %q, Scope: %q}",
		c.ClientID, c.KeyID, key, c.ServerID, c.APIBaseURL, c.TokenURL, c.Scope)
}

// GoString is String, so %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb, so no verb or flag reaches the key's fields.
func (c Config) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// withDefaults checks c and fills its empty fields.
func (c Config) withDefaults() (Config, error) {
	var problems []string
	if strings.TrimSpace(c.ClientID) == "" {
		problems = append(problems, "no client ID (APPLE_CLIENT_ID)")
	}
	if strings.TrimSpace(c.KeyID) == "" {
		problems = append(problems, "no key ID (APPLE_KEY_ID)")
	}
	if c.PrivateKey == nil {
		problems = append(problems, "no private key (APPLE_PRIVATE_KEY_FILE)")
	} else if c.PrivateKey.Curve != elliptic.P256() {
		problems = append(problems, "the private key is not a P-256 key: Apple signs with ES256 only")
	}
	if c.APIBaseURL == "" {
		c.APIBaseURL = DefaultAPIBaseURL
	}
	if c.TokenURL == "" {
		c.TokenURL = DefaultTokenURL
	}
	for name, raw := range map[string]string{"API base URL (APPLE_API_URL)": c.APIBaseURL, "token URL (APPLE_TOKEN_URL)": c.TokenURL} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			problems = append(problems, fmt.Sprintf("the %s is not a plain http(s) URL", name))
		}
	}
	if len(problems) > 0 {
		return c, errors.New("apple business: " + strings.Join(problems, "; "))
	}
	c.APIBaseURL = strings.TrimRight(c.APIBaseURL, "/")
	if c.Scope == "" {
		c.Scope = DefaultScope
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// LoadPrivateKey reads the API account's private key: the PEM file Apple Business Manager lets
// you download (PKCS#8 "PRIVATE KEY"), or a SEC1 "EC PRIVATE KEY" such as `openssl ecparam
// -genkey` writes. The key must be P-256. Errors name the file, never its content.
func LoadPrivateKey(file string) (*ecdsa.PrivateKey, error) {
	if strings.TrimSpace(file) == "" {
		return nil, errors.New("apple business: no private key file: set APPLE_PRIVATE_KEY_FILE to the .pem downloaded from Apple Business Manager")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("apple business: read private key file (APPLE_PRIVATE_KEY_FILE): %w", err)
	}
	key, problem := parsePrivateKey(data)
	if problem != "" {
		return nil, fmt.Errorf("apple business: private key file %s: %s", file, problem)
	}
	return key, nil
}

// parsePrivateKey finds the first usable key in PEM data. Parse errors of crypto/x509 are not
// passed on: their text is ours to control when key material is near.
func parsePrivateKey(data []byte) (*ecdsa.PrivateKey, string) {
	found := false
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "PRIVATE KEY" && block.Type != "EC PRIVATE KEY" {
			continue // e.g. the "EC PARAMETERS" block openssl writes first
		}
		found = true
		if len(block.Headers) > 0 {
			return nil, "the key is encrypted: store it unencrypted with file permissions 0600 instead"
		}
		var key any
		var err error
		// Try both forms: some downloads carry one label around the other form.
		if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			key, err = x509.ParseECPrivateKey(block.Bytes)
		}
		if err != nil {
			return nil, "the PEM block is neither a PKCS#8 nor a SEC1 private key: download the key again from Apple Business Manager"
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, "the key is not an elliptic-curve key: Apple's API accounts use P-256 keys"
		}
		if ec.Curve != elliptic.P256() {
			return nil, "the key is not on curve P-256: Apple signs client assertions with ES256 only"
		}
		return ec, ""
	}
	if !found {
		return nil, `no "PRIVATE KEY" or "EC PRIVATE KEY" PEM block: use the .pem file downloaded from Apple Business Manager`
	}
	return nil, "no usable private key"
}
