package notify

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestLogNotifier(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	m := sampleMessage()
	if err := NewLog(zap.New(core)).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d log lines, want 1", len(entries))
	}
	got := entries[0].ContextMap()
	for k, want := range map[string]string{"serial": m.Serial, "step": m.Step, "audience": "user",
		"subject": m.Subject, "textJA": m.TextJA, "textEN": m.TextEN, "contact": m.Contact} {
		if got[k] != want {
			t.Errorf("%s = %v, want %q", k, got[k], want)
		}
	}
	if fields, _ := got["fields"].(map[string]any); fields["ticket"] != "HR-42" {
		t.Errorf("fields = %v", got["fields"])
	}
	if err := NewLog(nil).Notify(context.Background(), m); err != nil {
		t.Errorf("nil logger: %v", err)
	}
}

type recorder struct {
	got []Message
	err error
}

func (r *recorder) Notify(_ context.Context, m Message) error {
	r.got = append(r.got, m)
	return r.err
}

func TestMulti(t *testing.T) {
	temp := &DeliveryError{Channel: "webhook", Status: 503, temp: true}
	perm := &DeliveryError{Channel: "smtp", Status: 550}
	a, b, c := &recorder{err: perm}, &recorder{}, &recorder{err: temp}
	err := Multi(a, nil, b, c).Notify(context.Background(), sampleMessage())
	if len(a.got) != 1 || len(b.got) != 1 || len(c.got) != 1 {
		t.Errorf("every notifier should be called once: %d %d %d", len(a.got), len(b.got), len(c.got))
	}
	if !errors.Is(err, temp) || !errors.Is(err, perm) {
		t.Errorf("error %v should join both failures", err)
	}
	if !IsTemporary(err) {
		t.Error("a joined temporary failure should make the error temporary")
	}
	if err := Multi(b).Notify(context.Background(), sampleMessage()); err != nil {
		t.Errorf("all delivered: %v", err)
	}
	if IsTemporary(perm) || IsTemporary(nil) || !IsTemporary(errors.Join(perm, temp)) {
		t.Error("IsTemporary misclassifies")
	}
}

func TestText(t *testing.T) {
	m := Message{Serial: "S1", Step: "abm-unassign", TextEN: "done"}
	if got := m.Text(); got != "[Offboard] S1 abm-unassign\ndone" {
		t.Errorf("Text = %q", got)
	}
}
