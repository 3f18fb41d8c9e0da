package applebusiness

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// secretsOf lists the ways the private key could show up in text.
func secretsOf(t *testing.T, key *ecdsa.PrivateKey) []string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	d := key.D.Bytes()
	return []string{
		key.D.String(), key.D.Text(16), fmt.Sprintf("%x", d), fmt.Sprint(d),
		base64.StdEncoding.EncodeToString(d), base64.RawURLEncoding.EncodeToString(d),
		strings.Split(pemText, "\n")[1], // a line of the PEM body
	}
}

func assertAbsent(t *testing.T, what string, texts []string, secrets []string) {
	t.Helper()
	for _, text := range texts {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("%s leaks in %q", what, text)
			}
		}
	}
}

func TestConfigNeverPrintsKey(t *testing.T) {
	key := newKey(t, elliptic.P256())
	cfg := Config{ClientID: testClientID, KeyID: testKeyID, PrivateKey: key, ServerID: testServerID}
	var texts []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		texts = append(texts, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, &cfg), fmt.Sprintf(verb, []Config{cfg}))
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := New(cfg)
	texts = append(texts, string(js), fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c))
	assertAbsent(t, "the private key", texts, secretsOf(t, key))
	if !strings.Contains(texts[0], testClientID) || !strings.Contains(texts[0], "[redacted]") {
		t.Errorf("String should show the client ID and mark the key redacted: %s", texts[0])
	}
}

// TestErrorsNeverCarrySecrets provokes every error it can, against a fake that echoes back what
// it receives (the assertion, the bearer token), and checks no secret survives into the text.
func TestErrorsNeverCarrySecrets(t *testing.T) {
	key := newKey(t, elliptic.P256())
	fake := newFakeApple(t, &key.PublicKey, time.Now)
	fake.assigned["S1"] = testServerID
	c, _ := New(fake.config(key))
	ctx := context.Background()
	var texts []string
	collect := func(err error) {
		if err == nil {
			t.Errorf("expected an error")
			return
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}

	// The token endpoint echoes the assertion in its refusal.
	fake.tokenFault = func(w http.ResponseWriter, r *http.Request) bool {
		fake.refuse(w, "invalid_client", "rejected assertion "+r.PostForm.Get("client_assertion"))
		return true
	}
	_, _, err := c.AssignedServer(ctx, "S1")
	collect(err)
	fake.tokenFault = nil

	// The API echoes the Authorization header, as an error and as a 401 twice.
	for _, status := range []int{400, 401, 429, 500} {
		fake.fault = func(w http.ResponseWriter, r *http.Request) bool {
			appleError(w, status, "ECHO", r.Header.Get("Authorization"), "you sent "+r.Header.Get("Authorization"))
			return true
		}
		_, _, err = c.AssignedServer(ctx, "S1")
		collect(err)
		_, err = c.UnassignDevices(ctx, []string{"S1"})
		collect(err)
		_, err = c.Activity(ctx, "a-1")
		collect(err)
	}
	fake.fault = nil

	// Transport errors, for the API and for the token endpoint.
	fake.srv.Close()
	_, _, err = c.AssignedServer(ctx, "S1")
	collect(err)
	fresh, _ := New(fake.config(key))
	_, err = fresh.Activity(ctx, "a-1")
	collect(err)

	secrets := secretsOf(t, key)
	secrets = append(secrets, fake.issued()...)
	for _, a := range fake.assertions {
		secrets = append(secrets, a, strings.Split(a, ".")[2])
	}
	if len(fake.assertions) == 0 || len(fake.issued()) == 0 {
		t.Fatal("the test did not see any assertion or token")
	}
	assertAbsent(t, "a secret", texts, secrets)
}

func TestLoadPrivateKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var buf []byte
		for _, b := range blocks {
			buf = append(buf, pem.EncodeToMemory(b)...)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	key := newKey(t, elliptic.P256())
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	sec1, _ := x509.MarshalECPrivateKey(key)
	params := &pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}

	for name, path := range map[string]string{
		"pkcs8":       write("pkcs8.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"sec1":        write("sec1.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"params+sec1": write("params.pem", params, &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"mislabeled":  write("mislabeled.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: pkcs8}),
	} {
		got, err := LoadPrivateKey(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Equal(key) {
			t.Errorf("%s: a different key", name)
		}
	}

	p384, _ := x509.MarshalPKCS8PrivateKey(newKey(t, elliptic.P384()))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	corrupt := append([]byte{}, pkcs8...)
	corrupt[10] ^= 0xff
	bad := map[string]string{
		"missing":   filepath.Join(dir, "missing.pem"),
		"not pem":   write("empty.pem"),
		"p384":      write("p384.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: p384}),
		"rsa":       write("rsa.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}),
		"corrupt":   write("corrupt.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: corrupt}),
		"encrypted": write("enc.pem", &pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: sec1}),
		"cert only": write("cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
	}
	var texts []string
	for name, path := range bad {
		_, err := LoadPrivateKey(path)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), path) && name != "missing" {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		texts = append(texts, err.Error())
	}
	if _, err := LoadPrivateKey(""); err == nil || !strings.Contains(err.Error(), "APPLE_PRIVATE_KEY_FILE") {
		t.Errorf("no file: %v", err)
	}
	assertAbsent(t, "the key", texts, secretsOf(t, key))
}
