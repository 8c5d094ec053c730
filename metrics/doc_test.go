package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocumented keeps docs/monitoring.md in step with the metrics: every vrrpd_*
// metric is in its table, and the table names no other.
func TestDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/monitoring.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(vrrpd_[a-z_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		documented = append(documented, m[1])
	}
	mfs, err := gathererOf(exporterOf(t, twoInstances)).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, mf := range mfs {
		if name := mf.GetName(); strings.HasPrefix(name, "vrrpd_") {
			exported = append(exported, name)
		}
	}
	if len(exported) < 30 {
		t.Fatalf("%d vrrpd_* metrics gathered: %v", len(exported), exported)
	}
	for _, name := range exported {
		if !slices.Contains(documented, name) {
			t.Errorf("docs/monitoring.md does not describe %s", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(exported, name) {
			t.Errorf("docs/monitoring.md describes %s, which vrrpd does not export", name)
		}
	}
}
