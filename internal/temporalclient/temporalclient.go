// Package temporalclient turns config.Temporal into a Temporal client, so the worker, the starter
// and the tests reach a dev server, a self-hosted cluster (mutual TLS) or Temporal Cloud (API key
// or mutual TLS) the same way.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
)

// Options builds client options from cfg. logger may be nil (the SDK then logs on its own).
// Certificate and key files are read here, so a wrong path fails before any connection is tried.
// With CODEC_KEY_FILE set, the client (and every worker built on it) encrypts its payloads and
// its failures' messages (internal/codec).
func Options(cfg config.Temporal, logger log.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    logger,
	}
	if cfg.Codec.Enabled() {
		keys, err := loadKeys(cfg.Codec)
		if err != nil {
			return client.Options{}, err
		}
		codec.Apply(&opts, keys)
		if logger != nil {
			logger.Info("Payloads encrypted", "KeyFile", cfg.Codec.KeyFile, "EncryptingKeyID", keys.EncryptKeyID(), "KeyIDs", keys.IDs())
		}
	}
	if cfg.TLSEnabled() {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return client.Options{}, err
		}
		opts.ConnectionOptions.TLS = tc
	}
	if cfg.APIKey != "" {
		// With no TLS settings of ours the SDK turns TLS on for the key.
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	return opts, nil
}

// Dial connects to Temporal and checks the connection (the SDK calls the server's health and
// system info on dial), so a wrong address or credential fails here, at start-up.
func Dial(ctx context.Context, cfg config.Temporal, logger log.Logger) (client.Client, error) {
	opts, err := Options(cfg, logger)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("temporal: cannot reach %s (namespace %s): %w", cfg.Address, cfg.Namespace, err)
	}
	return c, nil
}

// DataConverter is the data converter of cfg's clients: the codec's when CODEC_KEY_FILE is set,
// the default otherwise. Code that decodes payloads it reads itself (a workflow's history, say)
// decodes with it, not with the default converter.
func DataConverter(cfg config.Temporal) (converter.DataConverter, error) {
	if !cfg.Codec.Enabled() {
		return converter.GetDefaultDataConverter(), nil
	}
	keys, err := loadKeys(cfg.Codec)
	if err != nil {
		return nil, err
	}
	return codec.NewDataConverter(codec.New(keys)), nil
}

func loadKeys(cfg config.Codec) (*codec.Keys, error) {
	keys, err := codec.LoadKeyFile(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("temporal: CODEC_KEY_FILE: %w", err)
	}
	return keys, nil
}

func tlsConfig(cfg config.Temporal) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         cfg.TLSServerName,
		InsecureSkipVerify: cfg.TLSDisableHostVerification, //nolint:gosec // an explicit, documented test-only switch
	}
	if cfg.TLSCertPath != "" || cfg.TLSKeyPath != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertPath, cfg.TLSKeyPath)
		if err != nil {
			return nil, fmt.Errorf("temporal: client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH %s, TEMPORAL_TLS_CLIENT_KEY_PATH %s): %w", cfg.TLSCertPath, cfg.TLSKeyPath, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if cfg.TLSCACertPath != "" {
		pem, err := os.ReadFile(cfg.TLSCACertPath)
		if err != nil {
			return nil, fmt.Errorf("temporal: TEMPORAL_TLS_SERVER_CA_CERT_PATH: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal: TEMPORAL_TLS_SERVER_CA_CERT_PATH %s holds no PEM certificate", cfg.TLSCACertPath)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Keyword decodes a Keyword search attribute of a visibility record ("" when absent or not a
// string), for the listings of the starter and the fleet's census. Search attributes are never
// encrypted (the server indexes them), so the default converter reads them, codec or not.
func Keyword(fields map[string]*commonpb.Payload, name string) string {
	p, ok := fields[name]
	if !ok {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}
