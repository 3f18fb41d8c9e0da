// The intake is Offboard's HTTP API for pipelines: an HR system or an identity platform's workflow
// starts a device's offboarding with POST /v1/offboardings and follows it with
// GET /v1/offboardings/{serial}. It reaches Temporal as the starter does (TEMPORAL_*,
// CODEC_KEY_FILE) and reads its callers' credentials from INTAKE_TOKENS_FILE and/or
// INTAKE_HMAC_SECRET_FILE; it listens on INTAKE_LISTEN. See docs/intake.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/intake"
	"github.com/offboard/offboard/internal/logging"
	"github.com/offboard/offboard/internal/temporalclient"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] != "serve" {
		fmt.Fprintf(os.Stderr, "intake: unknown command %q: intake [serve] (settings from the environment, docs/intake.md)\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadIntake()
	if err != nil {
		return err
	}
	logger, err := logging.New(envOr("LOG_LEVEL", "info"), envOr("LOG_FORMAT", "console"))
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	var tokens, secrets []intake.Credential
	if cfg.TokensFile != "" {
		if tokens, err = intake.LoadCredentials(cfg.TokensFile); err != nil {
			return fmt.Errorf("INTAKE_TOKENS_FILE: %w", err)
		}
	}
	if cfg.HMACSecretFile != "" {
		if secrets, err = intake.LoadCredentials(cfg.HMACSecretFile); err != nil {
			return fmt.Errorf("INTAKE_HMAC_SECRET_FILE: %w", err)
		}
	}
	dc, err := temporalclient.DataConverter(cfg.Temporal)
	if err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	c, err := temporalclient.Dial(ctx, cfg.Temporal, logging.NewTemporalLogger(logger))
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	h, err := intake.New(intake.Options{Client: c, DataConverter: dc, Tokens: tokens, Secrets: secrets, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("INTAKE_LISTEN: %w", err)
	}
	srv := intake.NewServer(cfg.Listen, h)
	logger.Info("intake listening", zap.String("address", "http://"+ln.Addr().String()), zap.Any("config", cfg.Redacted()),
		zap.Strings("tokens", names(tokens)), zap.Strings("hmacSecrets", names(secrets)), zap.Bool("payloadsEncrypted", cfg.Codec.Enabled()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	logger.Info("stopping the intake")
	shut, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	return srv.Shutdown(shut)
}

// names lists the credentials by name and scope, never their secrets.
func names(cs []intake.Credential) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
