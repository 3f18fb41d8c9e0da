package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/internal/codec"
)

// keygen makes a file of its own mode, puts each new key first and keeps the old ones, refuses a
// duplicate ID, and prints no key.
func TestKeygenRotates(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	var out bytes.Buffer
	if err := keygen([]string{"-file", file, "-id", "old"}, &out); err != nil {
		t.Fatal(err)
	}
	if err := keygen([]string{"-file", file, "-id", "new"}, &out); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	keys, err := codec.LoadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if ids := keys.IDs(); len(ids) != 2 || ids[0] != "new" || ids[1] != "old" {
		t.Errorf("IDs %v, want [new old]", ids)
	}
	content, _ := os.ReadFile(file)
	for _, line := range strings.Split(strings.TrimSpace(string(content)), "\n") {
		if key := strings.Fields(line)[1]; strings.Contains(out.String(), key) {
			t.Error("keygen printed a key")
		}
	}
	if err := keygen([]string{"-file", file, "-id", "new"}, &out); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("duplicate ID: %v", err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, content) {
		t.Error("a refused keygen changed the file")
	}
}
