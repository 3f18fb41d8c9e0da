// The worker process: it reads its configuration from the environment, connects to Temporal and
// runs the offboarding workflows and activities until SIGINT or SIGTERM. With CODEC_KEY_FILE set,
// its client, and so every worker on it, encrypts payloads and failure messages (docs/codec.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/logging"
	"github.com/offboard/offboard/internal/workerapp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadWorker()
	if err != nil {
		return err
	}
	logger, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	logger.Info("starting worker", zap.Any("config", cfg.Redacted()))

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	m, err := workerapp.StartMetrics(cfg, logger)
	if err != nil {
		return err
	}
	if m != nil {
		defer func() { _ = m.Close() }()
		logger.Info("serving metrics", zap.String("url", m.URL()))
	}
	c, err := workerapp.Dial(ctx, cfg.Temporal, logging.NewTemporalLogger(logger), m)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	go workerapp.WatchDevices(ctx, c, m, logger, time.Minute)

	acts, err := workerapp.NewActivities(cfg, logger)
	if err != nil {
		return err
	}
	stop, err := workerapp.Start(c, acts, workerapp.OptionsFrom(cfg))
	if err != nil {
		return err
	}
	logger.Info("worker running", zap.String("namespace", cfg.Temporal.Namespace), zap.String("consoleMode", cfg.Console.Mode),
		zap.Bool("appleConfigured", cfg.Apple.Configured()), zap.Bool("payloadsEncrypted", cfg.Codec.Enabled()))
	<-ctx.Done()
	logger.Info("stopping worker")
	stop()
	return nil
}
