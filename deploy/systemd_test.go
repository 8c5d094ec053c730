// Package deploy holds the files that install vrrpd on a machine; its tests check them
// with the tools that will read them.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/internal/netnstest"
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

// manPages builds the man pages with go-md2man into a directory laid out as man
// expects, and returns it, for MANPATH.
func manPages(t *testing.T) string {
	t.Helper()
	netnstest.RequireCommand(t, "go-md2man")
	dir := t.TempDir()
	for _, page := range []string{"vrrpd.8", "vrrpd.yaml.5"} {
		section := filepath.Join(dir, "man"+page[len(page)-1:])
		if err := os.MkdirAll(section, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("go-md2man", "-in", filepath.Join("..", "docs", "man", page+".md"), "-out", filepath.Join(section, page)).CombinedOutput()
		if err != nil {
			t.Fatalf("go-md2man %s: %v\n%s", page, err, out)
		}
	}
	return dir
}

// TestUnitVerifies: systemd-analyze finds nothing to say about the unit, and finds
// the man pages its Documentation= names.
func TestUnitVerifies(t *testing.T) {
	requireSystemdAnalyze(t)
	unit := unitWithBinary(t, buildVrrpd(t, t.TempDir()))
	cmd := exec.Command("systemd-analyze", "verify", unit)
	cmd.Env = append(os.Environ(), "MANPATH="+manPages(t))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "vrrpd.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitSettings: what the packages count on. The unit waits for a live file, names
// its man pages, and may give the control socket to socket_group.
func TestUnitSettings(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("systemd", "vrrpd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nConditionFileNotEmpty=/etc/vrrpd/vrrpd.yaml\n",
		"\nDocumentation=man:vrrpd(8) man:vrrpd.yaml(5)\n",
		"\nRuntimeDirectoryMode=0751\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the unit has no %q", strings.TrimSpace(want))
		}
	}
	if !regexp.MustCompile(`(?m)^CapabilityBoundingSet=.*\bCAP_CHOWN\b`).Match(b) {
		t.Error("the unit's CapabilityBoundingSet has no CAP_CHOWN: vrrpd cannot give the control socket to socket_group")
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

// TestSysusers applies the sysusers file to an empty root with systemd-sysusers: it
// creates the group of the control socket and vrrpd-script, the default script_user.
func TestSysusers(t *testing.T) {
	netnstest.RequireCommand(t, "systemd-sysusers")
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	file, err := filepath.Abs(filepath.Join("systemd", "vrrpd.sysusers"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemd-sysusers", "--root="+root, file).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	for _, want := range []struct{ file, entry string }{
		{"group", config.DefaultSocketGroup}, {"group", config.DefaultScriptUser}, {"passwd", config.DefaultScriptUser},
	} {
		b, err := os.ReadFile(filepath.Join(root, "etc", want.file))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want.entry) + `:`).Match(b) {
			t.Errorf("/etc/%s has no %s:\n%s", want.file, want.entry, b)
		}
	}
}
