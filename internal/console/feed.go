package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The change feed (docs/console-api.md, "The change feed"): what changed on which device since a
// cursor, paged, optionally held until a change comes. One follower per console reads it and
// wakes exactly the devices that changed, so waiting devices need not poll.

// Kinds of a change.
const (
	ChangeAdded   = "added"   // a record the console did not have before
	ChangeUpdated = "updated" // Fields name what differs
	ChangeRemoved = "removed" // the record is gone: a GET of it answers 404
)

// CodeCursorExpired answers a cursor the console can no longer resume from (410 Gone).
const CodeCursorExpired = "cursor-expired"

// Change is one entry of the feed: a device whose record or commands changed at At.
type Change struct {
	Serial string `json:"serial"`
	Kind   string `json:"kind"`
	// Fields are the record's fields that changed ("status", "lastCheckIn", "lostMode", ...),
	// and "commands" when one of its commands changed status; empty for added and removed.
	Fields []string  `json:"fields,omitempty"`
	At     time.Time `json:"at"`
}

// OnlyCheckIn reports whether nothing changed but the time of the last check-in: nobody waits
// for that alone.
func (c Change) OnlyCheckIn() bool {
	return c.Kind == ChangeUpdated && len(c.Fields) == 1 && c.Fields[0] == "lastCheckIn"
}

// ChangePage is one answer of GET /api/v1/changes.
type ChangePage struct {
	Changes []Change `json:"changes"`
	// Cursor resumes after the last change of this page (the same cursor when it has none).
	Cursor string `json:"cursor"`
	// More: changes after Cursor are already there; ask again at once.
	More bool `json:"more"`
}

// Feed is an API with a change feed; *Client is one.
type Feed interface {
	// Changes reads up to limit changes after cursor ("" is the oldest change the console keeps),
	// holding an empty answer up to wait for a change. A cursor the console no longer resumes
	// from answers an *ExpiredCursorError.
	Changes(ctx context.Context, cursor string, limit int, wait time.Duration) (ChangePage, error)
}

// SkipCheckIns, in a context given to Changes, asks the console to leave out the changes of
// lastCheckIn alone (skip=check-ins): a long poll then waits for a change somebody waits for.
func SkipCheckIns(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipKey{}, true)
}

type skipKey struct{}

var _ Feed = (*Client)(nil)

// ExpiredCursorError is the console's 410: the changes after the cursor are no longer kept (or
// the console restarted). The follower reads what it waits on once and follows from Oldest.
type ExpiredCursorError struct {
	*APIError
	Oldest string // the cursor of the oldest change the console keeps
}

func (e *ExpiredCursorError) Unwrap() error { return e.APIError }

// Changes implements Feed.
func (c *Client) Changes(ctx context.Context, cursor string, limit int, wait time.Duration) (ChangePage, error) {
	const op = "read the change feed"
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if skip, _ := ctx.Value(skipKey{}).(bool); skip {
		q.Set("skip", "check-ins")
	}
	u := c.base.String() + "/api/v1/changes"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return ChangePage{}, fmt.Errorf("console: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if secs := int((wait + time.Second - 1) / time.Second); secs > 0 {
		req.Header.Set("Prefer", "wait="+strconv.Itoa(secs))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return ChangePage{}, fmt.Errorf("console: %s: %s: %w", op, transportHint(ctx), c.scrubErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return ChangePage{}, fmt.Errorf("console: %s: read answer (HTTP %d): %w", op, resp.StatusCode, c.scrubErr(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseError(resp, data, c.now())
		e.Op = op
		e.Message = redact(e.Message, c.token)
		if resp.StatusCode == http.StatusGone && e.Code == CodeCursorExpired {
			var wire struct {
				Cursor string `json:"cursor"`
			}
			_ = json.Unmarshal(data, &wire)
			return ChangePage{}, &ExpiredCursorError{APIError: e, Oldest: wire.Cursor}
		}
		return ChangePage{}, e
	}
	var page ChangePage
	if err := json.Unmarshal(data, &page); err != nil || strings.TrimSpace(page.Cursor) == "" {
		if err == nil {
			err = errors.New("no cursor")
		}
		return ChangePage{}, fmt.Errorf("console: %s: the answer (HTTP %d) is not the console API's change page: %w; check the console base URL",
			op, resp.StatusCode, err)
	}
	return page, nil
}
