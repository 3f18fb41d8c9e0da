package evidence

import (
	"fmt"
	"testing"
)

// The archive's cost as it grows: an append lists the directory and reads the newest file and
// the head; verify reads every file. go test ./internal/evidence -run '^$' -bench . -benchtime 200x
func BenchmarkAppendTo1000(b *testing.B) {
	a, s := archiveOf(b, 1000)
	b.ResetTimer()
	for i := range b.N {
		if _, _, _, err := a.Append(sample(fmt.Sprintf("NEW%d", i), fmt.Sprintf("new-%d", i)), s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify1000(b *testing.B) {
	a, s := archiveOf(b, 1000)
	keys := Keys(s.Public())
	b.ResetTimer()
	for range b.N {
		if rep, err := a.Verify(keys); err != nil || !rep.OK() {
			b.Fatal(rep, err)
		}
	}
}

func archiveOf(b *testing.B, n int) (*Archive, *Signer) {
	b.Helper()
	a, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	file := b.TempDir() + "/key.pem"
	if _, err := GenerateKey(file); err != nil {
		b.Fatal(err)
	}
	s, err := LoadSigner(file)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, _, _, err := a.Append(sample(fmt.Sprintf("SER%d", i), fmt.Sprintf("run-%d", i)), s); err != nil {
			b.Fatal(err)
		}
	}
	return a, s
}
