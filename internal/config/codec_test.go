package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// codecServerOnly are the variables only the codec server reads (CODEC_KEY_FILE is everyone's).
var codecServerOnly = []string{"CODEC_LISTEN", "CODEC_TOKEN_FILE", "CODEC_TOKEN", "CODEC_CORS_ORIGIN"}

func TestCodecKeyFileReachesEveryClient(t *testing.T) {
	clearEnv(t)
	if w, err := LoadWorker(); err != nil || w.Codec.Enabled() {
		t.Fatalf("encryption on by default: %+v, %v", w.Codec, err)
	}
	t.Setenv("CODEC_KEY_FILE", "/run/secrets/codec-keys")
	w, err := LoadWorker()
	if err != nil || w.Temporal.Codec.KeyFile != "/run/secrets/codec-keys" || !w.Codec.Enabled() {
		t.Fatalf("worker: %+v, %v", w.Codec, err)
	}
	if w.Redacted()["CODEC_KEY_FILE"] != "/run/secrets/codec-keys" {
		t.Errorf("Redacted: %v", w.Redacted())
	}
	tc, err := LoadTemporal() // the starter
	if err != nil || tc.Codec.KeyFile != "/run/secrets/codec-keys" {
		t.Fatalf("starter: %+v, %v", tc.Codec, err)
	}
}

func TestLoadCodecServer(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CODEC_KEY_FILE", "/keys")
	t.Setenv("CODEC_TOKEN_FILE", tokenFile)
	c, err := LoadCodecServer()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8234" || c.Token != "0123456789abcdef0123" || c.KeyFile != "/keys" {
		t.Errorf("%+v", c)
	}
	if got := c.Origins(); len(got) != 1 || got[0] != "http://localhost:8233" {
		t.Errorf("default origins %v", got)
	}
	t.Setenv("CODEC_CORS_ORIGIN", "http://localhost:8233, http://127.0.0.1:8233/ ,")
	c, err = LoadCodecServer()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Origins(); len(got) != 2 || got[1] != "http://127.0.0.1:8233" {
		t.Errorf("origins %v", got)
	}
	if red := c.Redacted(); red["CODEC_TOKEN"] != "set" || len(red) != len(codecServerOnly)+1 {
		t.Errorf("Redacted %v", red)
	}
}

func TestLoadCodecServerValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no keys", map[string]string{"CODEC_TOKEN": "0123456789abcdef"}, "CODEC_KEY_FILE must be set"},
		{"no token", map[string]string{"CODEC_KEY_FILE": "/k"}, "CODEC_TOKEN_FILE (or CODEC_TOKEN) must be set"},
		{"short token", map[string]string{"CODEC_KEY_FILE": "/k", "CODEC_TOKEN": "s3cret"}, "CODEC_TOKEN must be at least 16"},
		{"token twice", map[string]string{"CODEC_KEY_FILE": "/k", "CODEC_TOKEN": "s3cret-codec-token-123", "CODEC_TOKEN_FILE": "/t"}, "CODEC_TOKEN and CODEC_TOKEN_FILE are both set"},
		{"token file missing", map[string]string{"CODEC_KEY_FILE": "/k", "CODEC_TOKEN_FILE": "/nonexistent/token"}, "CODEC_TOKEN_FILE: open /nonexistent/token"},
		{"listen", map[string]string{"CODEC_KEY_FILE": "/k", "CODEC_TOKEN": "s3cret-codec-token-123", "CODEC_LISTEN": "8234"}, `CODEC_LISTEN "8234" must be host:port`},
		{"origin with path", map[string]string{"CODEC_KEY_FILE": "/k", "CODEC_TOKEN": "s3cret-codec-token-123", "CODEC_CORS_ORIGIN": "http://localhost:8233/ui"}, "is not an origin"},
		{"wildcard", map[string]string{"CODEC_KEY_FILE": "/k", "CODEC_TOKEN": "s3cret-codec-token-123", "CODEC_CORS_ORIGIN": "*"}, "is not an origin"},
		{"no origin", map[string]string{"CODEC_KEY_FILE": "/k", "CODEC_TOKEN": "s3cret-codec-token-123", "CODEC_CORS_ORIGIN": " , "}, "at least one origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := LoadCodecServer()
			if err == nil {
				t.Fatalf("accepted %v", tc.env)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not say %q", err, tc.want)
			}
			for _, s := range []string{"s3cret-codec-token-123", "s3cret"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows the token: %v", err)
				}
			}
		})
	}
}
