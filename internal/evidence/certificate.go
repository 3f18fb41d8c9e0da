package evidence

import (
	"crypto/ed25519"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/procedure"
)

// The certificate is one A4 page an auditor can print: the device's signed record rendered for a
// person, the vendor's labels in Japanese (verbatim, as on the vendor page) beside English, and
// whether the record verifies. It is a view of the record, never the evidence itself: the page
// says which file it renders and how to verify that file offline.

//go:embed certificate.html
var certificateHTML string

var certificateTemplate = template.Must(template.New("certificate").Funcs(template.FuncMap{
	"ts": func(v any) string {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"tshort": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		return t.UTC().Format("01-02 15:04:05")
	},
	"yesno": func(b bool) string {
		if b {
			return "はい / yes"
		}
		return "いいえ / no"
	},
	"join": strings.Join,
}).Parse(certificateHTML))

// ErrNotVerified: the certificate was rendered, marked as not verified, because its record's
// hash or signature does not hold (or no trusted key was given).
var ErrNotVerified = errors.New("the record does not verify: the certificate is marked INVALID")

// Bilingual is a label in Japanese and English.
type Bilingual struct{ JA, EN string }

// CertificateStep is one row of the certificate's step table.
type CertificateStep struct {
	Step
	Label Bilingual
}

// Certificate is what the page shows.
type Certificate struct {
	Record   Record
	File     string
	Envelope Envelope
	Steps    []CertificateStep
	Outcome  Bilingual
	Erase    Bilingual
	// Verified: the hash and the signature hold with a trusted key. Problem says why not.
	Verified bool
	Problem  string
	// KeyFingerprint is the signing key's full SHA-256 fingerprint when the key is trusted.
	KeyFingerprint string
	// Archive is what Verify found of the whole archive (nil: not checked), and ArchiveProblems
	// the problems that name this file or the head.
	Archive         *Result
	ArchiveProblems []string
	Rendered        time.Time
	// Extras are the approvals and Apple's Activation Lock status, read from the record's JSON
	// (extras.go); Reusability says whether the device can be set up again.
	Extras      extras
	Reusability string
}

// NewCertificate builds the certificate of one archive file. archive, when given, is the whole
// archive's verification, whose problems about this file (or the head) the page lists.
func NewCertificate(env Envelope, rec Record, file string, keys map[string]ed25519.PublicKey, archive *Result, now time.Time) Certificate {
	c := Certificate{Record: rec, File: file, Envelope: env, Archive: archive, Rendered: now.UTC(),
		Outcome: outcomeLabel(rec.Outcome), Erase: eraseLabel(rec.Wipe), Extras: readExtras(env.Record)}
	c.Reusability = c.Extras.Reusability()
	if err := CheckEnvelope(env, keys); err != nil {
		c.Problem = err.Error()
		if len(keys) == 0 {
			c.Problem = "no trusted public key was given: the signature was not checked"
		}
	} else {
		c.Verified = true
		c.KeyFingerprint = Fingerprint(keys[env.KeyID])
	}
	if archive != nil {
		for _, p := range archive.Problems {
			if p.File == file || p.File == HeadFile {
				c.ArchiveProblems = append(c.ArchiveProblems, p.String())
			}
		}
	}
	for _, s := range rec.Steps {
		c.Steps = append(c.Steps, CertificateStep{Step: s, Label: stepLabel(s)})
	}
	return c
}

// Render writes the page. A record that does not verify is rendered marked INVALID on every
// part of the page, and Render returns ErrNotVerified.
func (c Certificate) Render(w io.Writer) error {
	if err := certificateTemplate.Execute(w, c); err != nil {
		return fmt.Errorf("certificate of %s: %w", c.Record.Serial, err)
	}
	if !c.Verified {
		return fmt.Errorf("certificate of %s (%s): %w: %s", c.Record.Serial, c.File, ErrNotVerified, c.Problem)
	}
	return nil
}

// WriteCertificate renders the certificate of serial's newest record in the archive, checking
// the whole archive too (its problems about this record are on the page).
func (a *Archive) WriteCertificate(w io.Writer, serial string, keys map[string]ed25519.PublicKey, now time.Time) error {
	_, file, err := a.Latest(serial)
	if err != nil {
		return err
	}
	env, rec, err := a.Read(file)
	if err != nil {
		return err
	}
	rep, err := a.Verify(keys)
	if err != nil {
		return err
	}
	return NewCertificate(env, rec, file, keys, &rep, now).Render(w)
}

// stepLabel is the step's heading on the vendor page (Japanese, verbatim) and in English; for
// Offboard's own steps, which the page has no heading for, the Japanese says so.
func stepLabel(s Step) Bilingual {
	if in, ok := procedure.InstructionFor(procedure.StepID(s.ID), procedure.InstructionOptions{}); ok && in.Title.JA != "" {
		return Bilingual{JA: in.Title.JA, EN: in.Title.EN}
	}
	switch procedure.StepID(s.ID) {
	case procedure.AwaitGreyedOut:
		return Bilingual{JA: "該当のデバイスが取消線(グレーアウト)の状態になった", EN: s.Title}
	}
	return Bilingual{JA: "(Offboard の確認 / no vendor label)", EN: s.Title}
}

func outcomeLabel(outcome string) Bilingual {
	switch outcome {
	case "removed":
		return Bilingual{JA: "管理下から削除済み", EN: "removed from management"}
	case "cancelled":
		return Bilingual{JA: "中止", EN: "cancelled: the retirement did not finish"}
	case "rejected":
		return Bilingual{JA: "却下", EN: "rejected: nothing was changed"}
	}
	return Bilingual{JA: outcome, EN: outcome}
}

// eraseLabel names the erase with the vendor's label: デバイスを初期化 (2-2) or
// すべてのコンテンツと設定を消去 (2-1).
func eraseLabel(w *Wipe) Bilingual {
	switch {
	case w == nil || w.Method == "none":
		return Bilingual{JA: "初期化なし", EN: "not erased"}
	case w.State != "done":
		return Bilingual{JA: "初期化未完了", EN: "erase not done (" + w.State + ")"}
	case w.Method == "console-erase":
		return Bilingual{JA: "デバイスを初期化 (CLOMO PANEL, 2-2)", EN: "Erase device from the console (MDM EraseDevice)"}
	case w.Method == "user-settings":
		return Bilingual{JA: "すべてのコンテンツと設定を消去 (デバイス本体側, 2-1)", EN: "Erase All Content and Settings, by the user on the device"}
	}
	return Bilingual{JA: w.Method, EN: w.Method}
}
