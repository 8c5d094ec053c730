package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// unitCapabilities returns the capabilities the systemd unit leaves vrrpd
// (CapabilityBoundingSet=), as setpriv names them: net_admin, net_raw, ...
func unitCapabilities(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "systemd", "vrrpd.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if set, ok := strings.CutPrefix(sc.Text(), "CapabilityBoundingSet="); ok {
			var caps []string
			for _, c := range strings.Fields(set) {
				caps = append(caps, strings.ToLower(strings.TrimPrefix(c, "CAP_")))
			}
			return caps
		}
	}
	t.Fatal("the unit has no CapabilityBoundingSet=")
	return nil
}

// capabilities returns a process's bounding set (CapBnd in /proc/PID/status).
func capabilities(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			v, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no CapBnd for %d", pid)
	return 0
}

// TestE2EUnitCapabilities runs vrrpd with no more capabilities than its systemd unit
// grants, CAP_SYS_ADMIN not among them: it starts, takes the VIP as master, and gives it
// up on stop. Entering a network namespace (setns) takes CAP_SYS_ADMIN, so vrrpd must
// open its sockets where it runs without switching.
func TestE2EUnitCapabilities(t *testing.T) {
	netnstest.RequireCommand(t, "setpriv")
	c := newCluster(t, 1)
	a := c.nodes[0]
	caps := unitCapabilities(t)
	a.wrap = []string{"setpriv", "--inh-caps=-all", "--bounding-set=-all,+" + strings.Join(caps, ",+"), "--"}
	a.writeConfig(instanceYAML("web", 51, 150, "100ms", vip+"/24"))
	a.start()
	const capNetAdmin, capSysAdmin = 12, 21
	if bnd := capabilities(t, a.cmd.Process.Pid); bnd&(1<<capSysAdmin) != 0 || bnd&(1<<capNetAdmin) == 0 {
		t.Fatalf("vrrpd runs with bounding set %#x, want %v only", bnd, caps)
	}
	a.waitState("web", "MASTER", 3*time.Second)
	c.onlyOn(vip, a)
	a.stop()
	if a.hasVIP(vip) {
		t.Fatal("the stopped master kept the VIP")
	}
}
