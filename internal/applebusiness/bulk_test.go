package applebusiness

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// pagedDevices answers like Apple's "Get the Device Serial Numbers for a Device Management
// Service": pages of limit serials, the next one named by meta.paging.nextCursor and links.next.
// Apple's own example names a host that is not the API's in its links; so does this one.
func pagedDevices(serials []string, cursorInMeta bool) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 100
		if v := q.Get("limit"); v != "" {
			fmt.Sscan(v, &limit)
		}
		start := 0
		if c := q.Get("cursor"); c != "" {
			if _, err := fmt.Sscanf(c, "page-%d", &start); err != nil {
				appleError(w, 400, "PARAMETER_ERROR.INVALID", "bad cursor", c)
				return
			}
		}
		end := min(start+limit, len(serials))
		var data []string
		for _, s := range serials[start:end] {
			data = append(data, fmt.Sprintf(`{"type":"orgDevices","id":%q}`, s))
		}
		links := `"self":"https://api-business.apple/v1/mdmServers/X/relationships/devices"`
		paging := fmt.Sprintf(`"total":%d,"limit":%d`, len(serials), limit)
		if end < len(serials) {
			links += fmt.Sprintf(`,"next":"https://api-business.apple/v1/mdmServers/X/relationships/devices?cursor=page-%d"`, end)
			if cursorInMeta {
				paging += fmt.Sprintf(`,"nextCursor":"page-%d"`, end)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":[%s],"links":{%s},"meta":{"paging":{%s}}}`, strings.Join(data, ","), links, paging)
	}
}

func serialsN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SER%05d", i)
	}
	return out
}

func TestAssignedDevicesReadsEveryPage(t *testing.T) {
	for _, cursorInMeta := range []bool{true, false} {
		c, fake := newTestClient(t)
		want := serialsN(2345)
		fake.devicePages = pagedDevices(want, cursorInMeta)
		got, err := c.AssignedDevices(context.Background(), "")
		if err != nil {
			t.Fatalf("cursor in meta %t: %v", cursorInMeta, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("cursor in meta %t: %d serials, want %d in order", cursorInMeta, len(got), len(want))
		}
		// Three GETs of 1000 to our API (not the host the links name), the server of the config.
		wantQueries := []string{testServerID + "?limit=1000", testServerID + "?cursor=page-1000&limit=1000", testServerID + "?cursor=page-2000&limit=1000"}
		if !slices.Equal(fake.pageQueries, wantQueries) {
			t.Errorf("cursor in meta %t: requests %q, want %q", cursorInMeta, fake.pageQueries, wantQueries)
		}
	}
}

func TestAssignedDevicesPage(t *testing.T) {
	c, fake := newTestClient(t)
	fake.devicePages = pagedDevices(serialsN(250), true)
	ctx := context.Background()
	page, err := c.AssignedDevicesPage(ctx, "OTHER-SERVER", "", 100)
	if err != nil || len(page.Serials) != 100 || page.NextCursor != "page-100" || page.Total != 250 {
		t.Fatalf("first page: %d serials, next %q, total %d, %v", len(page.Serials), page.NextCursor, page.Total, err)
	}
	page, err = c.AssignedDevicesPage(ctx, "OTHER-SERVER", "page-200", 100)
	if err != nil || len(page.Serials) != 50 || page.NextCursor != "" || page.Serials[0] != "SER00200" {
		t.Fatalf("last page: %+v %v", page, err)
	}
	if _, err := c.AssignedDevicesPage(ctx, "OTHER-SERVER", "", 5000); err != nil || fake.pageQueries[2] != "OTHER-SERVER?limit=1000" {
		t.Errorf("a limit over Apple's maximum: %q %v, want limit=1000", fake.pageQueries[2], err)
	}
}

func TestAssignedDevicesStopsOnARepeatedCursor(t *testing.T) {
	c, fake := newTestClient(t)
	fake.devicePages = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		next := "A"
		if r.URL.Query().Get("cursor") == "A" {
			next = "B"
		}
		if r.URL.Query().Get("cursor") == "B" {
			next = "A"
		}
		fmt.Fprintf(w, `{"data":[{"type":"orgDevices","id":"S1"}],"links":{},"meta":{"paging":{"limit":1000,"nextCursor":%q}}}`, next)
	}
	if _, err := c.AssignedDevices(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "cursor") {
		t.Errorf("a server that pages forever: %v, want an error", err)
	}
	if n := len(fake.pageQueries); n != 3 {
		t.Errorf("%d requests, want 3 (first, A, B) before the loop is seen", n)
	}
}

func TestAssignedDevicesRefusesAnotherResourceType(t *testing.T) {
	c, fake := newTestClient(t)
	fake.devicePages = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"type":"mdmServers","id":"X"}],"links":{},"meta":{"paging":{"limit":1000}}}`)
	}
	if _, err := c.AssignedDevices(context.Background(), ""); err == nil {
		t.Error("an mdmServers item taken for a serial")
	}
}

// A 429 in the middle of the pages ends the call at once, with Apple's Retry-After for the
// caller to wait out: the client neither sleeps nor sends the page again.
func TestAssignedDevicesRateLimited(t *testing.T) {
	c, fake := newTestClient(t)
	serve := pagedDevices(serialsN(2500), true)
	fake.devicePages = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cursor") == "page-1000" {
			w.Header().Set("Retry-After", "7")
			appleError(w, 429, "RATE_LIMIT_EXCEEDED", "Too Many Requests", "20 GET requests a minute")
			return
		}
		serve(w, r)
	}
	serials, err := c.AssignedDevices(context.Background(), "")
	if serials != nil || !IsRateLimited(err) {
		t.Fatalf("got %d serials, %v; want none and a 429", len(serials), err)
	}
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("RetryAfter = %s %t, want 7s", d, ok)
	}
	if len(fake.pageQueries) != 2 {
		t.Errorf("%d requests, want 2: the client must not retry a 429 itself", len(fake.pageQueries))
	}
	if !strings.Contains(err.Error(), "MDM server "+testServerID) {
		t.Errorf("the error does not say what was being done: %v", err)
	}
}

func TestRetryAfterHelper(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	cases := []struct {
		name   string
		err    error
		want   time.Duration
		ok, rl bool
	}{
		{name: "429 with seconds", err: &APIError{Status: 429, RetryAfter: 3 * time.Second}, want: 3 * time.Second, ok: true, rl: true},
		{name: "429 without a header", err: &APIError{Status: 429}, rl: true},
		{name: "503 with a delay", err: &APIError{Status: 503, RetryAfter: time.Minute}, want: time.Minute, ok: true},
		{name: "wrapped", err: fmt.Errorf("activity: %w", &APIError{Status: 429, RetryAfter: time.Second}), want: time.Second, ok: true, rl: true},
		{name: "404", err: &APIError{Status: 404}},
		{name: "not Apple's", err: errors.New("connection refused")},
		{name: "nil", err: nil},
	}
	for _, tc := range cases {
		d, ok := RetryAfter(tc.err)
		if d != tc.want || ok != tc.ok || IsRateLimited(tc.err) != tc.rl {
			t.Errorf("%s: RetryAfter %s %t, IsRateLimited %t; want %s %t %t", tc.name, d, ok, IsRateLimited(tc.err), tc.want, tc.ok, tc.rl)
		}
	}
	// Parsed from a real answer: an HTTP date is a delay from the client's clock.
	key := newKey(t, elliptic.P256())
	fake := newFakeApple(t, &key.PublicKey, func() time.Time { return now })
	fake.devicePages = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
		appleError(w, 429, "RATE_LIMIT_EXCEEDED", "Too Many Requests", "")
	}
	c, _ := New(fake.config(key))
	_, err := c.AssignedDevicesPage(context.Background(), "", "", 0)
	if d, ok := RetryAfter(err); !ok || d != 90*time.Second {
		t.Errorf("HTTP-date Retry-After: %s %t, want 1m30s", d, ok)
	}
}

func TestUnassignDevicesRefusesMoreThanAnActivityTakes(t *testing.T) {
	c, fake := newTestClient(t)
	if _, err := c.UnassignDevices(context.Background(), serialsN(MaxActivityDevices+1)); err == nil {
		t.Errorf("%d devices in one activity: no error", MaxActivityDevices+1)
	}
	if _, api := fake.counts(); api != 0 {
		t.Errorf("%d API requests: a refused POST still spends Apple's budget", api)
	}
	if _, err := c.UnassignDevices(context.Background(), serialsN(MaxActivityDevices)); err != nil {
		t.Errorf("%d devices: %v", MaxActivityDevices, err)
	}
}
