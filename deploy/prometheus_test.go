package deploy_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestPrometheusRules checks the alerting rules with Prometheus's own tool, runs their
// unit tests, and makes sure that every alert is tested firing and documented.
func TestPrometheusRules(t *testing.T) {
	promtool := netnstest.RequireCommand(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "vrrpd.rules.yml"},
		{"test", "rules", "vrrpd.rules.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	rules, tests, doc := read("prometheus/vrrpd.rules.yml"), read("prometheus/vrrpd.rules.test.yml"), read("../docs/monitoring.md")
	alerts := regexp.MustCompile(`(?m)^\s+- alert: (\w+)$`).FindAllStringSubmatch(rules, -1)
	if len(alerts) < 5 {
		t.Fatalf("%d alerts in vrrpd.rules.yml", len(alerts))
	}
	for _, a := range alerts {
		firing := regexp.MustCompile(`alertname: ` + a[1] + `\n\s+exp_alerts:\n\s+- exp_labels:`)
		if !firing.MatchString(tests) {
			t.Errorf("vrrpd.rules.test.yml never has %s fire", a[1])
		}
		if !strings.Contains(doc, "`"+a[1]+"`") {
			t.Errorf("docs/monitoring.md does not describe %s", a[1])
		}
	}
}
