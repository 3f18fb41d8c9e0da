package temporalclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
)

// pki is a throwaway CA with a server and a client certificate, written to a temp dir.
type pki struct {
	caPath, serverCertPath, serverKeyPath, clientCertPath, clientKeyPath string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "offboard test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     []string{name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	p := pki{
		caPath:         filepath.Join(dir, "ca.pem"),
		serverCertPath: filepath.Join(dir, "server.pem"),
		serverKeyPath:  filepath.Join(dir, "server-key.pem"),
		clientCertPath: filepath.Join(dir, "client.pem"),
		clientKeyPath:  filepath.Join(dir, "client-key.pem"),
	}
	writePEM(t, p.caPath, "CERTIFICATE", caDER)
	der, key := issue(2, "temporal.test", x509.ExtKeyUsageServerAuth)
	writePEM(t, p.serverCertPath, "CERTIFICATE", der)
	writeKey(t, p.serverKeyPath, key)
	der, key = issue(3, "offboard-worker", x509.ExtKeyUsageClientAuth)
	writePEM(t, p.clientCertPath, "CERTIFICATE", der)
	writeKey(t, p.clientKeyPath, key)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeKey(t *testing.T, path string, k *ecdsa.PrivateKey) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOptionsPlain(t *testing.T) {
	opts, err := Options(config.Temporal{Address: "localhost:7233", Namespace: "default"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "localhost:7233" || opts.Namespace != "default" {
		t.Errorf("%+v", opts)
	}
	if opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
		t.Error("TLS or credentials without any asked for")
	}
}

func TestOptionsAPIKey(t *testing.T) {
	opts, err := Options(config.Temporal{Address: "ns.acct.tmprl.cloud:7233", Namespace: "ns.acct", APIKey: "k"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Credentials == nil {
		t.Error("API key set but no credentials")
	}
}

// TestOptionsMutualTLS checks the built tls.Config for real: a handshake with a server that
// requires a client certificate signed by the test CA.
func TestOptionsMutualTLS(t *testing.T) {
	p := newPKI(t)
	serverCert, err := tls.LoadX509KeyPair(p.serverCertPath, p.serverKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(p.caPath)
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			peer <- "handshake: " + err.Error()
			return
		}
		peer <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	}()

	cfg := config.Temporal{
		Address:       ln.Addr().String(),
		Namespace:     "default",
		TLSCertPath:   p.clientCertPath,
		TLSKeyPath:    p.clientKeyPath,
		TLSCACertPath: p.caPath,
		TLSServerName: "temporal.test",
	}
	opts, err := Options(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := opts.ConnectionOptions.TLS
	if tc == nil || len(tc.Certificates) != 1 || tc.RootCAs == nil || tc.ServerName != "temporal.test" || tc.InsecureSkipVerify {
		t.Fatalf("tls config: %+v", tc)
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), tc)
	if err != nil {
		t.Fatalf("handshake with the built config: %v", err)
	}
	conn.Close()
	if got := <-peer; got != "offboard-worker" {
		t.Errorf("server saw %q", got)
	}
}

func TestOptionsTLSSettings(t *testing.T) {
	opts, err := Options(config.Temporal{Address: "h:1", Namespace: "n", TLS: true}, nil)
	if err != nil || opts.ConnectionOptions.TLS == nil || opts.ConnectionOptions.TLS.RootCAs != nil {
		t.Fatalf("TEMPORAL_TLS alone: %+v, %v", opts.ConnectionOptions.TLS, err)
	}
	opts, err = Options(config.Temporal{Address: "h:1", Namespace: "n", TLSDisableHostVerification: true}, nil)
	if err != nil || opts.ConnectionOptions.TLS == nil || !opts.ConnectionOptions.TLS.InsecureSkipVerify {
		t.Fatalf("disable host verification: %+v, %v", opts.ConnectionOptions.TLS, err)
	}
}

func TestOptionsBadFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for name, cfg := range map[string]config.Temporal{
		"missing cert": {TLSCertPath: filepath.Join(dir, "nope.pem"), TLSKeyPath: filepath.Join(dir, "nope-key.pem")},
		"missing CA":   {TLSCACertPath: filepath.Join(dir, "nope-ca.pem")},
		"CA not PEM":   {TLSCACertPath: notPEM},
	} {
		cfg.Address, cfg.Namespace = "h:1", "n"
		if _, err := Options(cfg, nil); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_") {
			t.Errorf("%s: error %v does not name the variable", name, err)
		}
	}
}

func TestDialFailsWithAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := Dial(ctx, config.Temporal{Address: addr, Namespace: "default"}, nil)
	if err == nil {
		c.Close()
		t.Fatal("dialled nothing")
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
}

func writeCodecKeys(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "codec-keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const testCodecKey = "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// With CODEC_KEY_FILE the client's payloads and failures are encrypted; without it, as before.
func TestOptionsCodec(t *testing.T) {
	opts, err := Options(config.Temporal{Address: "h:1", Namespace: "n"}, nil)
	if err != nil || opts.DataConverter != nil || opts.FailureConverter != nil {
		t.Fatalf("no key file, yet converters: %+v %v", opts, err)
	}
	cfg := config.Temporal{Address: "h:1", Namespace: "n", Codec: config.Codec{KeyFile: writeCodecKeys(t, testCodecKey)}}
	opts, err = Options(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.DataConverter == nil || opts.FailureConverter == nil {
		t.Fatal("key file set, no converters")
	}
	p, err := opts.DataConverter.ToPayload(map[string]string{"contact": "user@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata["encoding"]) != codec.EncodingEncrypted || strings.Contains(string(p.Data), "user@example.com") {
		t.Errorf("payload not encrypted: %v", p)
	}
	f := opts.FailureConverter.ErrorToFailure(errors.New("user@example.com did not answer"))
	if strings.Contains(f.String(), "user@example.com") {
		t.Errorf("failure message in clear: %v", f)
	}
	dc, err := DataConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := dc.FromPayload(p, &back); err != nil || back["contact"] != "user@example.com" {
		t.Errorf("DataConverter does not read the client's payloads: %v %v", back, err)
	}
}

func TestOptionsCodecBadKeyFile(t *testing.T) {
	for name, path := range map[string]string{
		"missing": filepath.Join(t.TempDir(), "nope"),
		"bad":     writeCodecKeys(t, "k1 c2hvcnQ="),
	} {
		cfg := config.Temporal{Address: "h:1", Namespace: "n", Codec: config.Codec{KeyFile: path}}
		if _, err := Options(cfg, nil); err == nil || !strings.Contains(err.Error(), "CODEC_KEY_FILE") {
			t.Errorf("%s: error %v does not name CODEC_KEY_FILE", name, err)
		}
		if _, err := DataConverter(cfg); err == nil {
			t.Errorf("%s: DataConverter accepted it", name)
		}
	}
}

// A temporal CLI profile's address is the one dialled: the connection is built from it, not only
// read.
func TestDialUsesTheProfile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	file := filepath.Join(t.TempDir(), "temporal.toml")
	if err := os.WriteFile(file, []byte("[profile.ops]\naddress = \""+addr+"\"\nnamespace = \"offboard-ops\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "CODEC_KEY_FILE"} {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", file)
	t.Setenv("TEMPORAL_PROFILE", "ops")
	cfg, err := config.LoadTemporal()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg, nil)
	if err == nil {
		c.Close()
		t.Fatal("dialled nothing")
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "offboard-ops") {
		t.Errorf("error %q does not name the profile's %s and namespace", err, addr)
	}
}
