package config

import (
	"strings"
	"testing"
)

// intakeOnly are the variables only the intake API reads (it shares Temporal's with everyone).
var intakeOnly = []string{"INTAKE_LISTEN", "INTAKE_TOKENS_FILE", "INTAKE_HMAC_SECRET_FILE"}

func TestLoadIntake(t *testing.T) {
	clearEnv(t)
	t.Setenv("INTAKE_TOKENS_FILE", "/run/secrets/intake-tokens")
	t.Setenv("TEMPORAL_ADDRESS", "temporal:7233")
	t.Setenv("TEMPORAL_API_KEY", "s3cret-api-key")
	t.Setenv("CODEC_KEY_FILE", "/run/secrets/codec-keys")
	in, err := LoadIntake()
	if err != nil {
		t.Fatal(err)
	}
	if in.Listen != "127.0.0.1:8090" || in.TokensFile != "/run/secrets/intake-tokens" || in.HMACSecretFile != "" {
		t.Errorf("%+v", in)
	}
	if in.Address != "temporal:7233" || in.Namespace != "default" || !in.Codec.Enabled() {
		t.Errorf("the intake reaches Temporal as the starter does: %+v", in.Temporal)
	}
	red := in.Redacted()
	if red["TEMPORAL_API_KEY"] != "set" || red["INTAKE_TOKENS_FILE"] != "/run/secrets/intake-tokens" || red["INTAKE_LISTEN"] != "127.0.0.1:8090" {
		t.Errorf("Redacted %v", red)
	}
	for k, v := range red {
		if strings.Contains(v, "s3cret") {
			t.Errorf("Redacted()[%s] shows a secret", k)
		}
	}
	byName := map[string]Variable{}
	for _, v := range Variables() {
		byName[v.Name] = v
	}
	for _, name := range intakeOnly {
		if _, ok := byName[name]; !ok {
			t.Errorf("%s is not in Variables()", name)
		}
	}
	if byName["INTAKE_LISTEN"].Default != "127.0.0.1:8090" {
		t.Errorf("INTAKE_LISTEN default %q", byName["INTAKE_LISTEN"].Default)
	}
}

func TestLoadIntakeValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no credentials", map[string]string{}, "INTAKE_TOKENS_FILE or INTAKE_HMAC_SECRET_FILE (or both) must be set"},
		{"listen", map[string]string{"INTAKE_TOKENS_FILE": "/t", "INTAKE_LISTEN": "8090"}, `INTAKE_LISTEN "8090" must be host:port`},
		{"temporal", map[string]string{"INTAKE_HMAC_SECRET_FILE": "/s", "TEMPORAL_ADDRESS": "temporal"}, "TEMPORAL_ADDRESS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := LoadIntake()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadIntake(%v) = %v, want %q", tc.env, err, tc.want)
			}
		})
	}
	clearEnv(t)
	t.Setenv("INTAKE_HMAC_SECRET_FILE", "/s")
	if in, err := LoadIntake(); err != nil || in.HMACSecretFile != "/s" {
		t.Errorf("HMAC alone: %+v, %v", in, err)
	}
}
