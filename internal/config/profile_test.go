package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTOML writes a temporal CLI configuration file, as `temporal config set` does.
func writeTOML(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const profiles = `
[profile.default]
address = "temporal.internal:7233"
namespace = "offboard"

[profile.prod]
address = "prod.acct.tmprl.cloud:7233"
namespace = "prod.acct"
api_key = "s3cret-profile-key"

[profile.prod.tls]
server_name = "prod.acct.tmprl.cloud"

[profile.prod.codec]
endpoint = "http://127.0.0.1:8234"
`

// A profile of the temporal CLI's file sets the address and namespace of every program: the
// default profile of the file TEMPORAL_CONFIG_FILE names, or the one TEMPORAL_PROFILE names.
func TestProfileSetsTheConnection(t *testing.T) {
	clearEnv(t)
	t.Setenv("TEMPORAL_CONFIG_FILE", writeTOML(t, filepath.Join(t.TempDir(), "temporal.toml"), profiles))
	tc, err := LoadTemporal()
	if err != nil {
		t.Fatal(err)
	}
	if tc.Address != "temporal.internal:7233" || tc.Namespace != "offboard" || tc.TLSEnabled() || tc.APIKey != "" {
		t.Errorf("default profile: %+v", tc)
	}
	t.Setenv("TEMPORAL_PROFILE", "prod")
	for name, load := range map[string]func() (Temporal, error){
		"starter": LoadTemporal,
		"worker":  func() (Temporal, error) { w, err := LoadWorker(); return w.Temporal, err },
		"intake": func() (Temporal, error) {
			t.Setenv("INTAKE_TOKENS_FILE", "/tokens")
			in, err := LoadIntake()
			return in.Temporal, err
		},
	} {
		tc, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tc.Address != "prod.acct.tmprl.cloud:7233" || tc.Namespace != "prod.acct" || tc.APIKey != "s3cret-profile-key" ||
			!tc.TLSEnabled() || tc.TLSServerName != "prod.acct.tmprl.cloud" {
			t.Errorf("%s, profile prod: %+v", name, tc.Redacted())
		}
	}
}

// The temporal CLI's own place for the file is read when no file is named.
func TestProfileFromTheDefaultFile(t *testing.T) {
	clearEnv(t)
	writeTOML(t, filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "temporalio", "temporal.toml"), profiles)
	tc, err := LoadTemporal()
	if err != nil {
		t.Fatal(err)
	}
	if tc.Address != "temporal.internal:7233" || tc.Namespace != "offboard" {
		t.Errorf("%+v", tc)
	}
}

// An explicit variable wins over the profile; the profile fills the rest.
func TestEnvironmentOverridesTheProfile(t *testing.T) {
	clearEnv(t)
	t.Setenv("TEMPORAL_CONFIG_FILE", writeTOML(t, filepath.Join(t.TempDir(), "temporal.toml"), profiles))
	t.Setenv("TEMPORAL_PROFILE", "prod")
	t.Setenv("TEMPORAL_ADDRESS", "localhost:7233")
	t.Setenv("TEMPORAL_API_KEY", "env-key")
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "env.example")
	tc, err := LoadTemporal()
	if err != nil {
		t.Fatal(err)
	}
	if tc.Address != "localhost:7233" || tc.APIKey != "env-key" || tc.TLSServerName != "env.example" || tc.Namespace != "prod.acct" {
		t.Errorf("%+v", tc.Redacted())
	}
	// The caller's choice (the starter's --profile, --config-file) wins over the variables.
	other := writeTOML(t, filepath.Join(t.TempDir(), "other.toml"), "[profile.staging]\nnamespace = \"staging\"\n")
	tc, err = LoadTemporalProfile(ProfileChoice{File: other, Profile: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if tc.Namespace != "staging" || tc.Address != "localhost:7233" || tc.ConfigFile != other || tc.Profile != "staging" {
		t.Errorf("%+v", tc.Redacted())
	}
}

// A file that does not parse, a named file that is not there, a named profile that is not in the
// file, and settings Offboard would drop are clear errors naming the file; the profile's API key
// never appears in them.
func TestBadProfileIsAClearError(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		file, profile, text string
		want                []string
	}{
		"not TOML":        {"bad.toml", "", "[profile.default\naddress = 1", []string{"bad.toml", `profile "default"`, "parsing"}},
		"wrong type":      {"typed.toml", "", "[profile.default]\naddress = 7233\n", []string{"typed.toml", "parsing"}},
		"missing file":    {"absent.toml", "", "", []string{"absent.toml", "TEMPORAL_CONFIG_FILE", "no such file"}},
		"missing profile": {"ok.toml", "nope", profiles, []string{"ok.toml", `profile "nope"`, "unable to find profile nope"}},
		"data and meta": {"data.toml", "", "[profile.default]\napi_key = \"s3cret-profile-key\"\n[profile.default.tls]\nclient_cert_data = \"x\"\n[profile.default.grpc_meta]\na = \"b\"\n",
			[]string{"data.toml", "tls.client_cert_data (write the PEM to a file", "grpc_meta"}},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			path := filepath.Join(dir, tc.file)
			if tc.text != "" {
				writeTOML(t, path, tc.text)
			}
			t.Setenv("TEMPORAL_CONFIG_FILE", path)
			t.Setenv("TEMPORAL_PROFILE", tc.profile)
			_, err := LoadTemporal()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the API key: %v", err)
			}
			if _, err := LoadWorker(); err == nil {
				t.Error("the worker accepted it")
			}
		})
	}
}

// TEMPORAL_PROFILE with no file to read it from is a mistake, not the defaults.
func TestNamedProfileWithoutAFile(t *testing.T) {
	clearEnv(t)
	t.Setenv("TEMPORAL_PROFILE", "prod")
	if _, err := LoadTemporal(); err == nil || !strings.Contains(err.Error(), `TEMPORAL_PROFILE "prod"`) {
		t.Errorf("got %v", err)
	}
}
