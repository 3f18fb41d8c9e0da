package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// webhookTimeout bounds one delivery when NewWebhook gets no client.
const webhookTimeout = 15 * time.Second

// webhookBody is what the webhook receives: "text" is what Slack-, Teams- and Mattermost-style
// incoming webhooks display; the other fields are for tools that read them.
type webhookBody struct {
	Text string `json:"text"`
	Message
}

// NewWebhook returns a Notifier that POSTs each message as JSON to url (a chat tool's incoming
// webhook). A non-2xx answer is a *DeliveryError, temporary for 429 and 5xx. Chat webhook URLs
// carry a secret in their path: no error and no String output shows more than the host.
// A nil client gets one with a 15 s timeout.
func NewWebhook(url string, client *http.Client) Notifier {
	if client == nil {
		client = &http.Client{Timeout: webhookTimeout}
	}
	return &webhook{url: url, client: client}
}

type webhook struct {
	url    string
	client *http.Client
}

// String names the webhook by its host only.
func (w *webhook) String() string { return "webhook(" + hostOf(w.url) + ")" }

// GoString is String, so %#v shows no secret either.
func (w *webhook) GoString() string { return w.String() }

func (w *webhook) Notify(ctx context.Context, m Message) error {
	fail := func(status int, temp bool, detail string, err error) error {
		return &DeliveryError{Channel: "webhook", Serial: m.Serial, Status: status, Detail: detail, Err: err, temp: temp}
	}
	u, err := url.Parse(w.url)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fail(0, false, "the webhook URL is not an http(s) URL: check the notification settings", nil)
	}
	body, err := json.Marshal(webhookBody{Text: m.Text(), Message: m})
	if err != nil {
		return fail(0, false, "encode the message", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fail(0, false, "build the request", withoutURL(err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "offboard")
	resp, err := w.client.Do(req)
	if err != nil {
		return fail(0, ctx.Err() == nil, "no answer from "+u.Host, withoutURL(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	temp := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	detail := fmt.Sprintf("%s refused the message (%s)", u.Host, strings.TrimSpace(string(snippet)))
	if !temp {
		detail += ": check the webhook URL is still valid in the chat tool"
	}
	return fail(resp.StatusCode, temp, detail, nil)
}

// withoutURL drops the request URL from a transport error, keeping the reason.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "invalid URL"
}
