// Package logging builds Offboard's zap logger and adapts it to the Temporal SDK's log.Logger, so
// the SDK's own lines and ours share one format and one level.
package logging

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a logger writing to stderr at level (debug, info, warn, error) in format console
// (for people) or json (for log collectors).
func New(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("logging: level %q must be debug, info, warn or error", level)
	}
	var cfg zap.Config
	switch format {
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.Development = false // no panics on DPanic, no stack traces on warnings
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
	case "json":
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
		cfg.Sampling = nil // a lost line about a device is worse than a big log
	default:
		return nil, fmt.Errorf("logging: format %q must be console or json", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.OutputPaths = []string{"stderr"}
	cfg.ErrorOutputPaths = []string{"stderr"}
	return cfg.Build(zap.AddStacktrace(zapcore.ErrorLevel))
}

// TemporalLogger is a log.Logger (with With and WithCallerSkip) writing to a zap logger.
type TemporalLogger struct {
	z *zap.Logger
}

var (
	_ log.Logger          = TemporalLogger{}
	_ log.WithLogger      = TemporalLogger{}
	_ log.WithSkipCallers = TemporalLogger{}
)

// NewTemporalLogger adapts z for client.Options.Logger and worker logging. Caller information
// points at the code that called the SDK's logger, not at this adapter.
func NewTemporalLogger(z *zap.Logger) log.Logger {
	return TemporalLogger{z: z.WithOptions(zap.AddCallerSkip(1))}
}

// Debug logs msg with keyvals (alternating keys and values).
func (l TemporalLogger) Debug(msg string, keyvals ...any) { l.z.Debug(msg, Fields(keyvals)...) }

// Info logs msg with keyvals (alternating keys and values).
func (l TemporalLogger) Info(msg string, keyvals ...any) { l.z.Info(msg, Fields(keyvals)...) }

// Warn logs msg with keyvals (alternating keys and values).
func (l TemporalLogger) Warn(msg string, keyvals ...any) { l.z.Warn(msg, Fields(keyvals)...) }

// Error logs msg with keyvals (alternating keys and values).
func (l TemporalLogger) Error(msg string, keyvals ...any) { l.z.Error(msg, Fields(keyvals)...) }

// With returns a logger that adds keyvals to every line; l is unchanged.
func (l TemporalLogger) With(keyvals ...any) log.Logger {
	return TemporalLogger{z: l.z.With(Fields(keyvals)...)}
}

// WithCallerSkip returns a logger that skips depth more stack frames for caller information.
func (l TemporalLogger) WithCallerSkip(depth int) log.Logger {
	return TemporalLogger{z: l.z.WithOptions(zap.AddCallerSkip(depth))}
}

// Fields turns alternating keys and values into zap fields. A key that is not a string is
// printed as one; a zap.Field passes through; a last key without a value is kept under
// "!BADKEY" (slog's convention) rather than dropped.
func Fields(keyvals []any) []zap.Field {
	fields := make([]zap.Field, 0, (len(keyvals)+1)/2)
	for i := 0; i < len(keyvals); {
		if f, ok := keyvals[i].(zap.Field); ok {
			fields = append(fields, f)
			i++
			continue
		}
		if i == len(keyvals)-1 {
			fields = append(fields, zap.Any("!BADKEY", keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		fields = append(fields, zap.Any(key, keyvals[i+1]))
		i += 2
	}
	return fields
}
