// Package deploy holds the files that install vrrpd on a machine; its tests check them
// with the tools that will read them.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildVrrpd builds the binary the unit starts into dir, as shipped (no race
// detector): systemd-analyze checks that ExecStart names an executable, and the
// systemd tests time its restarts.
func buildVrrpd(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "vrrpd")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/vrrpd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func requireSystemdAnalyze(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing")
		}
		t.Skip("systemd-analyze is missing")
	}
}

// unitText returns the unit with ExecStart and friends running bin with the
// configuration file cfg.
func unitText(t *testing.T, bin, cfg string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("systemd", "vrrpd.service"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("/usr/sbin/vrrpd", bin, "/etc/vrrpd/vrrpd.yaml", cfg).Replace(string(b))
}

// unitWithBinary writes the unit with ExecStart and friends pointing at bin.
func unitWithBinary(t *testing.T, bin string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vrrpd.service")
	if err := os.WriteFile(path, []byte(unitText(t, bin, "/etc/vrrpd/vrrpd.yaml")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnitVerifies(t *testing.T) {
	requireSystemdAnalyze(t)
	unit := unitWithBinary(t, buildVrrpd(t, t.TempDir()))
	out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || strings.Contains(string(out), "vrrpd.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitSecurity keeps the unit's exposure score at 3.0 or below ("OK" in
// systemd-analyze's words): a daemon with CAP_NET_ADMIN must not hold more.
func TestUnitSecurity(t *testing.T) {
	requireSystemdAnalyze(t)
	unit := unitWithBinary(t, buildVrrpd(t, t.TempDir()))
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--threshold=30", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Overall exposure level for vrrpd.service") {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	for _, want := range []string{"NoNewPrivileges=", "ProtectSystem=", "ProtectHome=", "PrivateTmp="} {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, want) && strings.Contains(line, "✗") {
				t.Errorf("hardening missing: %s", strings.TrimSpace(line))
			}
		}
	}
}

func TestSysusers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("systemd", "vrrpd.sysusers"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "u vrrpd-script ") {
		t.Fatal("sysusers does not create vrrpd-script, the default script_user")
	}
}
