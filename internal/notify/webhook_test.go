package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func sampleMessage() Message {
	return Message{
		Serial:   "F2LXK0A1HG7J",
		Step:     "user-remove-mdm-profile",
		Audience: AudienceUser,
		Subject:  "MDMプロファイルを削除してください / Please remove the MDM profile",
		TextJA:   "設定 > 一般 > VPN とデバイス管理 > CLOMO - MDM > 削除 をタップしてください。",
		TextEN:   "Tap Settings > General > VPN & Device Management > CLOMO - MDM > Remove.",
		Contact:  "taro.yamada@example.com",
		Fields:   map[string]string{"deadline": "2026-12-01", "ticket": "HR-42"},
	}
}

func TestWebhookBody(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("request %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	m := sampleMessage()
	if err := NewWebhook(srv.URL+"/services/T000/B000/XXXX", nil).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"text":     m.Subject + "\n" + m.TextJA + "\n" + m.TextEN,
		"serial":   m.Serial,
		"step":     m.Step,
		"audience": "user",
		"subject":  m.Subject,
		"textJA":   m.TextJA,
		"textEN":   m.TextEN,
		"contact":  m.Contact,
		"fields":   map[string]any{"deadline": "2026-12-01", "ticket": "HR-42"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("body =\n%v\nwant\n%v", got, want)
	}
}

func TestWebhookFailures(t *testing.T) {
	for _, tc := range []struct {
		status    int
		temporary bool
	}{
		{400, false}, {403, false}, {404, false}, {429, true}, {500, true}, {503, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, "no_service")
		}))
		err := NewWebhook(srv.URL+"/hook/secret-path-token", srv.Client()).Notify(context.Background(), sampleMessage())
		srv.Close()
		var de *DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("%d: error %v is not a *DeliveryError", tc.status, err)
		}
		if de.Status != tc.status || de.Temporary() != tc.temporary || IsTemporary(err) != tc.temporary {
			t.Errorf("%d: status %d temporary %t, want temporary %t", tc.status, de.Status, de.Temporary(), tc.temporary)
		}
		if !strings.Contains(err.Error(), "F2LXK0A1HG7J") || !strings.Contains(err.Error(), "no_service") {
			t.Errorf("%d: error %q should name the device and quote the answer", tc.status, err)
		}
		if strings.Contains(err.Error(), "secret-path-token") {
			t.Errorf("%d: error leaks the webhook URL: %q", tc.status, err)
		}
	}
}

func TestWebhookUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook/secret-path-token"
	srv.Close()
	n := NewWebhook(url, nil)
	err := n.Notify(context.Background(), sampleMessage())
	if !IsTemporary(err) {
		t.Errorf("no answer should be temporary: %v", err)
	}
	if strings.Contains(err.Error(), "secret-path-token") || strings.Contains(fmt.Sprintf("%v %#v", n, n), "secret-path-token") {
		t.Errorf("the webhook URL leaks: %v / %v", err, n)
	}
	if err := NewWebhook("not a url", nil).Notify(context.Background(), sampleMessage()); err == nil || IsTemporary(err) {
		t.Errorf("bad URL: %v, want a permanent error", err)
	}
}
