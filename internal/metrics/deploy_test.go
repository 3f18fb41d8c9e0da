package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The alert rules and the dashboard in deploy/ name only the metrics and the labels the code
// emits, so neither can drift from it: a renamed metric or label fails here, not silently in
// production (an alert on a series that no longer exists never fires).

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRulesNameOnlyEmittedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v: want alert, expr, for, a severity and a summary", r)
			}
			alerts[r.Alert] = true
			if errs := checkExpr(r.Expr); len(errs) > 0 {
				t.Errorf("alert %s: %s", r.Alert, strings.Join(errs, "; "))
			}
		}
	}
	// The three.
	for _, want := range []string{"OffboardDeviceWaitingOnOperator", "OffboardFleetStalled", "OffboardApple429sRising"} {
		if !alerts[want] {
			t.Errorf("alerts.yml lacks %s", want)
		}
	}
}

func TestDashboardNamesOnlyEmittedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana/offboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("offboard.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Error("the dashboard needs a title and a uid")
	}
	used := map[string]bool{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, e := range checkExpr(q.Expr) {
				t.Errorf("panel %q: %s", p.Title, e)
			}
			for _, n := range identifiers.FindAllString(q.Expr, -1) {
				used[family(n)] = true
			}
		}
	}
	// Every metric of Offboard's has a panel.
	for _, m := range All() {
		if !used[m.Name] {
			t.Errorf("no panel shows %s", m.Name)
		}
	}
}

// A check that passes everything would make the two tests above worthless.
func TestCheckExprCatchesDrift(t *testing.T) {
	for _, expr := range []string{
		`sum(rate(offboard_devices_removed_total[5m]))`,          // no such metric
		`max by (serial) (offboard_devices_waiting)`,             // no such label
		`offboard_devices_finished_total{fleet="x"}`,             // no such label on it
		`histogram_quantile(0.9, offboard_step_duration_second)`, // no such series
		`frobnicate(offboard_devices_running)`,                   // no such function
		`rate(offboard_step_duration_seconds[5m])`,               // a histogram's family, no series
		`sum(rate(temporal_workflow_bogus_total[5m]))`,           // no SDK metric of ours
	} {
		if errs := checkExpr(expr); len(errs) == 0 {
			t.Errorf("checkExpr passed %s", expr)
		}
	}
	if errs := checkExpr(`histogram_quantile(0.9, sum by (le, step) (rate(offboard_step_duration_seconds_bucket{step=~"$step"}[$__rate_interval])))`); len(errs) > 0 {
		t.Errorf("a good expression: %v", errs)
	}
}

var (
	identifiers = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	ranges      = regexp.MustCompile(`\[[^\]]*\]`)
	selector    = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	grouping    = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	matcher     = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	durations   = regexp.MustCompile(`\b\d+(ms|s|m|h|d|w|y)\b`)
	numbers     = regexp.MustCompile(`\b\d+(\.\d+)?(e[+-]?\d+)?\b`)
)

// promQL are the functions and keywords the deploy files may use.
var promQL = []string{
	"sum", "max", "min", "avg", "count", "topk", "bottomk", "rate", "increase", "irate", "delta",
	"histogram_quantile", "min_over_time", "max_over_time", "avg_over_time", "vector", "scalar",
	"clamp_min", "clamp_max", "abs", "time", "timestamp", "absent", "label_replace",
	"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring", "group_left", "group_right",
	"inf", "nan",
}

// checkExpr lists what an expression names that the code does not emit: a metric, a label of a
// metric, a label to group by, or a function.
func checkExpr(expr string) []string {
	var errs []string
	series := Series()
	labelsOf := map[string][]string{}
	var allLabels []string
	for _, m := range slices.Concat(All(), SDK()) {
		switch {
		case m.Kind == Histogram && !slices.Contains(series, m.Name+"_count"):
			series = append(series, m.Name+"_bucket", m.Name+"_sum", m.Name+"_count")
		case m.Kind != Histogram && !slices.Contains(series, m.Name):
			series = append(series, m.Name)
		}
		ls := append(slices.Clone(m.Labels), SDKLabels...)
		for _, s := range []string{m.Name, m.Name + "_bucket", m.Name + "_sum", m.Name + "_count"} {
			labelsOf[s] = ls
		}
		labelsOf[m.Name+"_bucket"] = append(slices.Clone(ls), "le")
		allLabels = append(allLabels, ls...)
	}
	allLabels = append(allLabels, "le")
	e := quoted.ReplaceAllString(expr, `""`)
	e = strings.ReplaceAll(e, "$__rate_interval", "5m")
	e = ranges.ReplaceAllString(e, "")
	for _, m := range selector.FindAllStringSubmatch(e, -1) {
		for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(labelsOf[m[1]], l[1]) {
				errs = append(errs, "label "+l[1]+" of "+m[1]+": not emitted")
			}
		}
	}
	e = selector.ReplaceAllString(e, "$1")
	for _, g := range grouping.FindAllStringSubmatch(e, -1) {
		for _, l := range strings.Split(g[2], ",") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(allLabels, l) {
				errs = append(errs, g[1]+" "+l+": no metric has that label")
			}
		}
	}
	e = grouping.ReplaceAllString(e, "$1")
	e = durations.ReplaceAllString(e, "")
	e = numbers.ReplaceAllString(e, "")
	for _, id := range identifiers.FindAllString(e, -1) {
		if !slices.Contains(promQL, id) && !slices.Contains(series, id) {
			errs = append(errs, id+": neither a metric the code emits nor a function")
		}
	}
	if !slices.ContainsFunc(identifiers.FindAllString(e, -1), func(id string) bool { return slices.Contains(series, id) }) {
		errs = append(errs, "names no metric")
	}
	return errs
}

// family is a series' metric name: a histogram's _bucket, _sum and _count are its own.
func family(series string) string {
	for _, m := range All() {
		if m.Kind == Histogram && strings.HasPrefix(series, m.Name) {
			return m.Name
		}
	}
	return series
}
