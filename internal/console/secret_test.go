package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenNeverPrinted formats the configuration, the client and every error the client can be
// made to return, including a console that echoes the Authorization header back.
func TestTokenNeverPrinted(t *testing.T) {
	cfg := Config{BaseURL: "http://127.0.0.1:1", Token: testToken}
	var texts []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		texts = append(texts, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, &cfg))
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, string(js))

	echo := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, fmt.Sprintf(`{"error":{"code":"unauthorized","message":"bad header %q"}}`, r.Header.Get("Authorization")))
	})
	texts = append(texts, fmt.Sprint(echo), fmt.Sprintf("%+v", echo))
	ctx := context.Background()
	_, err = echo.Device(ctx, "S1")
	texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	_, err = echo.SendCommand(ctx, "S1", "k", CommandRequest{Type: CmdDeleteDevice})
	texts = append(texts, err.Error())
	_, err = echo.Command(ctx, "S1", "c-1")
	texts = append(texts, err.Error())

	closed, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = closed.Device(ctx, "S1")
	texts = append(texts, err.Error(), fmt.Sprint(closed))

	for _, text := range texts {
		if strings.Contains(text, testToken) {
			t.Errorf("the token leaks: %s", text)
		}
	}
	if !strings.Contains(texts[len(texts)-1], "127.0.0.1") {
		t.Errorf("the client's String should still name the endpoint: %s", texts[len(texts)-1])
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  "+testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadToken(file, "from-env"); err != nil || got != testToken {
		t.Errorf("file preferred: got %q, %v", got, err)
	}
	if got, err := LoadToken("", " from-env\n"); err != nil || got != "from-env" {
		t.Errorf("env: got %q, %v", got, err)
	}
	if _, err := LoadToken("", ""); err == nil || !strings.Contains(err.Error(), "CONSOLE_TOKEN_FILE") {
		t.Errorf("neither: %v", err)
	}

	missing := filepath.Join(dir, "missing")
	if _, err := LoadToken(missing, testToken); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file should fail and name the path, not fall back: %v", err)
	} else if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}

	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := LoadToken(empty, ""); err == nil {
		t.Error("empty file: no error")
	}

	twoLines := filepath.Join(dir, "two")
	os.WriteFile(twoLines, []byte(testToken+"\nsecond-line-secret\n"), 0o600)
	if _, err := LoadToken(twoLines, ""); err == nil {
		t.Error("two lines: no error")
	} else if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "second-line-secret") {
		t.Errorf("error leaks the file's content: %v", err)
	}
}
