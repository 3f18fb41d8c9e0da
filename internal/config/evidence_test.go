package config

import "testing"

func TestEvidenceSettings(t *testing.T) {
	clearEnv(t)
	w, err := LoadWorker()
	if err != nil || w.Evidence.Dir != ".offboard/evidence" || w.Evidence.SigningKeyFile != "" {
		t.Fatalf("defaults: %+v, %v", w.Evidence, err)
	}
	t.Setenv("EVIDENCE_DIR", "/var/lib/offboard/evidence")
	t.Setenv("EVIDENCE_SIGNING_KEY_FILE", "/run/secrets/evidence.pem")
	w, err = LoadWorker()
	if err != nil || w.Evidence.Dir != "/var/lib/offboard/evidence" || w.Evidence.SigningKeyFile != "/run/secrets/evidence.pem" {
		t.Fatalf("%+v, %v", w.Evidence, err)
	}
	if red := w.Redacted(); red["EVIDENCE_DIR"] != "/var/lib/offboard/evidence" || red["EVIDENCE_SIGNING_KEY_FILE"] != "/run/secrets/evidence.pem" {
		t.Errorf("Redacted: %v", red)
	}
	t.Setenv("EVIDENCE_DIR", " ")
	if _, err := LoadWorker(); err == nil {
		t.Error("an empty EVIDENCE_DIR was accepted")
	}
}
