// Package codec keeps personal data out of Temporal in clear: a payload codec that encrypts every
// payload (AES-256-GCM) with keys from a key file, the data and failure converters built on it for
// Offboard's clients and workers, and an HTTP handler that serves the codec server protocol, so
// the Web UI and the temporal CLI can show decoded payloads to operators who hold the token.
//
// A key file holds one key a line, "<key id> <base64 of 32 bytes>". The first key encrypts, every
// key decrypts: rotating is writing a new first line and keeping the old ones as long as histories
// encrypted with them are kept. Key material never appears in an error, a log line or %v output.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the encoding metadata of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that encrypted a payload.
	MetadataKeyID = "encryption-key-id"
	// KeySize is the size of a key: AES-256.
	KeySize = 32
)

// Codec is a converter.PayloadCodec: Encode encrypts each payload (its data and metadata, so not
// even the encoding shows) with the key ring's first key and a random nonce; Decode decrypts with
// the key the payload names, and passes payloads that are not encrypted through unchanged (the
// histories written before encryption was turned on, the search attributes).
type Codec struct {
	keys *Keys
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns the codec of keys.
func New(keys *Keys) *Codec { return &Codec{keys: keys} }

// Keys returns the codec's key ring.
func (c *Codec) Keys() *Keys { return c.keys }

// Encode encrypts every payload with the first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k := c.keys.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: marshal a payload: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("codec: random nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(k.id),
			},
			// The key ID is authenticated too: a payload relabelled with another ID fails.
			Data: k.aead.Seal(nonce, nonce, plain, []byte(k.id)),
		}
	}
	return out, nil
}

// Decode decrypts every encrypted payload; others pass through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		k, ok := c.keys.byID[id]
		if !ok {
			return payloads, fmt.Errorf("codec: a payload is encrypted with key %q, which the key file does not hold (%s)", printable(id), c.keys.describe())
		}
		data := p.GetData()
		if len(data) < k.aead.NonceSize()+k.aead.Overhead() {
			return payloads, fmt.Errorf("codec: an encrypted payload (key %q) is too short", k.id)
		}
		ns := k.aead.NonceSize()
		plain, err := k.aead.Open(nil, data[:ns], data[ns:], []byte(k.id))
		if err != nil {
			return payloads, fmt.Errorf("codec: an encrypted payload does not authenticate with key %q: altered, or encrypted with another key of that ID", k.id)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return payloads, fmt.Errorf("codec: a decrypted payload (key %q) is not a payload: %w", k.id, err)
		}
		out[i] = &dec
	}
	return out, nil
}

// NewDataConverter is the default data converter with c after it: what Offboard's clients and
// workers use when a key file is set.
func NewDataConverter(c converter.PayloadCodec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// NewFailureConverter encodes failures' messages and stack traces with dc, so an error that quotes
// a person's name or address is encrypted like any payload.
func NewFailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

// Apply sets the data and failure converters of keys on opts (a client's options; the workers
// built on that client inherit both).
func Apply(opts *client.Options, keys *Keys) {
	dc := NewDataConverter(New(keys))
	opts.DataConverter = dc
	opts.FailureConverter = NewFailureConverter(dc)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// printable bounds an ID read from a payload before it goes into an error.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}
