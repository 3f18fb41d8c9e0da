package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's configuration table names every variable the code reads, so a new setting cannot
// ship undocumented.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range Variables() {
		if !strings.Contains(readme, "| `"+v.Name+"` |") {
			t.Errorf("README.md's configuration table lacks %s", v.Name)
		}
	}
}
