package evidence

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func certificateOf(t *testing.T, a *Archive, serial string, s *Signer) (string, error) {
	t.Helper()
	var b bytes.Buffer
	err := a.WriteCertificate(&b, serial, Keys(s.Public()), time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC))
	return b.String(), err
}

func TestCertificateShowsTheRecordInBothLanguages(t *testing.T) {
	a, s := newArchive(t), testSigner(t)
	rec := sample("F2LXK0A1HG7J", "run-1")
	rec.Steps = append(rec.Steps, Step{ID: "delete-greyed-out-record", Section: "4-2", State: "done", Attempts: 1},
		Step{ID: "abm-unassign", Section: "5", State: "done", Attempts: 1})
	rec.Wipe.State, rec.Wipe.RemoveESIM = "done", true
	if _, _, _, err := a.Append(rec, s); err != nil {
		t.Fatal(err)
	}
	page, err := certificateOf(t, a, "F2LXK0A1HG7J", s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"F2LXK0A1HG7J", "dep-wipe", // the serial and the path
		"console-wipe", "delete-greyed-out-record", "abm-unassign", // each step
		// The vendor's labels, verbatim in Japanese (procedure.md), with English beside them.
		"CLOMO PANEL から [ デバイスの初期化 ] コマンドを実行する", "Erase the device from CLOMO PANEL",
		"取消線(グレーアウト)表示のデバイス情報を削除する", "Delete the greyed-out (取消線) device record",
		"ADE の割り当てを解除する", "現在のMDMから割り当てを解除", "eSIMを削除", "MDMへの再登録", "Return to Service",
		"デバイスを初期化", "Erase device from the console",
		"c-1", "offboard-F2LXK0A1HG7J/console-wipe/1", // the console's command and its key
		"aiko", "saw it", // a person's report
		EraseReference, "cryptographic",
		"SIGNATURE VERIFIED", Fingerprint(s.Public()), s.KeyID(), // the key's fingerprint and the status
		`size: A4`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the certificate lacks %q", want)
		}
	}
	if strings.Contains(page, "INVALID") || strings.Contains(page, "NOT VERIFIED") {
		t.Error("a verified record's certificate is marked invalid")
	}
}

func TestCertificateOfARecordThatFailsIsMarkedInvalid(t *testing.T) {
	a, s, names := chain(t, 2)
	rewrite(t, filepath.Join(a.Dir, names[1]), func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `"outcome":"removed"`, `"outcome":"rejected"`, 1))
	})
	page, err := certificateOf(t, a, "SER1", s)
	if !errors.Is(err, ErrNotVerified) {
		t.Fatalf("an edited record's certificate: %v", err)
	}
	for _, want := range []string{"NOT VERIFIED", "THIS IS NOT A VALID CERTIFICATE", "INVALID 無効", "hash mismatch"} {
		if !strings.Contains(page, want) {
			t.Errorf("the invalid certificate lacks %q", want)
		}
	}
	if strings.Contains(page, "SIGNATURE VERIFIED") {
		t.Error("an edited record is shown verified")
	}
	// Signed by a key that is not trusted: not verified either.
	var b bytes.Buffer
	if err := a.WriteCertificate(&b, "SER0", Keys(testSigner(t).Public()), time.Now()); !errors.Is(err, ErrNotVerified) || !strings.Contains(b.String(), "not one of the trusted keys") {
		t.Errorf("untrusted key: %v", err)
	}
	// No key at all: not verified, and the page says the signature was not checked.
	b.Reset()
	if err := a.WriteCertificate(&b, "SER0", nil, time.Now()); !errors.Is(err, ErrNotVerified) || !strings.Contains(b.String(), "signature was not checked") {
		t.Errorf("no key: %v", err)
	}
	// A record that verifies in an archive with problems lists the problems that name it.
	_ = os.Remove(filepath.Join(a.Dir, HeadFile))
	page, err = certificateOf(t, a, "SER0", s)
	if err != nil || !strings.Contains(page, "SIGNATURE VERIFIED") || !strings.Contains(page, HeadFile+": missing") {
		t.Errorf("%v", err)
	}
}
