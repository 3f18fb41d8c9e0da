package config

import (
	"strings"
	"testing"
	"time"
)

func TestDestructiveBudgetSettings(t *testing.T) {
	clearEnv(t)
	w, err := LoadWorker()
	if err != nil || w.Destructive.Budget != 50 || w.Destructive.BudgetWindow != 10*time.Minute {
		t.Fatalf("defaults: %+v, %v", w.Destructive, err)
	}
	t.Setenv("DESTRUCTIVE_BUDGET", "3")
	t.Setenv("DESTRUCTIVE_BUDGET_WINDOW", "1h30m")
	w, err = LoadWorker()
	if err != nil || w.Destructive.Budget != 3 || w.Destructive.BudgetWindow != 90*time.Minute {
		t.Fatalf("%+v, %v", w.Destructive, err)
	}
	if red := w.Redacted(); red["DESTRUCTIVE_BUDGET"] != "3" || red["DESTRUCTIVE_BUDGET_WINDOW"] != "1h30m0s" {
		t.Errorf("Redacted: %v", red)
	}
	for env, want := range map[string]string{
		"DESTRUCTIVE_BUDGET=0":          "DESTRUCTIVE_BUDGET must be greater than 0",
		"DESTRUCTIVE_BUDGET=-5":         "DESTRUCTIVE_BUDGET must be greater than 0",
		"DESTRUCTIVE_BUDGET_WINDOW=0s":  "DESTRUCTIVE_BUDGET_WINDOW must be greater than 0",
		"DESTRUCTIVE_BUDGET_WINDOW=ten": "DESTRUCTIVE_BUDGET_WINDOW",
	} {
		clearEnv(t)
		k, v, _ := strings.Cut(env, "=")
		t.Setenv(k, v)
		if _, err := LoadWorker(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one that says %q", env, err, want)
		}
	}
}
