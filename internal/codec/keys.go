package codec

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Keys is a key ring: the first key encrypts, every key decrypts. Its String and GoString show the
// key IDs only.
type Keys struct {
	keys []key
	byID map[string]key
}

type key struct {
	id   string
	aead cipher.AEAD
}

// keyIDPattern: IDs go into payload metadata and error messages, so they are short and plain.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// LoadKeyFile reads a key file: one "<key id> <base64 of 32 bytes>" a line, blank lines and lines
// starting with # ignored. Errors name the file and the line, never the key.
func LoadKeyFile(path string) (*Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("codec: key file: %w", err)
	}
	defer f.Close()
	return ParseKeys(f, path)
}

// ParseKeys reads a key file's content from r; name is the file's name, for errors.
func ParseKeys(r io.Reader, name string) (*Keys, error) {
	k := &Keys{byID: map[string]key{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("codec: key file %s line %d: want \"<key id> <base64 key>\", found %d fields", name, n, len(fields))
		}
		id, encoded := fields[0], fields[1]
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("codec: key file %s line %d: the key ID must be 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", name, n)
		}
		if _, dup := k.byID[id]; dup {
			return nil, fmt.Errorf("codec: key file %s line %d: key ID %q appears twice", name, n, id)
		}
		raw, err := decodeKey(encoded)
		if err != nil {
			return nil, fmt.Errorf("codec: key file %s line %d: key %q is not base64", name, n, id)
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("codec: key file %s line %d: key %q is %d bytes, want %d (openssl rand -base64 32)", name, n, id, len(raw), KeySize)
		}
		aead, err := newAEAD(raw)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("codec: key file %s line %d: key %q: %w", name, n, id, err)
		}
		kk := key{id: id, aead: aead}
		k.keys = append(k.keys, kk)
		k.byID[id] = kk
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("codec: key file %s line %d is too long", name, n+1)
		}
		return nil, fmt.Errorf("codec: key file %s: %w", name, err)
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("codec: key file %s holds no key", name)
	}
	return k, nil
}

// decodeKey takes standard base64, with or without padding (URL-safe too, as some tools write it).
func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// EncryptKeyID is the ID of the key that encrypts.
func (k *Keys) EncryptKeyID() string { return k.keys[0].id }

// IDs lists the key IDs, the encrypting one first.
func (k Keys) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, kk := range k.keys {
		ids[i] = kk.id
	}
	return ids
}

func (k Keys) describe() string {
	return "it holds " + strings.Join(k.IDs(), ", ")
}

// String shows the key IDs, never the keys.
func (k Keys) String() string {
	var b bytes.Buffer
	b.WriteString("codec keys [")
	for i, id := range k.IDs() {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(id)
		if i == 0 {
			b.WriteString(" (encrypts)")
		}
	}
	b.WriteString("]")
	return b.String()
}

// GoString is String, so %#v shows no key either.
func (k Keys) GoString() string { return k.String() }

// String of one key is its ID: a key printed by mistake shows no material.
func (k key) String() string { return k.id }

// GoString is String.
func (k key) GoString() string { return k.id }
