package evidence

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemovedNewestRecordsAreDetected(t *testing.T) {
	a, s, names := chain(t, 4)
	if got := problems(t, a, s); got != "" {
		t.Fatalf("a whole archive has problems:\n%s", got)
	}
	_ = os.Remove(filepath.Join(a.Dir, names[3]))
	if got := problems(t, a, s); !strings.Contains(got, HeadFile+": the newest record 000004 ("+names[3]+") is missing: removed from the end") {
		t.Errorf("one removed from the tail:\n%s", got)
	}
	_ = os.Remove(filepath.Join(a.Dir, names[2]))
	if got := problems(t, a, s); !strings.Contains(got, HeadFile+": records 000003 to 000004 are missing: removed from the end") {
		t.Errorf("two removed from the tail:\n%s", got)
	}
}

func TestAnAppendAfterATailRemovalKeepsTheGap(t *testing.T) {
	// A worker writing after the tail was removed must not close the gap: it chains to the head.
	a, s, names := chain(t, 3)
	_ = os.Remove(filepath.Join(a.Dir, names[2]))
	_, name, _, err := a.Append(sample("LATER", "run-later"), s)
	if err != nil {
		t.Fatal(err)
	}
	if name != FileName(4, "LATER", "run-later") {
		t.Errorf("the next record is %s, want sequence 4 after the head's 3", name)
	}
	if got := problems(t, a, s); !strings.Contains(got, name+": chain gap: record 000003 is missing") {
		t.Errorf("the gap closed:\n%s", got)
	}
}

func TestTheHeadItselfIsChecked(t *testing.T) {
	a, s, _ := chain(t, 2)
	_ = os.Remove(filepath.Join(a.Dir, HeadFile))
	if got := problems(t, a, s); !strings.Contains(got, HeadFile+": missing") {
		t.Errorf("no head:\n%s", got)
	}
	// Removing the head and the newest record, then writing: the new head says it began late.
	entries, _ := a.Entries()
	_ = os.Remove(filepath.Join(a.Dir, entries[1].Name))
	if _, _, _, err := a.Append(sample("AFTER", "run-after"), s); err != nil {
		t.Fatal(err)
	}
	if got := problems(t, a, s); !strings.Contains(got, HeadFile+": the head began at record 000002") {
		t.Errorf("a head begun after the old one went:\n%s", got)
	}

	a2, s2, _ := chain(t, 2)
	head2 := filepath.Join(a2.Dir, HeadFile)
	orig, _ := os.ReadFile(head2)
	rewrite(t, head2, func(b []byte) []byte { return []byte(strings.Replace(string(b), `"seq":2`, `"seq":1`, 1)) })
	got := problems(t, a2, s2)
	if !strings.Contains(got, HeadFile+": signature does not verify") || !strings.Contains(got, "a writer stopped before updating the head, or an older head was put back") {
		t.Errorf("edited head:\n%s", got)
	}
	rewrite(t, head2, func([]byte) []byte { return orig })
	if got := problems(t, a2, s2); got != "" {
		t.Errorf("restored head:\n%s", got)
	}
	// Another key's head is not trusted.
	if rep, _ := a2.Verify(Keys(testSigner(t).Public())); !strings.Contains(strings.Join(problemStrings(rep), "\n"), HeadFile+": signed by key") {
		t.Errorf("%v", problemStrings(rep))
	}
}

func TestARetryRepairsAHeadLeftBehind(t *testing.T) {
	// A worker that died between the record and its head leaves the head one behind; Verify
	// names it, and the activity's retry (the same record) brings the head up.
	a, s := newArchive(t), testSigner(t)
	if _, _, _, err := a.Append(sample("SER0", "run-0"), s); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(a.Dir, HeadFile))
	rec := sample("SER1", "run-1")
	if _, _, _, err := a.Append(rec, s); err != nil {
		t.Fatal(err)
	}
	rewrite(t, filepath.Join(a.Dir, HeadFile), func([]byte) []byte { return before })
	if got := problems(t, a, s); !strings.Contains(got, "the head names record 000001 but the archive goes on to 000002") {
		t.Errorf("head behind:\n%s", got)
	}
	if _, _, existed, err := a.Append(rec, s); err != nil || !existed {
		t.Fatal(err, existed)
	}
	if got := problems(t, a, s); got != "" {
		t.Errorf("after the retry:\n%s", got)
	}
}

func TestAnAnchorCatchesAnOlderHeadPutBack(t *testing.T) {
	// The residual risk of the head: the newest records removed and a copy of an older head (validly
	// signed) put back. Verify cannot see it; the anchor noted after the last verify does.
	a, s, names := chain(t, 2)
	oldHead, _ := os.ReadFile(filepath.Join(a.Dir, HeadFile))
	if _, _, _, err := a.Append(sample("SER2", "run-2"), s); err != nil {
		t.Fatal(err)
	}
	rep, _ := a.Verify(Keys(s.Public()))
	if !rep.OK() || rep.Head == nil || rep.Head.Seq != 3 {
		t.Fatalf("%+v", rep)
	}
	anchor := rep.Head.Anchor()
	if probs, err := a.CheckAnchor(anchor); err != nil || len(probs) != 0 {
		t.Fatalf("the anchor of an untouched archive: %v %v", probs, err)
	}
	entries, _ := a.Entries()
	_ = os.Remove(filepath.Join(a.Dir, entries[2].Name))
	rewrite(t, filepath.Join(a.Dir, HeadFile), func([]byte) []byte { return oldHead })
	if got := problems(t, a, s); got != "" {
		t.Fatalf("the rollback was expected to pass Verify alone (the documented residual risk), got:\n%s", got)
	}
	probs, err := a.CheckAnchor(anchor)
	if err != nil || len(probs) != 1 || !strings.Contains(probs[0].What, "the archive ends at 000002, before the anchor's record 000003") {
		t.Errorf("%v %v", probs, err)
	}
	if _, err := a.CheckAnchor("3:abc"); err == nil {
		t.Error("a malformed anchor was taken")
	}
	// A record edited under an anchor noted when it was the newest.
	env, _, _ := a.Read(names[1])
	anchor2 := "2:" + env.Hash()
	if probs, _ := a.CheckAnchor(anchor2); len(probs) != 0 {
		t.Fatalf("%v", probs)
	}
	rewrite(t, filepath.Join(a.Dir, names[1]), func(b []byte) []byte { return []byte(strings.Replace(string(b), "aiko", "eiko", 1)) })
	if probs, _ := a.CheckAnchor(anchor2); len(probs) != 1 || !strings.Contains(probs[0].What, "replaced since the anchor") {
		t.Errorf("%v", probs)
	}
}

func problemStrings(rep Result) []string {
	var out []string
	for _, p := range rep.Problems {
		out = append(out, p.String())
	}
	return out
}
