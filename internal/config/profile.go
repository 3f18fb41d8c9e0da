package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	temporalenv "go.temporal.io/sdk/contrib/envconfig"
)

// ProfileChoice names the temporal CLI configuration file and profile to read, as the starter's
// --config-file and --profile flags give them; empty fields fall back to TEMPORAL_CONFIG_FILE and
// TEMPORAL_PROFILE, then to the temporal CLI's defaults (its temporal.toml under the user's
// configuration directory, profile "default").
type ProfileChoice struct {
	File, Profile string
}

// applyProfile fills the Temporal settings that no TEMPORAL_* variable sets from the temporal
// CLI's profile (temporal.toml, read by the SDK's contrib envconfig package): an explicit
// variable wins over the profile, the profile over the defaults. A file that is named (by flag or
// TEMPORAL_CONFIG_FILE) must exist and a profile that is named must be in it; the default file
// may be absent. A profile's codec section is the temporal CLI's (a remote codec to show payloads)
// and is not read: Offboard's processes encrypt with CODEC_KEY_FILE.
func (t *Temporal) applyProfile(choice ProfileChoice) error {
	if choice.File != "" {
		t.ConfigFile = choice.File
	}
	if choice.Profile != "" {
		t.Profile = choice.Profile
	}
	file, named := t.ConfigFile, t.ConfigFile != ""
	if !named {
		file = temporalenv.DefaultConfigFilePath()
	}
	if file == "" {
		return nil // no user configuration directory: no profile to read
	}
	if _, err := os.Stat(file); err != nil {
		if !named && errors.Is(err, os.ErrNotExist) {
			if t.Profile != "" {
				return fmt.Errorf("TEMPORAL_PROFILE %q: there is no temporal CLI configuration file (%s) to read it from", t.Profile, file)
			}
			return nil
		}
		return fmt.Errorf("temporal CLI configuration file %s (TEMPORAL_CONFIG_FILE or --config-file): %w", file, err)
	}
	t.ConfigFile = file // the start-up log says which file was read
	profileName := t.Profile
	if profileName == "" {
		profileName = temporalenv.DefaultConfigFileProfile
	}
	p, err := temporalenv.LoadClientConfigProfile(temporalenv.LoadClientConfigProfileOptions{
		ConfigFilePath: file, ConfigFileProfile: t.Profile, DisableEnv: true,
		// The profile is chosen here, from the flag or TEMPORAL_PROFILE already read.
		EnvLookup: noEnv{},
	})
	if err != nil {
		return fmt.Errorf("temporal CLI configuration file %s, profile %q: %w", file, profileName, err)
	}
	if err := supported(p); err != nil {
		return fmt.Errorf("temporal CLI configuration file %s, profile %q: %w", file, profileName, err)
	}
	set := func(env string, value string, field *string) {
		if value != "" && os.Getenv(env) == "" {
			*field = value
		}
	}
	set("TEMPORAL_ADDRESS", p.Address, &t.Address)
	set("TEMPORAL_NAMESPACE", p.Namespace, &t.Namespace)
	set("TEMPORAL_API_KEY", p.APIKey, &t.APIKey)
	if tls := p.TLS; tls != nil {
		if os.Getenv("TEMPORAL_TLS") == "" {
			t.TLS = true // a [tls] table turns TLS on, as it does for the temporal CLI
		}
		set("TEMPORAL_TLS_CLIENT_CERT_PATH", tls.ClientCertPath, &t.TLSCertPath)
		set("TEMPORAL_TLS_CLIENT_KEY_PATH", tls.ClientKeyPath, &t.TLSKeyPath)
		set("TEMPORAL_TLS_SERVER_CA_CERT_PATH", tls.ServerCACertPath, &t.TLSCACertPath)
		set("TEMPORAL_TLS_SERVER_NAME", tls.ServerName, &t.TLSServerName)
		if tls.DisableHostVerification && os.Getenv("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION") == "" {
			t.TLSDisableHostVerification = true
		}
	}
	return nil
}

// supported refuses the profile settings Offboard would otherwise drop without a word, so a
// connection never silently differs from the temporal CLI's.
func supported(p temporalenv.ClientConfigProfile) error {
	var unread []string
	if tls := p.TLS; tls != nil {
		if tls.Disabled {
			unread = append(unread, "tls.disabled (remove the [tls] table to connect without TLS)")
		}
		for name, data := range map[string][]byte{"tls.client_cert_data": tls.ClientCertData, "tls.client_key_data": tls.ClientKeyData, "tls.server_ca_cert_data": tls.ServerCACertData} {
			if len(data) > 0 {
				unread = append(unread, name+" (write the PEM to a file and use the _path setting)")
			}
		}
	}
	if len(p.GRPCMeta) > 0 {
		unread = append(unread, "grpc_meta")
	}
	if p.Authority != "" {
		unread = append(unread, "authority")
	}
	if len(unread) == 0 {
		return nil
	}
	slices.Sort(unread)
	return fmt.Errorf("sets what Offboard does not read: %s", strings.Join(unread, "; "))
}

// noEnv keeps the contrib package from reading TEMPORAL_* variables itself: this package applies
// them, with their documented names and checks.
type noEnv struct{}

func (noEnv) Environ() []string               { return nil }
func (noEnv) LookupEnv(string) (string, bool) { return "", false }
