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
	"golang.org/x/sys/unix"

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
	l := &addrLog{}
	netnstest.FollowAddresses(t, ns, func(u netlink.AddrUpdate) {
		a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
		if !ok {
			return
		}
		l.mu.Lock()
		if u.NewAddr {
			l.added = append(l.added, a.Unmap())
		} else {
			l.deleted = append(l.deleted, a.Unmap())
		}
		l.mu.Unlock()
	})
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
	// The master writes the file shortly after adding the VIP, not at once.
	var before []byte
	netnstest.Eventually(t, 5*time.Second, func() bool {
		before, _ = os.ReadFile(stateFile)
		return bytes.Contains(before, []byte(`"`+vip+`/`))
	}, "the state file does not list %s", vip)
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

// TestE2EEarlySignal: signals that come before vrrpd has even read its configuration
// neither kill it nor get lost: a SIGHUP is a reload once started, a SIGTERM a clean stop.
// The configuration is a named pipe, so that vrrpd waits at that point for as long as
// the test wants.
func TestE2EEarlySignal(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	a.writeConfig(instanceYAML("web", 51, 150, "100ms", vip+"/24"))
	cfg, err := os.ReadFile(a.config())
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "vrrpd.yaml")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := a.ns.Command(vrrpdBinary(t), "run", "--config", fifo)
			out := &netnstest.Buffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-done
			})
			waitExec(t, cmd.Process.Pid, vrrpdBinary(t))
			// vrrpd waits in open(2) for the pipe's other end: past the Go runtime's start,
			// before anything else it does.
			netnstest.Eventually(t, 10*time.Second, func() bool { return inOpen(cmd.Process.Pid) },
				"vrrpd never opened its configuration:\n%s", out)
			_ = cmd.Process.Signal(sig)
			// feed writes the configuration into the pipe once vrrpd opens it, failing if it
			// does not within 10 s (it died of the signal).
			feed := func() {
				t.Helper()
				var f *os.File
				netnstest.Eventually(t, 10*time.Second, func() bool {
					var err error
					f, err = os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0)
					return err == nil
				}, "vrrpd does not read its configuration (dead of the %v?):\n%s", sig, out)
				defer f.Close()
				if _, err := f.Write(cfg); err != nil {
					t.Fatal(err)
				}
			}
			feed()
			if sig == syscall.SIGHUP {
				a.cmd = cmd
				netnstest.Eventually(t, 10*time.Second, func() bool {
					_, err := a.status()
					return err == nil
				}, "vrrpd did not come up:\n%s", out)
				feed() // the reload reads the file again
				netnstest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "configuration reloaded") },
					"the early SIGHUP did not reload:\n%s", out)
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
			select {
			case err := <-done:
				done <- err // for the cleanup, which waits for it
				if err != nil {
					t.Fatalf("%v: %v\n%s", sig, err, out)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("%v: vrrpd did not stop\n%s", sig, out)
			}
			if a.hasVIP(vip) {
				t.Fatal("a stop left the VIP")
			}
		})
	}
}

// inOpen reports whether a thread of process pid is in openat(2), from
// /proc/PID/task/*/syscall (its first field is the system call number).
func inOpen(pid int) bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/syscall")
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err == nil && strings.HasPrefix(string(b), strconv.Itoa(unix.SYS_OPENAT)+" ") {
			return true
		}
	}
	return false
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
