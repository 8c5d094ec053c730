package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/chaos"
	"github.com/vrrpd/vrrpd/internal/daemons"
)

// chaos runs the chaos suite's plan on a cluster of each daemon, one after the other,
// with vrrpd as shipped, and records its totals in the rows of s.
func (b *benchRun) chaos(s scenario, cycles int, seed uint64) {
	for _, kind := range b.kinds {
		sum, err := runChaos(kind, cycles, seed)
		values := map[string]float64{
			"total client outage": sum.Outage,
			"longest client gap":  sum.LongestGap,
			"faults":              float64(sum.Faults),
			"invariant violations (not excused by a machine stall)": float64(sum.Violations),
		}
		for _, fig := range s.figures {
			r := b.table.row(s, chaosInterval, fig)
			if err != nil {
				r.Fail(kind)
				continue
			}
			r.Add(kind, values[fig.name])
		}
		if err != nil {
			b.t.Logf("chaos %s: FAILED: %v", kind, err)
			continue
		}
		b.t.Logf("chaos %s: %d cycles, %d faults, outage %.1f s, longest gap %.2f s, %d violations, %d excused, %d stalls of the machine",
			kind, sum.Cycles, sum.Faults, sum.Outage, sum.LongestGap, sum.Violations, sum.Excused, sum.Stalls)
	}
}

// chaosInterval is the advert interval of the chaos suite's cluster.
const chaosInterval = 100 * time.Millisecond

// runChaos runs the chaos suite (its own test binary, ./chaos/ of this module) on three
// nodes of kind and returns its summary. Violations do not fail it: they are figures.
func runChaos(kind daemons.Kind, cycles int, seed uint64) (chaos.Summary, error) {
	var sum chaos.Summary
	dir, err := os.MkdirTemp("", "bench-chaos")
	if err != nil {
		return sum, err
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs("..")
	if err != nil {
		return sum, err
	}
	file := filepath.Join(dir, "summary.json")
	nodes := strings.Repeat(string(kind)+",", 2) + string(kind)
	cmd := exec.Command("go", "test", "-count=1", "-timeout", fmt.Sprintf("%ds", cycles*12+600), "-run", "^TestChaos$", "./chaos/",
		"-args", fmt.Sprintf("-cycles=%d", cycles), fmt.Sprintf("-seed=%d", seed), "-nodes="+nodes, "-plain", "-summary="+file)
	cmd.Dir = root
	out, runErr := cmd.CombinedOutput()
	b, err := os.ReadFile(file)
	if err != nil {
		// No summary: the run itself failed, not one of its checks.
		return sum, fmt.Errorf("chaos suite: %v, %w\n%s", runErr, err, tail(out, 40))
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		return sum, fmt.Errorf("chaos summary: %w", err)
	}
	if sum.Cycles != cycles {
		return sum, fmt.Errorf("chaos suite ran %d of %d cycles\n%s", sum.Cycles, cycles, tail(out, 40))
	}
	return sum, nil
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
