package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Key files are PEM, as OpenSSL writes them: the private key PKCS#8 ("PRIVATE KEY",
// `openssl genpkey -algorithm ed25519`), the public key PKIX ("PUBLIC KEY", `openssl pkey -pubout`).

// Signer signs records with an Ed25519 private key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// KeyID names a public key: the first 16 hex digits of the SHA-256 of its raw 32 bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// NewSigner signs with key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}
}

// KeyID is the ID of the signer's public key, written beside each signature.
func (s *Signer) KeyID() string { return s.id }

// Public is the signer's public key.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign signs msg.
func (s *Signer) Sign(msg []byte) []byte { return ed25519.Sign(s.key, msg) }

// LoadSigner reads an Ed25519 private key, PKCS#8 PEM, from file.
func LoadSigner(file string) (*Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("evidence signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("evidence signing key %s: not a PEM \"PRIVATE KEY\" (PKCS#8 Ed25519; starter evidence keygen writes one)", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("evidence signing key %s: %w", file, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("evidence signing key %s: a %T, not an Ed25519 key", file, k)
	}
	return NewSigner(ek), nil
}

// GenerateKey writes a new Ed25519 private key to file (mode 0600, refusing to overwrite one) and
// returns its public key as PEM.
func GenerateKey(file string) (publicPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return PublicPEM(pub)
}

// PublicPEM is pub as a PKIX PEM block.
func PublicPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LoadPublicKey reads an Ed25519 public key: PKIX PEM ("PUBLIC KEY"), or the private key's PEM,
// whose public half is taken.
func LoadPublicKey(file string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("public key %s: not PEM", file)
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", file, err)
		}
		if ek, ok := k.(ed25519.PublicKey); ok {
			return ek, nil
		}
		return nil, fmt.Errorf("public key %s: a %T, not Ed25519", file, k)
	case "PRIVATE KEY":
		s, err := LoadSigner(file)
		if err != nil {
			return nil, err
		}
		return s.Public(), nil
	}
	return nil, errors.New("public key " + file + ": PEM block " + block.Type + ", want PUBLIC KEY")
}

// Fingerprint is the full SHA-256 of the public key's raw 32 bytes, in groups of four hex digits:
// what a person compares with the key they were given (KeyID is its first 16 digits).
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	h := hex.EncodeToString(sum[:])
	var groups []string
	for i := 0; i < len(h); i += 4 {
		groups = append(groups, h[i:i+4])
	}
	return strings.Join(groups, " ")
}
