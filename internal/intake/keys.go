package intake

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Scope is what a caller may do. Each scope allows what the ones before it allow.
type Scope int

const (
	// ScopeRead reads a device's status (GET /v1/offboardings/{serial}).
	ScopeRead Scope = iota + 1
	// ScopeStart also starts offboardings that keep the device: its record is deleted and its
	// profiles removed, but nothing on it is erased.
	ScopeStart
	// ScopeWipe also starts offboardings that wipe the device (the console's EraseDevice, or the
	// user's erase in Settings): the one step nobody can undo.
	ScopeWipe
)

var scopeNames = map[Scope]string{ScopeRead: "read", ScopeStart: "start", ScopeWipe: "wipe"}

func (s Scope) String() string {
	if n, ok := scopeNames[s]; ok {
		return n
	}
	return fmt.Sprintf("scope(%d)", int(s))
}

// Allows reports whether a caller of scope s may do what needs scope need.
func (s Scope) Allows(need Scope) bool { return s >= need }

// ParseScope reads a scope's name.
func ParseScope(name string) (Scope, error) {
	for s, n := range scopeNames {
		if n == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown scope %q: use read, start or wipe", name)
}

// MinSecretLength is the shortest token or HMAC secret accepted (openssl rand -hex 32 makes 64).
const MinSecretLength = 16

// Credential is one caller: its name (recorded as the offboarding's requestedBy), its scope and
// its secret (a bearer token, or an HMAC key). The secret is never printed.
type Credential struct {
	Name   string
	Scope  Scope
	secret []byte
	sum    [sha256.Size]byte // of the secret: tokens are compared by their hashes, in constant time
}

// NewCredential makes a credential (for tests and callers that keep secrets elsewhere).
func NewCredential(name string, scope Scope, secret string) Credential {
	return Credential{Name: name, Scope: scope, secret: []byte(secret), sum: sha256.Sum256([]byte(secret))}
}

// String names the credential without its secret.
func (c Credential) String() string { return c.Name + " (" + c.Scope.String() + ")" }

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$`)

// ParseCredentials reads a credentials file: one "<name> <scope> <secret>" a line, separated by
// spaces or tabs; blank lines and lines starting with '#' are skipped. source names the file in
// errors, which give its line but never a secret. Names and secrets must be unique.
func ParseCredentials(r io.Reader, source string) ([]Credential, error) {
	var out []Credential
	names := map[string]int{}
	sums := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want \"<name> <scope> <secret>\", found %d fields", source, line, len(fields))
		}
		name, scopeName, secret := fields[0], fields[1], fields[2]
		if !namePattern.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: name %q: use up to 64 letters, digits and . _ @ : -", source, line, name)
		}
		scope, err := ParseScope(scopeName)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", source, line, err)
		}
		if len(secret) < MinSecretLength {
			return nil, fmt.Errorf("%s:%d: %s's secret is shorter than %d characters (make one with openssl rand -hex 32)", source, line, name, MinSecretLength)
		}
		if first, dup := names[name]; dup {
			return nil, fmt.Errorf("%s:%d: name %s is also on line %d", source, line, name, first)
		}
		c := NewCredential(name, scope, secret)
		if first, dup := sums[c.sum]; dup {
			return nil, fmt.Errorf("%s:%d: %s has the secret of line %d: give every caller its own", source, line, name, first)
		}
		names[name], sums[c.sum] = line, line
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no credential: want one \"<name> <scope> <secret>\" a line", source)
	}
	return out, nil
}

// LoadCredentials reads a credentials file (INTAKE_TOKENS_FILE, INTAKE_HMAC_SECRET_FILE).
func LoadCredentials(path string) ([]Credential, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return ParseCredentials(bytes.NewReader(b), path)
}
