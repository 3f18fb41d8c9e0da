package metrics

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// scrape reads the server's metrics until every want line prefix is there (tally hands what was
// recorded to the registry every reportEvery), or fails.
func scrape(t *testing.T, url string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
		text := string(b)
		var missing []string
		for _, w := range want {
			if !hasLine(text, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scrape lacks %q:\n%s", missing, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasLine(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestServerServesWhatTheHandlerRecords(t *testing.T) {
	s, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	h.WithTags(map[string]string{LabelPath: "keep/ade-restricted", LabelOutcome: "removed"}).Counter(DevicesFinished).Inc(2)
	h.WithTags(map[string]string{LabelStep: "abm-unassign", LabelState: "done"}).Timer(StepDuration).Record(90 * time.Second)
	h.WithTags(map[string]string{LabelParty: "vendor-support", LabelStep: "await-greyed-out"}).Gauge(DevicesWaiting).Update(3)
	// An SDK-style name gets the Prometheus suffixes from the naming scope.
	h.Counter("temporal_workflow_completed").Inc(1)

	text := scrape(t, s.URL(),
		`offboard_devices_finished_total{outcome="removed",path="keep/ade-restricted"} 2`,
		`offboard_step_duration_seconds_bucket{state="done",step="abm-unassign",le="60"} 0`,
		`offboard_step_duration_seconds_bucket{state="done",step="abm-unassign",le="300"} 1`,
		`offboard_step_duration_seconds_sum{state="done",step="abm-unassign"} 90`,
		`offboard_devices_waiting{party="vendor-support",step="await-greyed-out"} 3`,
		`temporal_workflow_completed_total 1`,
		`go_goroutines `,
	)
	if strings.Contains(text, "# TYPE offboard_step_duration_seconds summary") {
		t.Error("timers are summaries; want histograms")
	}
}

func TestServerRefusesABadAddress(t *testing.T) {
	if _, err := Start("127.0.0.1:http-ish", nil); err == nil {
		t.Fatal("Start accepted a port that is no number")
	}
}

// A metric registered twice with different labels is logged, never a panic in a workflow task.
func TestConflictingLabelsDoNotPanic(t *testing.T) {
	s, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Handler().WithTags(map[string]string{"a": "1"}).Counter("offboard_conflict_total").Inc(1)
	s.Handler().WithTags(map[string]string{"b": "1"}).Counter("offboard_conflict_total").Inc(1)
	scrape(t, s.URL(), `offboard_conflict_total{a="1"} 1`)
}
