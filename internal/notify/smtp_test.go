package notify

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// smtpServer is a tiny SMTP server: enough of RFC 5321 for net/smtp (EHLO/HELO, AUTH PLAIN,
// MAIL, RCPT, DATA, QUIT), recording what it receives.
type smtpServer struct {
	ln       net.Listener
	user     string // AUTH PLAIN user; "" offers no AUTH
	password string
	rcptCode int // reply to RCPT; 0: 250

	mu    sync.Mutex
	auth  string
	from  string
	rcpts []string
	data  []byte
	wg    sync.WaitGroup
}

// newSMTPServer starts a server; setup sets its behaviour before it accepts anything.
func newSMTPServer(t *testing.T, setup ...func(*smtpServer)) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	for _, f := range setup {
		f(s)
	}
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	return s
}

func (s *smtpServer) config() SMTPConfig {
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return SMTPConfig{Host: host, Port: p, From: "Offboard <offboard@example.com>"}
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	tp := textproto.NewConn(conn)
	reply := func(format string, args ...any) { tp.PrintfLine(format, args...) }
	reply("220 test ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if s.user != "" {
				reply("250-test")
				reply("250 AUTH PLAIN")
			} else {
				reply("250 test")
			}
		case "HELO":
			reply("250 test")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, _ := base64.StdEncoding.DecodeString(resp)
			s.mu.Lock()
			s.auth = string(raw)
			s.mu.Unlock()
			if mech == "PLAIN" && string(raw) == "\x00"+s.user+"\x00"+s.password {
				reply("235 2.7.0 Authentication successful")
			} else {
				reply("535 5.7.8 Authentication credentials invalid")
			}
		case "MAIL":
			s.mu.Lock()
			s.from = arg
			s.mu.Unlock()
			reply("250 OK")
		case "RCPT":
			if s.rcptCode != 0 {
				reply("%d recipient refused", s.rcptCode)
				continue
			}
			s.mu.Lock()
			s.rcpts = append(s.rcpts, arg)
			s.mu.Unlock()
			reply("250 OK")
		case "DATA":
			reply("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.data = data
			s.mu.Unlock()
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// envelope is what MAIL, RCPT and AUTH carried.
func (s *smtpServer) envelope() (from string, rcpts []string, auth string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.from, s.rcpts, s.auth
}

// received parses the message the server got: its header and its decoded body.
func (s *smtpServer) received(t *testing.T) (mail.Header, string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(s.data))))
	if err != nil {
		t.Fatalf("the server received no parseable message: %v", err)
	}
	if enc := msg.Header.Get("Content-Transfer-Encoding"); enc != "base64" {
		t.Fatalf("Content-Transfer-Encoding %q", enc)
	}
	raw, _ := io.ReadAll(msg.Body)
	text, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
	if err != nil {
		t.Fatalf("body is not base64: %v", err)
	}
	return msg.Header, string(text)
}

func TestSMTPSendsToContact(t *testing.T) {
	srv := newSMTPServer(t)
	cfg := srv.config()
	cfg.To = []string{"ops@example.com"}
	m := sampleMessage()
	if err := NewSMTP(cfg).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if from, rcpts, _ := srv.envelope(); from != "FROM:<offboard@example.com>" || fmt.Sprint(rcpts) != "[TO:<taro.yamada@example.com>]" {
		t.Errorf("envelope from %q to %v", from, rcpts)
	}
	header, body := srv.received(t)
	if raw := header.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?b?") && !strings.HasPrefix(raw, "=?UTF-8?B?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", raw)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, m.Subject)
	}
	if !strings.Contains(header.Get("Content-Type"), "UTF-8") || header.Get("To") != "<taro.yamada@example.com>" {
		t.Errorf("header %v", header)
	}
	for _, want := range []string{m.TextJA, m.TextEN, "F2LXK0A1HG7J", "user-remove-mdm-profile", "ticket: HR-42"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Index(body, m.TextJA) > strings.Index(body, m.TextEN) {
		t.Error("Japanese should come first")
	}
}

func TestSMTPFallbackRecipients(t *testing.T) {
	srv := newSMTPServer(t, func(s *smtpServer) { s.user, s.password = "offboard", "mail-password-123" })
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	os.WriteFile(pwFile, []byte("mail-password-123\n"), 0o600)
	cfg := srv.config()
	cfg.To = []string{"ops@example.com", "Help Desk <helpdesk@example.com>"}
	cfg.Username, cfg.PasswordFile, cfg.Password = "offboard", pwFile, "wrong-env-password"
	m := sampleMessage()
	m.Contact, m.Audience = "", AudienceOperator
	if err := NewSMTP(cfg).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, rcpts, auth := srv.envelope()
	if fmt.Sprint(rcpts) != "[TO:<ops@example.com> TO:<helpdesk@example.com>]" {
		t.Errorf("recipients %v", rcpts)
	}
	if auth != "\x00offboard\x00mail-password-123" {
		t.Errorf("AUTH PLAIN sent %q, want the password from the file", auth)
	}
	js, _ := json.Marshal(cfg)
	if s := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, NewSMTP(cfg), js); strings.Contains(s, "wrong-env-password") {
		t.Errorf("String leaks the password: %s", s)
	}
}

func TestSMTPFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		code      int
		temporary bool
	}{{450, true}, {550, false}} {
		srv := newSMTPServer(t, func(s *smtpServer) { s.rcptCode = tc.code })
		err := NewSMTP(srv.config()).Notify(ctx, sampleMessage())
		var de *DeliveryError
		if !errors.As(err, &de) || de.Status != tc.code || de.Temporary() != tc.temporary {
			t.Errorf("RCPT %d: %v, want status %d temporary %t", tc.code, err, tc.code, tc.temporary)
		}
	}

	srv := newSMTPServer(t)
	noRecipient := sampleMessage()
	noRecipient.Contact = ""
	if err := NewSMTP(srv.config()).Notify(ctx, noRecipient); err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "no recipient") {
		t.Errorf("no recipient: %v", err)
	}
	bad := sampleMessage()
	bad.Contact = "not an address"
	if err := NewSMTP(srv.config()).Notify(ctx, bad); err == nil || IsTemporary(err) {
		t.Errorf("bad contact: %v", err)
	}

	authSrv := newSMTPServer(t, func(s *smtpServer) { s.user, s.password = "offboard", "right" })
	cfg := authSrv.config()
	cfg.Username, cfg.Password = "offboard", "wrong-password-xyz"
	if err := NewSMTP(cfg).Notify(ctx, sampleMessage()); err == nil || IsTemporary(err) || strings.Contains(err.Error(), "wrong-password-xyz") {
		t.Errorf("wrong password: %v, want a permanent error without the password", err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, From: "o@example.com"}
	ln.Close()
	if err := NewSMTP(closed).Notify(ctx, sampleMessage()); !IsTemporary(err) {
		t.Errorf("unreachable server should be temporary: %v", err)
	}
}

func TestHeaderInjection(t *testing.T) {
	srv := newSMTPServer(t)
	m := sampleMessage()
	m.Subject = "hello\r\nBcc: victim@example.com"
	m.Step = "x\r\nBcc: victim@example.com"
	if err := NewSMTP(srv.config()).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	header, _ := srv.received(t)
	if header.Get("Bcc") != "" {
		t.Errorf("a header was injected: %v", header)
	}
}
