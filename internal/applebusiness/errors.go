package applebusiness

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds how much of an answer the client reads.
const maxBody = 1 << 20

// parseError turns a non-2xx answer of the API into an *APIError: the first of Apple's
// {"errors":[...]} (the details of the others appended), else the status text.
func parseError(resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{Status: resp.StatusCode}
	var wire struct {
		Errors []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &wire) == nil && len(wire.Errors) > 0 {
		first := wire.Errors[0]
		e.ID, e.Code, e.Title, e.Detail = first.ID, first.Code, first.Title, first.Detail
		for _, more := range wire.Errors[1:] {
			e.Detail += "; " + strings.TrimSpace(more.Code+": "+more.Detail)
		}
	} else {
		e.Title = http.StatusText(resp.StatusCode)
		e.Detail = "(the answer is not Apple's JSON error; check APPLE_API_URL and APPLE_TOKEN_URL)"
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return e
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
// It answers 0 when the header is absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// redactError removes secrets from the texts of e, in case a server echoes what it was sent.
func redactError(e *APIError, secrets ...string) {
	e.Code = redact(e.Code, secrets...)
	e.Title = redact(e.Title, secrets...)
	e.Detail = redact(e.Detail, secrets...)
	e.ID = redact(e.ID, secrets...)
}

func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// scrub keeps err's chain (for errors.Is/As) but makes sure no secret leaks through its text.
func scrub(err error, secrets ...string) error {
	text := err.Error()
	if clean := redact(text, secrets...); clean != text {
		return &scrubbed{err: err, text: clean}
	}
	return err
}

type scrubbed struct {
	err  error
	text string
}

func (s *scrubbed) Error() string { return s.text }
func (s *scrubbed) Unwrap() error { return s.err }
