package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestRunRefuses: run refuses what check refuses, with the same file:line:column, before
// it touches the machine, and refuses the command lines check does not take either.
func TestRunRefuses(t *testing.T) {
	netnstest.Require(t)
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    accept: false\n"+
		"    vips: [192.0.2.100/24]\n")
	ns := netnstest.NewNS(t, "cli")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"accept: false", []string{"run", "--config", bad}, 1, "bad.yaml:5:13: instances[web].accept: accept: false is not supported"},
		{"a file without --config", []string{"run", bad}, 2, "vrrpd run: unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ns.Exec(vrrpdBinary(t), tt.args...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tt.code {
				t.Fatalf("%q: %v, want exit %d:\n%s", tt.args, err, tt.code, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("%q: the output has no %q:\n%s", tt.args, tt.want, out)
			}
		})
	}
}
