package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// SMTPConfig configures e-mail delivery. Its String never shows the password, nor does JSON.
type SMTPConfig struct {
	Host         string        // the mail server
	Port         int           // 0: 587 (submission); STARTTLS is used whenever the server offers it
	From         string        // the sender, e.g. "Offboard <offboard@example.com>"
	Username     string        // empty: no AUTH
	Password     string        `json:"-"` // the password (e.g. from SMTP_PASSWORD); PasswordFile wins when set
	PasswordFile string        // a file holding the password (e.g. SMTP_PASSWORD_FILE), read at each send
	To           []string      // fallback recipients, for messages without a Contact (operators)
	Timeout      time.Duration // 0: 30 s for one delivery
	// TLSConfig overrides the STARTTLS settings (tests); nil verifies the server as Host.
	TLSConfig *tls.Config
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	pw := "unset"
	if c.Password != "" || c.PasswordFile != "" {
		pw = "[redacted]"
	}
	return fmt.Sprintf("notify.SMTPConfig{Host: %q, Port: %d, From: %q, Username: %q, Password: %s, To: %q}",
		c.Host, c.Port, c.From, c.Username, pw, c.To)
}

// GoString is String, so %#v shows no password either.
func (c SMTPConfig) GoString() string { return c.String() }

// NewSMTP returns a Notifier that e-mails each message to its Contact, or to cfg.To when the
// message has none. The subject is RFC 2047 encoded UTF-8; the body holds the Japanese, then the
// English text, then the device's serial, step and fields.
func NewSMTP(cfg SMTPConfig) Notifier {
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &smtpNotifier{cfg: cfg}
}

type smtpNotifier struct{ cfg SMTPConfig }

func (s *smtpNotifier) String() string   { return "smtp(" + s.cfg.String() + ")" }
func (s *smtpNotifier) GoString() string { return s.String() }

func (s *smtpNotifier) Notify(ctx context.Context, m Message) error {
	fail := func(code int, temp bool, detail string, err error) error {
		return &DeliveryError{Channel: "smtp", Serial: m.Serial, Status: code, Detail: detail, Err: err, temp: temp}
	}
	from, err := mail.ParseAddress(s.cfg.From)
	if err != nil {
		return fail(0, false, fmt.Sprintf("sender %q is not an e-mail address: check the SMTP From setting", s.cfg.From), nil)
	}
	to, err := s.recipients(m)
	if err != nil {
		return fail(0, false, err.Error(), nil)
	}
	password, err := s.password()
	if err != nil {
		return fail(0, false, err.Error(), nil)
	}
	msg, err := compose(from, to, m)
	if err != nil {
		return fail(0, false, "compose the e-mail", err)
	}
	if err := s.send(ctx, from.Address, to, msg, password); err != nil {
		var tp *textproto.Error
		if errors.As(err, &tp) {
			temp := tp.Code >= 400 && tp.Code < 500
			return fail(tp.Code, temp, "the mail server refused the message", err)
		}
		return fail(0, ctx.Err() == nil, "deliver through "+s.addr(), err)
	}
	return nil
}

// recipients is the message's contact, or the fallback list.
func (s *smtpNotifier) recipients(m Message) ([]*mail.Address, error) {
	raw := s.cfg.To
	if strings.TrimSpace(m.Contact) != "" {
		raw = []string{m.Contact}
	}
	if len(raw) == 0 {
		return nil, errors.New("no recipient: the message has no contact and no fallback recipients (SMTP To) are set")
	}
	out := make([]*mail.Address, 0, len(raw))
	for _, r := range raw {
		a, err := mail.ParseAddress(r)
		if err != nil {
			return nil, fmt.Errorf("recipient %q is not an e-mail address", r)
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *smtpNotifier) password() (string, error) {
	if s.cfg.Username == "" {
		return "", nil
	}
	if s.cfg.PasswordFile != "" {
		data, err := os.ReadFile(s.cfg.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("read the SMTP password file: %v", err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	if s.cfg.Password == "" {
		return "", errors.New("SMTP user is set but no password: set the password file or the password")
	}
	return s.cfg.Password, nil
}

func (s *smtpNotifier) addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

// send speaks SMTP over one connection, bounded by ctx and the configured timeout.
func (s *smtpNotifier) send(ctx context.Context, from string, to []*mail.Address, msg []byte, password string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := s.cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: s.cfg.Host}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server offers no AUTH, but an SMTP user is set")
		}
		// PlainAuth refuses to send the password unless the connection is TLS or to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, password, s.cfg.Host)); err != nil {
			return fmt.Errorf("AUTH as %s: %w", s.cfg.Username, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("recipient %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose builds the e-mail: UTF-8 plain text, base64 encoded so any line length and script is safe.
func compose(from *mail.Address, to []*mail.Address, m Message) ([]byte, error) {
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	domain := "offboard.invalid"
	if at := strings.LastIndex(from.Address, "@"); at >= 0 {
		domain = from.Address[at+1:]
	}
	var rcpt []string
	for _, a := range to {
		rcpt = append(rcpt, a.String())
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", strings.Join(rcpt, ", "))
	header("Subject", mime.BEncoding.Encode("UTF-8", oneLine(m.subject())))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<%x@%s>", id, domain))
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="UTF-8"`)
	header("Content-Transfer-Encoding", "base64")
	header("X-Offboard-Serial", mime.QEncoding.Encode("UTF-8", oneLine(m.Serial)))
	header("X-Offboard-Step", mime.QEncoding.Encode("UTF-8", oneLine(m.Step)))
	b.WriteString("\r\n")

	encoded := base64.StdEncoding.EncodeToString([]byte(body(m)))
	for len(encoded) > 76 {
		b.WriteString(encoded[:76] + "\r\n")
		encoded = encoded[76:]
	}
	b.WriteString(encoded + "\r\n")
	return b.Bytes(), nil
}

// body is the text of the e-mail: Japanese first, then English, then the facts.
func body(m Message) string {
	var b strings.Builder
	for _, text := range []string{m.TextJA, m.TextEN} {
		if text = strings.TrimSpace(text); text != "" {
			b.WriteString(text + "\n\n----\n\n")
		}
	}
	fmt.Fprintf(&b, "Serial / シリアル番号: %s\nStep / 手順: %s\n", m.Serial, m.Step)
	for _, k := range m.sortedFields() {
		fmt.Fprintf(&b, "%s: %s\n", k, m.Fields[k])
	}
	return b.String()
}

// oneLine keeps a header value on one line, so no input can add a header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
