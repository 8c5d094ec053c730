package deploy_test

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/internal/systemdtest"
)

// rtConfig asks for SCHED_RR at 10 and locked memory.
const rtConfig = `node: lb1
realtime_priority: 10
lock_memory: true
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 200
    advert_interval: 10ms
    vips: [192.0.2.100/24]
`

// threadPolicies returns the policy/priority of each thread of pid, from fields 41 and
// 40 of its threads' stat files: "2/10" is SCHED_RR at 10, "0/0" the default policy.
func threadPolicies(t *testing.T, pid int) map[string]int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue // the thread ended
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 41-3 {
			out[f[41-3]+"/"+f[40-3]]++
		}
	}
	return out
}

func lockedKB(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmLck:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// TestSystemdRealtime: under the shipped unit, realtime_priority is refused (the unit
// has RestrictRealtime=yes) and vrrpd runs on, saying so; with the drop-in of
// deploy/systemd/realtime.conf every thread is SCHED_RR and the memory locked.
func TestSystemdRealtime(t *testing.T) {
	systemdtest.Require(t)
	lan := netnstest.NewLAN(t)
	lb1 := lan.Node("lb1", "02:00:00:00:01:01", "192.0.2.1/24")
	m := systemdtest.Start(t, lb1)
	buildVrrpd(t, m.Dir) // inside("vrrpd") for the manager
	inside := func(name string) string { return path.Join(systemdtest.Root, name) }
	if err := os.WriteFile(filepath.Join(m.Dir, "vrrpd.yaml"), []byte(rtConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	m.InstallUnit("vrrpd.service", unitText(t, inside("vrrpd"), inside("vrrpd.yaml")))
	m.Systemctl("start", "vrrpd.service")
	pid := m.HostPID("vrrpd.service")
	netnstest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(m.Log(), "cannot set the real-time priority") },
		"vrrpd under the shipped unit does not say it could not set realtime_priority:\n%s", m.Log())
	if got := threadPolicies(t, pid); got["2/10"] > 0 {
		t.Errorf("under RestrictRealtime=yes, threads of vrrpd have SCHED_RR: %v", got)
	}
	if st := m.Show("vrrpd.service", "ActiveState")["ActiveState"]; st != "active" {
		t.Fatalf("vrrpd is %s after refusing realtime_priority:\n%s", st, m.Log())
	}

	dropIn, err := os.ReadFile(filepath.Join("systemd", "realtime.conf"))
	if err != nil {
		t.Fatal(err)
	}
	m.InstallUnit("vrrpd.service.d/realtime.conf", string(dropIn))
	m.Systemctl("restart", "vrrpd.service")
	pid = m.HostPID("vrrpd.service")
	netnstest.Eventually(t, 10*time.Second, func() bool {
		got := threadPolicies(t, pid)
		return len(got) == 1 && got["2/10"] > 0
	}, "with the drop-in, the threads of vrrpd are %v, want all SCHED_RR at 10:\n%s",
		lazy(func() string { return fmt.Sprint(threadPolicies(t, pid)) }), lazy(m.Log))
	if kb := lockedKB(t, pid); kb == "0 kB" || kb == "?" {
		t.Errorf("with the drop-in and lock_memory, VmLck is %s", kb)
	}
}
