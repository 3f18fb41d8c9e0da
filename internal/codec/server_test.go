package codec

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	token  = "test-token-0123456789abcdef"
	webUI  = "http://localhost:8233"
	wrongT = "test-token-0123456789abcdeX"
)

func newTestServer(t *testing.T) (*httptest.Server, *Codec) {
	t.Helper()
	a, _ := newKey(t, "a")
	c := New(load(t, writeKeys(t, t.TempDir(), a)))
	h, err := NewServer(ServerOptions{Codec: c, Token: token, Origins: []string{webUI}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, c
}

func payloadsBody(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, url string, body []byte, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decoded(t *testing.T, resp *http.Response) []*commonpb.Payload {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return out.Payloads
}

func TestServerRefusesWithoutToken(t *testing.T) {
	srv, c := newTestServer(t)
	enc, _ := c.Encode([]*commonpb.Payload{encode(t, converter.GetDefaultDataConverter(), personal)})
	body := payloadsBody(t, enc...)
	for name, tc := range map[string]struct {
		path   string
		header map[string]string
	}{
		"no token":        {"/decode", nil},
		"wrong token":     {"/decode", map[string]string{"Authorization": "Bearer " + wrongT}},
		"not bearer":      {"/decode", map[string]string{"Authorization": token}},
		"wrong URL token": {"/t/" + wrongT + "/decode", nil},
		"encode":          {"/encode", nil},
		"other path":      {"/anything", nil},
	} {
		resp := post(t, srv.URL+tc.path, body, tc.header)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
		if bytes.Contains(b, []byte(contact)) {
			t.Errorf("%s: answer shows the contact", name)
		}
	}
}

func TestServerDecodesAndEncodes(t *testing.T) {
	srv, c := newTestServer(t)
	plain := encode(t, converter.GetDefaultDataConverter(), personal)
	enc, _ := c.Encode([]*commonpb.Payload{plain})
	search := encode(t, converter.GetDefaultDataConverter(), "SERIAL1") // not encrypted: passes

	for name, header := range map[string]map[string]string{
		"header":    {"Authorization": "Bearer " + token},
		"URL token": nil,
	} {
		url := srv.URL + "/decode"
		if header == nil {
			url = srv.URL + "/t/" + token + "/decode"
		}
		got := decoded(t, post(t, url, payloadsBody(t, enc[0], search), header))
		if len(got) != 2 || !strings.Contains(string(got[0].Data), contact) || string(got[0].Metadata[converter.MetadataEncoding]) != converter.MetadataEncodingJSON {
			t.Fatalf("%s: decoded %v", name, got)
		}
		if string(got[1].Data) != `"SERIAL1"` {
			t.Errorf("%s: a plain payload changed: %v", name, got[1])
		}
	}

	// /encode gives what /decode reads back (the Web UI encodes a signal's input this way).
	got := decoded(t, post(t, srv.URL+"/encode", payloadsBody(t, plain), map[string]string{"Authorization": "Bearer " + token}))
	if len(got) != 1 || string(got[0].Metadata[converter.MetadataEncoding]) != EncodingEncrypted || bytes.Contains(got[0].Data, []byte(contact)) {
		t.Fatalf("encoded %v", got)
	}
	back, err := c.Decode(got)
	if err != nil || !strings.Contains(string(back[0].Data), contact) {
		t.Errorf("decode of /encode's answer: %v %v", back, err)
	}

	// A tampered payload is refused with 400, and the answer names no content.
	enc[0].Data[len(enc[0].Data)-1] ^= 1
	resp := post(t, srv.URL+"/decode", payloadsBody(t, enc[0]), map[string]string{"Authorization": "Bearer " + token})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("tampered payload: status %d", resp.StatusCode)
	}
}

func TestServerCORS(t *testing.T) {
	srv, c := newTestServer(t)
	// The preflight carries no token.
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", webUI)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight status %d", resp.StatusCode)
	}
	h := resp.Header
	if h.Get("Access-Control-Allow-Origin") != webUI || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight headers %v", h)
	}
	for _, want := range []string{"Authorization", "Content-Type", "X-Namespace"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
			t.Errorf("preflight does not allow %s: %v", want, h)
		}
	}

	// Another origin gets no CORS headers, and its preflight is refused.
	req.Header.Set("Origin", "http://evil.example.com")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// The real request from the UI's origin is answered with the CORS headers, 401 included (so
	// the UI can tell the operator the token is wrong).
	enc, _ := c.Encode([]*commonpb.Payload{encode(t, converter.GetDefaultDataConverter(), personal)})
	ok := post(t, srv.URL+"/decode", payloadsBody(t, enc...), map[string]string{"Origin": webUI, "Authorization": "Bearer " + token})
	if ok.Header.Get("Access-Control-Allow-Origin") != webUI {
		t.Errorf("decode answer lacks CORS headers: %v", ok.Header)
	}
	decoded(t, ok)
	denied := post(t, srv.URL+"/decode", payloadsBody(t, enc...), map[string]string{"Origin": webUI})
	if denied.StatusCode != http.StatusUnauthorized || denied.Header.Get("Access-Control-Allow-Origin") != webUI {
		t.Errorf("401 answer: %d %v", denied.StatusCode, denied.Header)
	}
}

func TestServerOptions(t *testing.T) {
	a, _ := newKey(t, "a")
	c := New(load(t, writeKeys(t, t.TempDir(), a)))
	if _, err := NewServer(ServerOptions{Codec: c, Token: "short"}); err == nil {
		t.Error("a short token accepted")
	}
	if _, err := NewServer(ServerOptions{Token: token}); err == nil {
		t.Error("no codec accepted")
	}
	// The SDK's RemotePayloadCodec (what a Go tool would use) works against the server.
	h, _ := NewServer(ServerOptions{Codec: c, Token: token})
	srv := httptest.NewServer(h)
	defer srv.Close()
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: srv.URL,
		ModifyRequest: func(r *http.Request) error { r.Header.Set("Authorization", "Bearer "+token); return nil }})
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), remote)
	p, err := dc.ToPayload(personal)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := NewDataConverter(c).FromPayload(p, &back); err != nil || back != personal {
		t.Errorf("remote encode, local decode: %+v %v", back, err)
	}
}
