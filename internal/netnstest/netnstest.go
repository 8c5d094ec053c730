// Package netnstest builds small networks of Linux network namespaces for privileged
// tests: nodes whose eth0 hangs on a bridge that lives in a namespace of its own. The host's
// namespace is never touched. Everything a test creates is removed when the test ends,
// passed or failed.
//
// Tests call Require first: without root they are skipped with a message, except under CI
// (CI=true), where a missing privilege is a failure, so privileged tests cannot silently
// stop running.
package netnstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Require skips t unless it runs as root with iproute2 at hand; under CI it fails instead.
func Require(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root (network namespaces, raw sockets)"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2's ip command"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("privileged test: %s; CI must run it", why)
	}
	t.Skipf("privileged test skipped: %s (run `make test` as root)", why)
}

// RequireRoot skips t unless it runs as root, saying why the test needs it (changing
// users or owners, not namespaces); under CI it fails instead.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("privileged test: needs root to %s; CI must run it", why)
	}
	t.Skipf("privileged test skipped: needs root to %s (run `make test` as root)", why)
}

// RequireCommand skips t (fails under CI) when a command is missing.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; `make test` installs it as root", name)
	}
	t.Skipf("%s is not installed; `make test` as root installs it", name)
	return ""
}

var counter atomic.Uint32

// uniqueName returns a namespace name no other test of this or another process uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("vt%d%s%d", os.Getpid()%100000, prefix, counter.Add(1))
}

// NS is a network namespace created by a test.
type NS struct {
	Name string
	t    testing.TB
}

// NewNS creates a namespace with its loopback up; the test's cleanup deletes it.
func NewNS(t testing.TB, prefix string) *NS {
	t.Helper()
	ns := &NS{Name: uniqueName(prefix), t: t}
	Run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() {
		// Deleting the namespace destroys its interfaces and their veth peers.
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Logf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.IP("link", "set", "lo", "up")
	return ns
}

// Run runs a command and fails the test when it fails; it returns the standard output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// IP runs `ip -n NS args...`.
func (ns *NS) IP(args ...string) string {
	ns.t.Helper()
	return Run(ns.t, "ip", append([]string{"-n", ns.Name}, args...)...)
}

// Exec runs a command inside the namespace and returns its combined output and error.
func (ns *NS) Exec(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...).CombinedOutput()
	return string(out), err
}

// Command returns a command that runs inside the namespace, for long-lived processes.
// Start it with Start so that it is ended when the test ends.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Start starts cmd and registers a cleanup that ends it (SIGTERM, then SIGKILL after
// five seconds) and waits for it.
func Start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// Do runs fn inside the namespace on a locked OS thread. Sockets opened by fn stay in the
// namespace and may be used from any goroutine afterwards; goroutines started by fn do
// not run in the namespace.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: a thread whose namespace was switched must die
		// with its goroutine rather than go back to the scheduler's pool.
		runtime.LockOSThread()
		target, err := netns.GetFromName(ns.Name)
		if err != nil {
			errc <- fmt.Errorf("netns %s: %w", ns.Name, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", ns.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// MustDo is Do that fails the test on error.
func (ns *NS) MustDo(fn func() error) {
	ns.t.Helper()
	if err := ns.Do(fn); err != nil {
		ns.t.Fatal(err)
	}
}

// Handle returns the namespace's handle for netlink.NewHandleAt; the caller closes it.
func (ns *NS) Handle() netns.NsHandle {
	ns.t.Helper()
	h, err := netns.GetFromName(ns.Name)
	if err != nil {
		ns.t.Fatal(err)
	}
	return h
}

// LAN is a bridge in its own namespace with nodes attached.
type LAN struct {
	Switch *NS
	t      testing.TB
	ports  int
}

// NewLAN creates the switch namespace and its bridge br0.
func NewLAN(t testing.TB) *LAN {
	t.Helper()
	sw := NewNS(t, "sw")
	sw.IP("link", "add", "br0", "type", "bridge")
	// No STP forwarding delay, no multicast snooping: adverts cross at once.
	sw.IP("link", "set", "br0", "type", "bridge", "forward_delay", "0", "mcast_snooping", "0")
	sw.IP("link", "set", "br0", "up")
	return &LAN{Switch: sw, t: t}
}

// Attach creates a veth pair: ifname in ns (given mac when not empty), and its peer on
// the bridge. Both ends are up when it returns. It returns the name of the peer, the
// port on the bridge: p1, p2, ... in order.
func (l *LAN) Attach(ns *NS, ifname, mac string) string {
	l.t.Helper()
	l.ports++
	port := fmt.Sprintf("p%d", l.ports)
	l.Switch.IP("link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns.Name)
	l.Switch.IP("link", "set", port, "master", "br0", "up")
	if mac != "" {
		ns.IP("link", "set", ifname, "address", mac)
	}
	// IPv6 addresses must not wait for duplicate address detection in tests.
	if _, err := ns.Exec("sysctl", "-qw", "net.ipv6.conf."+ifname+".accept_dad=0"); err != nil {
		l.t.Fatalf("sysctl accept_dad: %v", err)
	}
	ns.IP("link", "set", ifname, "up")
	return port
}

// Node creates a namespace attached to the LAN by eth0, with the given addresses
// (prefixes such as "192.0.2.1/24" or "2001:db8::1/64").
func (l *LAN) Node(prefix, mac string, addrs ...string) *NS {
	l.t.Helper()
	ns := NewNS(l.t, prefix)
	l.Attach(ns, "eth0", mac)
	for _, a := range addrs {
		ns.IP("addr", "add", a, "dev", "eth0")
	}
	return ns
}

// Address is one entry of `ip -j addr`.
type Address struct {
	Local     netip.Addr `json:"local"`
	PrefixLen int        `json:"prefixlen"`
	Label     string     `json:"label"`
	Scope     string     `json:"scope"`
	Tentative bool       `json:"tentative"`
	NoDAD     bool       `json:"nodad"`
}

// Addresses returns the addresses on ifname as the kernel reports them (`ip -j addr`).
func (ns *NS) Addresses(ifname string) []Address {
	ns.t.Helper()
	var links []struct {
		AddrInfo []Address `json:"addr_info"`
	}
	out := ns.IP("-j", "addr", "show", "dev", ifname)
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		ns.t.Fatalf("ip -j addr: %v: %s", err, out)
	}
	var all []Address
	for _, l := range links {
		all = append(all, l.AddrInfo...)
	}
	return all
}

// HasAddress reports whether addr is on ifname.
func (ns *NS) HasAddress(ifname string, addr netip.Addr) bool {
	ns.t.Helper()
	for _, a := range ns.Addresses(ifname) {
		if a.Local == addr {
			return true
		}
	}
	return false
}

// LinkLocal returns the link-local IPv6 address of ifname.
func (ns *NS) LinkLocal(ifname string) netip.Addr {
	ns.t.Helper()
	for _, a := range ns.Addresses(ifname) {
		if a.Local.Is6() && a.Local.IsLinkLocalUnicast() {
			return a.Local
		}
	}
	ns.t.Fatalf("%s has no link-local address on %s", ns.Name, ifname)
	return netip.Addr{}
}

// Eventually polls cond every 10 ms until it holds or timeout passes, then fails with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
