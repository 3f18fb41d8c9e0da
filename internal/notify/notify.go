// Package notify tells people what Offboard needs from them or what happened: the device's user
// (tap through Settings, hand the device in) and the operators (a console step to carry out, a
// device that never came back). Channels: a structured log line, a chat webhook, e-mail. It knows
// nothing of Temporal: a failed delivery says through Temporary whether trying again may help.
package notify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Audiences of a message.
const (
	AudienceUser     = "user"     // the device's user
	AudienceOperator = "operator" // the people who run the offboarding
)

// Message is one notification about one device, in Japanese and English.
type Message struct {
	Serial   string            `json:"serial"`
	Step     string            `json:"step"`
	Audience string            `json:"audience"` // AudienceUser or AudienceOperator
	Subject  string            `json:"subject"`
	TextJA   string            `json:"textJA"`
	TextEN   string            `json:"textEN"`
	Contact  string            `json:"contact"` // e-mail of the person; may be empty
	Fields   map[string]string `json:"fields,omitempty"`
}

// Text is the message as one plain text: the subject, then the Japanese, then the English.
func (m Message) Text() string {
	var parts []string
	for _, p := range []string{m.subject(), m.TextJA, m.TextEN} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "\n")
}

// subject is Subject, or one made from the serial and the step.
func (m Message) subject() string {
	if s := strings.TrimSpace(m.Subject); s != "" {
		return s
	}
	return strings.TrimSpace(fmt.Sprintf("[Offboard] %s %s", m.Serial, m.Step))
}

// sortedFields returns the keys of Fields in order, for stable output.
func (m Message) sortedFields() []string { return slices.Sorted(maps.Keys(m.Fields)) }

// Notifier delivers a message.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// NewLog returns a Notifier that writes each message as one structured log line; it never fails.
// A nil logger discards the messages.
func NewLog(logger *zap.Logger) Notifier {
	if logger == nil {
		logger = zap.NewNop()
	}
	return logNotifier{logger: logger}
}

type logNotifier struct{ logger *zap.Logger }

func (l logNotifier) Notify(_ context.Context, m Message) error {
	fields := []zap.Field{
		zap.String("serial", m.Serial),
		zap.String("step", m.Step),
		zap.String("audience", m.Audience),
		zap.String("subject", m.subject()),
		zap.String("textJA", m.TextJA),
		zap.String("textEN", m.TextEN),
		zap.String("contact", m.Contact),
	}
	if len(m.Fields) > 0 {
		fields = append(fields, zap.Object("fields", stringMap(m.Fields)))
	}
	l.logger.Info("notification", fields...)
	return nil
}

// stringMap logs Fields as one object, keys in order.
type stringMap map[string]string

func (sm stringMap) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, k := range slices.Sorted(maps.Keys(sm)) {
		enc.AddString(k, sm[k])
	}
	return nil
}

// Multi returns a Notifier that delivers to every one of ns (nil ones skipped), even when some
// fail; the error joins the failures. Retrying after a failure delivers again to all of them.
func Multi(ns ...Notifier) Notifier {
	var keep multi
	for _, n := range ns {
		if n != nil {
			keep = append(keep, n)
		}
	}
	return keep
}

type multi []Notifier

func (ms multi) Notify(ctx context.Context, m Message) error {
	var errs []error
	for _, n := range ms {
		if err := n.Notify(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeliveryError is a failed delivery on one channel.
type DeliveryError struct {
	Channel string // "webhook" or "smtp"
	Serial  string
	Status  int    // the HTTP status or SMTP reply code; 0 when there was no answer
	Detail  string // what went wrong and what to check
	Err     error  // the underlying error, if any
	temp    bool
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notify: %s", e.Channel)
	if e.Serial != "" {
		fmt.Fprintf(&b, ": device %s", e.Serial)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.temp {
		b.WriteString(" (temporary: retry later)")
	}
	return b.String()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Temporary reports whether the same delivery may succeed later: a webhook's 429 or 5xx, an SMTP
// 4xx reply, or no answer at all. A refused or misconfigured delivery is not temporary.
func (e *DeliveryError) Temporary() bool { return e.temp }

// IsTemporary reports whether err, or any error joined in it, is a temporary delivery failure.
func IsTemporary(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case interface{ Temporary() bool }:
		if e.Temporary() {
			return true
		}
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		return slices.ContainsFunc(e.Unwrap(), IsTemporary)
	case interface{ Unwrap() error }:
		return IsTemporary(e.Unwrap())
	}
	return false
}
