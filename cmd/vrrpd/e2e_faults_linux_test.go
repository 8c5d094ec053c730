package main

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// Operator slips and crashes, with the real binary: nothing may lose, duplicate or strand
// a VIP.

// addrLog records the address changes of a namespace as the kernel reports them.
type addrLog struct {
	mu      sync.Mutex
	deleted []netip.Addr
	added   []netip.Addr
}

func watchAddrs(t *testing.T, ns *netnstest.NS) *addrLog {
	t.Helper()
	h := ns.Handle()
	t.Cleanup(func() { h.Close() })
	updates := make(chan netlink.AddrUpdate, 256)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	if err := netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{Namespace: &h}); err != nil {
		t.Fatal(err)
	}
	l := &addrLog{}
	go func() {
		for u := range updates {
			a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok {
				continue
			}
			l.mu.Lock()
			if u.NewAddr {
				l.added = append(l.added, a.Unmap())
			} else {
				l.deleted = append(l.deleted, a.Unmap())
			}
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *addrLog) wasDeleted(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.deleted, a)
}

func (l *addrLog) wasAdded(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.added, a)
}

// runOnce runs a vrrpd command in nd's namespace to its end, within a deadline.
func (nd *e2eNode) runOnce(args ...string) (string, int) {
	nd.t.Helper()
	cmd := nd.ns.Command(vrrpdBinary(nd.t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		nd.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			nd.t.Fatal(err)
		}
		return out.String(), code
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		nd.t.Fatalf("vrrpd %v did not end:\n%s", args, out.String())
	}
	return "", -1
}

// TestE2ESecondRun: a second `vrrpd run` with the same configuration, started by
// mistake on the master, exits at once naming the running one, and changes nothing:
// the VIP is never removed, the state file stays, the master stays master.
func TestE2ESecondRun(t *testing.T) {
	c := newCluster(t, 2)
	a, _ := c.startPair("100ms")
	c.onlyOn(vip, a)
	addrs := watchAddrs(t, a.ns)
	stateFile := filepath.Join(a.dir, "vips.json")
	before, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	out, code := a.runOnce("run", "--config", a.config())
	if code != 1 || !strings.Contains(out, "vrrpd is already running (pid "+strconv.Itoa(a.cmd.Process.Pid)+")") {
		t.Fatalf("second run: exit %d, want 1 and \"vrrpd is already running (pid %d)\":\n%s", code, a.cmd.Process.Pid, out)
	}
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("the second run took %v to give up", took)
	}
	// The kernel reports a deletion within milliseconds; give it time to.
	time.Sleep(200 * time.Millisecond)
	if addrs.wasDeleted(netip.MustParseAddr(vip)) {
		t.Fatal("the second run deleted the master's VIP")
	}
	after, err := os.ReadFile(stateFile)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the state file changed:\nbefore %s\nafter  %s (%v)", before, after, err)
	}
	if st := a.instance("web"); st.State != "MASTER" {
		t.Fatalf("the running master is %s", st.State)
	}
	// cleanup refuses too while vrrpd runs.
	out, code = a.runOnce("cleanup", "--config", a.config())
	if code != 1 || !strings.Contains(out, "already running") || addrs.wasDeleted(netip.MustParseAddr(vip)) {
		t.Fatalf("cleanup while running: exit %d:\n%s", code, out)
	}
	c.onlyOn(vip, a)
}

// TestE2EStaleVIPWithoutStateFile: after a SIGKILL the state file is missing, corrupt or
// emptied; the restart recognises its leftover VIP by the kernel's mark, removes it, and
// starts.
func TestE2EStaleVIPWithoutStateFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(path string) error
	}{
		{"missing", os.Remove},
		{"corrupt", func(p string) error { return os.WriteFile(p, []byte(`{"vips":[{"prefix":`), 0o644) }},
		{"emptied", func(p string) error { return os.WriteFile(p, []byte(`{"vips": null}`), 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 1)
			a := c.nodes[0]
			a.writeConfig(instanceYAML("web", 51, 255, "100ms", vip+"/24"))
			a.start()
			a.waitState("web", "MASTER", 5*time.Second)
			_ = a.cmd.Process.Kill()
			<-a.done
			if !a.hasVIP(vip) {
				t.Fatal("a killed vrrpd took its VIP with it")
			}
			if err := tc.damage(filepath.Join(a.dir, "vips.json")); err != nil {
				t.Fatal(err)
			}
			// Priority 255 would take the address again at once: run as a backup that
			// hears nobody for a while, to see the stale VIP go first.
			a.writeConfig(instanceYAML("web", 51, 100, "1s", vip+"/24"))
			addrs := watchAddrs(t, a.ns)
			a.start()
			netnstest.Eventually(t, 2*time.Second, func() bool { return addrs.wasDeleted(netip.MustParseAddr(vip)) },
				"the stale VIP was not removed at start")
			if !strings.Contains(a.out.String(), "removed a VIP left behind by an earlier run") {
				t.Fatalf("no log line for the removal:\n%s", a.out)
			}
			a.waitState("web", "MASTER", 10*time.Second)
		})
	}
}

// TestE2ECleanupAfterKill: `vrrpd cleanup`, which the unit runs as ExecStopPost, removes
// a killed master's VIP at once, state file or not.
func TestE2ECleanupAfterKill(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	a.writeConfig(instanceYAML("web", 51, 255, "100ms", vip+"/24"))
	a.start()
	a.waitState("web", "MASTER", 5*time.Second)
	_ = a.cmd.Process.Kill()
	<-a.done
	os.Remove(filepath.Join(a.dir, "vips.json"))
	out, code := a.runOnce("cleanup", "--config", a.config())
	if code != 0 || a.hasVIP(vip) {
		t.Fatalf("cleanup: exit %d, VIP still there: %v\n%s", code, a.hasVIP(vip), out)
	}
	if !strings.Contains(out, "removed "+vip+"/24 dev eth0") {
		t.Fatalf("cleanup does not say what it removed:\n%s", out)
	}
	// A second cleanup finds nothing and succeeds.
	if out, code := a.runOnce("cleanup", "--config", a.config()); code != 0 || strings.Contains(out, "removed") {
		t.Fatalf("second cleanup: exit %d\n%s", code, out)
	}
}

// TestE2EEarlySignal: signals in the first milliseconds neither kill vrrpd nor get lost:
// a SIGHUP while starting is a reload once started, a SIGTERM a clean stop.
func TestE2EEarlySignal(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	a.writeConfig(instanceYAML("web", 51, 150, "100ms", vip+"/24"))
	// The binary as shipped: the race detector's runtime takes about 10 ms to reach main.
	bin := plainVrrpd.Path(t)
	// From 2 ms after exec: the Go runtime starts in less, before main can ask for them.
	for _, delay := range []time.Duration{2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
		cmd := a.ns.Command(bin, "run", "--config", a.config())
		out := &netnstest.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitExec(t, cmd.Process.Pid, bin)
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGHUP)
		a.cmd = cmd
		netnstest.Eventually(t, 10*time.Second, func() bool {
			_, err := a.status()
			return err == nil
		}, "SIGHUP %v after start: vrrpd did not come up:\n%s", delay, out)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("SIGHUP %v after start, then SIGTERM: %v\n%s", delay, err, out)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("SIGHUP %v after start: vrrpd did not stop on SIGTERM\n%s", delay, out)
		}
	}
	// SIGTERM at once: a clean exit 0 with no VIP left.
	cmd := a.ns.Command(bin, "run", "--config", a.config())
	out := &netnstest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitExec(t, cmd.Process.Pid, bin)
	time.Sleep(2 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM at start: %v\n%s", err, out)
	}
	if a.hasVIP(vip) {
		t.Fatal("SIGTERM at start left the VIP")
	}
}

// waitExec waits until process pid runs bin: `ip netns exec` execs it in the same
// process, and a signal before that would hit ip, not vrrpd.
func waitExec(t *testing.T, pid int, bin string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil && exe == bin {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatalf("process %d never ran %s", pid, bin)
}

// TestE2EControlSocketPathTaken: a file that is not a socket where the control socket
// goes is never deleted: vrrpd refuses to start and says why.
func TestE2EControlSocketPathTaken(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	a.writeConfig(instanceYAML("web", 51, 150, "100ms", vip+"/24"))
	if err := os.WriteFile(a.socket(), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := a.runOnce("run", "--config", a.config())
	if code == 0 || !strings.Contains(out, "something other than a socket is there") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if b, err := os.ReadFile(a.socket()); err != nil || string(b) != "precious" {
		t.Fatalf("the file at the socket path was touched: %q %v", b, err)
	}
	if a.hasVIP(vip) {
		t.Fatal("a refused start left a VIP")
	}
}
