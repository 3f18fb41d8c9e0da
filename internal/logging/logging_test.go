package logging

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func observed(level zapcore.Level) (log.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(level)
	return NewTemporalLogger(zap.New(core, zap.AddCaller())), logs
}

func TestLevelsAndFields(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel)
	boom := errors.New("boom")
	l.Debug("d", "WorkflowID", "offboard-ABC", "Attempt", 3)
	l.Info("i", "Serial", "ABC")
	l.Warn("w")
	l.Error("e", "Error", boom)

	entries := logs.AllUntimed()
	if len(entries) != 4 {
		t.Fatalf("got %d entries", len(entries))
	}
	for i, want := range []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel} {
		if entries[i].Level != want {
			t.Errorf("entry %d level %v, want %v", i, entries[i].Level, want)
		}
	}
	ctx := entries[0].ContextMap()
	if ctx["WorkflowID"] != "offboard-ABC" || ctx["Attempt"] != int64(3) {
		t.Errorf("fields: %v", ctx)
	}
	if got := entries[3].ContextMap()["Error"]; got != "boom" {
		t.Errorf("error field: %v", got)
	}
	if !strings.HasSuffix(entries[0].Caller.File, "logging_test.go") {
		t.Errorf("caller is %s, want the test file", entries[0].Caller.File)
	}
}

func TestLevelFilters(t *testing.T) {
	l, logs := observed(zapcore.WarnLevel)
	l.Debug("d")
	l.Info("i")
	l.Warn("w")
	if logs.Len() != 1 || logs.All()[0].Message != "w" {
		t.Errorf("entries: %v", logs.All())
	}
}

func TestOddKeyvalsAndOddKeys(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel)
	l.Info("odd", "a", 1, "dangling")
	l.Info("keys", 42, "x", zap.String("z", "field"), "b", 2)
	ctx := logs.All()[0].ContextMap()
	if ctx["a"] != int64(1) || ctx["!BADKEY"] != "dangling" {
		t.Errorf("odd: %v", ctx)
	}
	ctx = logs.All()[1].ContextMap()
	if ctx["42"] != "x" || ctx["z"] != "field" || ctx["b"] != int64(2) {
		t.Errorf("keys: %v", ctx)
	}
}

func TestWith(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel)
	child := log.With(l, "DeviceSerial", "ABC")
	child.Info("step", "Step", "user-wipe")
	l.Info("parent")
	all := logs.All()
	if ctx := all[0].ContextMap(); ctx["DeviceSerial"] != "ABC" || ctx["Step"] != "user-wipe" {
		t.Errorf("child: %v", ctx)
	}
	if _, ok := all[1].ContextMap()["DeviceSerial"]; ok {
		t.Error("With changed the parent")
	}
	if _, ok := child.(TemporalLogger); !ok {
		t.Errorf("log.With did not use the adapter's With: %T", child)
	}
}

func TestWithCallerSkip(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel)
	helper := func() { log.Skip(l, 1).Info("from helper") }
	_, _, line, _ := runtime.Caller(0)
	helper() // the caller reported is this line, not the helper's
	if c := logs.All()[0].Caller; !strings.HasSuffix(c.File, "logging_test.go") || c.Line != line+1 {
		t.Errorf("caller %s:%d, want line %d", c.File, c.Line, line+1)
	}
	if _, ok := l.(log.WithSkipCallers); !ok {
		t.Error("adapter does not implement WithSkipCallers")
	}
}

func TestNew(t *testing.T) {
	for _, format := range []string{"console", "json"} {
		z, err := New("warn", format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if z.Core().Enabled(zapcore.InfoLevel) || !z.Core().Enabled(zapcore.WarnLevel) {
			t.Errorf("%s: level not warn", format)
		}
	}
	if _, err := New("verbose", "json"); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := New("info", "xml"); err == nil {
		t.Error("bad format accepted")
	}
}
