package control

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEngine: a client of the control socket links none of the engine.
func TestNoEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/vrrpd/vrrpd/control").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		rest, ours := strings.CutPrefix(dep, "github.com/vrrpd/vrrpd/")
		if ours && rest != "control" {
			t.Errorf("control imports %s", dep)
		}
	}
}
