package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestChangesReadsAPageAfterTheCursor(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requireAuth(t, r)
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/changes" {
			t.Errorf("request = %s %s", r.Method, r.URL.Path)
		}
		if got := r.URL.Query().Get("cursor"); got != "e1.41" {
			t.Errorf("cursor = %q", got)
		}
		if got := r.URL.Query().Get("limit"); got != "100" {
			t.Errorf("limit = %q", got)
		}
		if got := r.Header.Get("Prefer"); got != "wait=20" {
			t.Errorf("Prefer = %q, want wait=20", got)
		}
		writeJSON(w, 200, `{"changes":[{"serial":"A1","kind":"updated","fields":["status","lastCheckIn"],"at":"2026-11-24T03:00:00Z"},
			{"serial":"A2","kind":"updated","fields":["lastCheckIn"],"at":"2026-11-24T03:01:00Z"}],"cursor":"e1.43","more":true}`)
	})
	page, err := c.Changes(context.Background(), "e1.41", 100, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) != 2 || page.Cursor != "e1.43" || !page.More {
		t.Fatalf("page = %+v", page)
	}
	if page.Changes[0].OnlyCheckIn() || !page.Changes[1].OnlyCheckIn() {
		t.Errorf("OnlyCheckIn: %v %v, want false (status changed) and true", page.Changes[0].OnlyCheckIn(), page.Changes[1].OnlyCheckIn())
	}
}

func TestChangesWithoutCursorOrWaitSendsNeither(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" || r.Header.Get("Prefer") != "" {
			t.Errorf("query %q, Prefer %q: want neither", r.URL.RawQuery, r.Header.Get("Prefer"))
		}
		writeJSON(w, 200, `{"changes":[],"cursor":"e1.0","more":false}`)
	})
	if page, err := c.Changes(context.Background(), "", 0, 0); err != nil || page.Cursor != "e1.0" {
		t.Fatalf("page %+v, err %v", page, err)
	}
}

func TestChangesExpiredCursorSaysWhereToResume(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 410, `{"error":{"code":"cursor-expired","message":"no longer kept"},"cursor":"e2.17"}`)
	})
	_, err := c.Changes(context.Background(), "e1.3", 0, 0)
	var gone *ExpiredCursorError
	if !errors.As(err, &gone) || gone.Oldest != "e2.17" || CodeOf(err) != CodeCursorExpired {
		t.Fatalf("err = %v, want an ExpiredCursorError resuming at e2.17", err)
	}
	var api *APIError
	if !errors.As(err, &api) || api.Temporary() {
		t.Errorf("a 410 is an APIError that is not temporary: %v", err)
	}
}

func TestChangesErrorsAreClassifiedAndNeverShowTheToken(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		code      string
		temporary bool
	}{
		{429, `{"error":{"code":"rate-limited","message":"slow down"}}`, CodeRateLimited, true},
		{401, `{"error":{"code":"unauthorized","message":"bad token ` + testToken + `"}}`, CodeUnauthorized, false},
		{503, `<html>down</html>`, CodeUnavailable, true},
	} {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3")
			writeJSON(w, tc.status, tc.body)
		})
		_, err := c.Changes(context.Background(), "", 0, 0)
		var api *APIError
		if !errors.As(err, &api) || api.Code != tc.code || api.Temporary() != tc.temporary {
			t.Errorf("HTTP %d: err %v, want code %s temporary %v", tc.status, err, tc.code, tc.temporary)
			continue
		}
		if tc.status == 429 && api.RetryAfter != 3*time.Second {
			t.Errorf("429: RetryAfter %s, want 3s", api.RetryAfter)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("HTTP %d: the error shows the token: %v", tc.status, err)
		}
	}
}

func TestChangesRefusesAnAnswerThatIsNotAPage(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"serial":"X"}`) })
	if _, err := c.Changes(context.Background(), "", 0, 0); err == nil || !strings.Contains(err.Error(), "check the console base URL") {
		t.Errorf("err = %v, want a hint at the base URL", err)
	}
}
