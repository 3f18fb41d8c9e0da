package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

const contact = "user@example.com"

type report struct {
	Contact string `json:"contact"`
	By      string `json:"by"`
	Note    string `json:"note"`
}

var personal = report{Contact: contact, By: "Olga Operator", Note: "handed back at the front desk"}

// newKey returns a key file line and the raw key (for the test that no output shows it).
func newKey(t *testing.T, id string) (line string, raw []byte) {
	t.Helper()
	raw = make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	return id + " " + base64.StdEncoding.EncodeToString(raw), raw
}

func writeKeys(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, "keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, path string) *Keys {
	t.Helper()
	k, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encode(t *testing.T, dc converter.DataConverter, v any) *commonpb.Payload {
	t.Helper()
	p, err := dc.ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTripHidesTheContent(t *testing.T) {
	a, _ := newKey(t, "a")
	dc := NewDataConverter(New(load(t, writeKeys(t, t.TempDir(), a))))
	p := encode(t, dc, personal)
	if got := string(p.Metadata[converter.MetadataEncoding]); got != EncodingEncrypted {
		t.Errorf("encoding %q, want %q", got, EncodingEncrypted)
	}
	if got := string(p.Metadata[MetadataKeyID]); got != "a" {
		t.Errorf("key ID %q", got)
	}
	raw, _ := p.Marshal()
	for _, s := range []string{contact, "Olga", "front desk", "json/plain"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the encrypted payload shows %q", s)
		}
	}
	var back report
	if err := dc.FromPayload(p, &back); err != nil {
		t.Fatal(err)
	}
	if back != personal {
		t.Errorf("round trip: %+v", back)
	}
	// A fresh nonce each time: the same value never encrypts the same.
	if q := encode(t, dc, personal); bytes.Equal(q.Data, p.Data) {
		t.Error("two encryptions of one value are equal")
	}
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	a, _ := newKey(t, "a")
	dc := NewDataConverter(New(load(t, writeKeys(t, t.TempDir(), a))))
	plain := encode(t, converter.GetDefaultDataConverter(), personal) // a history from before encryption
	var back report
	if err := dc.FromPayload(plain, &back); err != nil || back != personal {
		t.Fatalf("plain payload: %+v, %v", back, err)
	}
}

func TestTamperedPayloadIsRefused(t *testing.T) {
	a, _ := newKey(t, "a")
	b, _ := newKey(t, "b")
	c := New(load(t, writeKeys(t, t.TempDir(), a, b)))
	dc := NewDataConverter(c)
	for name, tamper := range map[string]func(p *commonpb.Payload){
		"flipped bit":   func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"flipped nonce": func(p *commonpb.Payload) { p.Data[0] ^= 0x80 },
		"truncated":     func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"other key ID":  func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("b") },
		"unknown key":   func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("z") },
	} {
		p := encode(t, dc, personal)
		tamper(p)
		var back report
		err := dc.FromPayload(p, &back)
		if err == nil {
			t.Errorf("%s: accepted, decoded %+v", name, back)
			continue
		}
		if strings.Contains(err.Error(), contact) {
			t.Errorf("%s: error shows the content: %v", name, err)
		}
	}
}

// Encrypt with A; the file becomes "B, A": what A encrypted still decrypts, new payloads use B;
// once A is dropped, its payloads fail, naming the missing key.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	a, _ := newKey(t, "2024-a")
	b, _ := newKey(t, "2025-b")
	old := encode(t, NewDataConverter(New(load(t, writeKeys(t, dir, a)))), personal)

	rotated := NewDataConverter(New(load(t, writeKeys(t, dir, b, a))))
	var back report
	if err := rotated.FromPayload(old, &back); err != nil || back != personal {
		t.Fatalf("old payload after rotation: %+v, %v", back, err)
	}
	if id := string(encode(t, rotated, personal).Metadata[MetadataKeyID]); id != "2025-b" {
		t.Errorf("new payloads use key %q, want the first, 2025-b", id)
	}

	onlyB := NewDataConverter(New(load(t, writeKeys(t, dir, b))))
	err := onlyB.FromPayload(old, &back)
	if err == nil || !strings.Contains(err.Error(), `"2024-a"`) {
		t.Errorf("a payload of a dropped key: %v", err)
	}
}

func TestKeyFileErrors(t *testing.T) {
	good, raw := newKey(t, "good")
	secret := base64.StdEncoding.EncodeToString(raw)
	short := base64.StdEncoding.EncodeToString(raw[:16])
	for _, tc := range []struct {
		name    string
		content string
		want    string
	}{
		{"empty", "", "holds no key"},
		{"comments only", "# keys\n\n", "holds no key"},
		{"one field", "# c\n" + secret + "\n", "line 2: want \"<key id> <base64 key>\", found 1 fields"},
		{"three fields", "k1 " + secret + " extra\n", "line 1: want"},
		{"not base64", "k1 " + secret[:20] + "!!!\n", `line 1: key "k1" is not base64`},
		{"short key", "k1 " + short + "\n", `line 1: key "k1" is 16 bytes, want 32`},
		{"duplicate", "k1 " + secret + "\n" + "k1 " + secret + "\n", `line 2: key ID "k1" appears twice`},
		{"bad ID", "k\"1 " + secret + "\n", "line 1: the key ID must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeys(strings.NewReader(tc.content), "/etc/offboard/keys")
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "/etc/offboard/keys") {
				t.Errorf("error %q does not say %q and name the file", err, tc.want)
			}
			for _, s := range []string{secret, secret[:20], short} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows key material: %v", err)
				}
			}
		})
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	k, err := ParseKeys(strings.NewReader("# rotated 2025\n\n  "+good+"  \n"), "f")
	if err != nil || k.EncryptKeyID() != "good" {
		t.Fatalf("comments, blanks and spaces: %v, %v", k, err)
	}
	// Unpadded and URL-safe base64 are keys too.
	if _, err := ParseKeys(strings.NewReader("k "+base64.RawURLEncoding.EncodeToString(raw)), "f"); err != nil {
		t.Errorf("unpadded URL-safe base64: %v", err)
	}
}

func TestKeysNeverPrinted(t *testing.T) {
	a, rawA := newKey(t, "a")
	b, rawB := newKey(t, "b")
	k := load(t, writeKeys(t, t.TempDir(), a, b))
	c := New(k)
	out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", k, k, k, k, *k, *c, c)
	for _, raw := range [][]byte{rawA, rawB} {
		for _, enc := range []string{base64.StdEncoding.EncodeToString(raw), fmt.Sprintf("%x", raw), fmt.Sprint(raw)} {
			if strings.Contains(out, enc) {
				t.Fatalf("printing the keys shows key material: %s", out)
			}
		}
	}
	if got := k.String(); got != "codec keys [a (encrypts) b]" {
		t.Errorf("String() = %q", got)
	}
}

// The failure converter encodes a failure's message and stack trace: an error quoting a person is
// encrypted too, and comes back whole.
func TestFailureMessagesEncrypted(t *testing.T) {
	a, _ := newKey(t, "a")
	dc := NewDataConverter(New(load(t, writeKeys(t, t.TempDir(), a))))
	fc := NewFailureConverter(dc)
	f := fc.ErrorToFailure(temporal.NewApplicationError("cannot reach "+contact, "Unreachable"))
	raw, _ := f.Marshal()
	if bytes.Contains(raw, []byte(contact)) {
		t.Fatalf("the failure shows the contact in clear: %v", f)
	}
	if f.GetEncodedAttributes() == nil || string(f.GetEncodedAttributes().Metadata[converter.MetadataEncoding]) != EncodingEncrypted {
		t.Fatalf("no encrypted attributes: %v", f)
	}
	err := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !strings.Contains(appErr.Error(), contact) || appErr.Type() != "Unreachable" {
		t.Errorf("decoded failure: %v", err)
	}
}
