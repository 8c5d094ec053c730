package netops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// Addresses of the node under test, and VIPs: documentation prefixes only.
var (
	nodeV4 = netip.MustParsePrefix("192.0.2.1/24")
	nodeV6 = netip.MustParsePrefix("2001:db8::1/64")
	vip4   = VIP{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", Label: "eth0:vip"}
	vip6   = VIP{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0"}
)

// logBuffer collects a logger's output for assertions; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) Contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLog(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", b)
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// newNode returns a namespace whose eth0 carries the node addresses nodeV4 and nodeV6.
func newNode(t *testing.T) (*netnstest.LAN, *netnstest.NS) {
	t.Helper()
	netnstest.Require(t)
	lan := netnstest.NewLAN(t)
	return lan, lan.Node("n", "", nodeV4.String(), nodeV6.String())
}

// newManager creates a VIPManager inside ns; its methods are then called from the
// test's goroutine, which is in the host's namespace.
func newManager(t *testing.T, ns *netnstest.NS, statePath string, log *slog.Logger) *VIPManager {
	t.Helper()
	var m *VIPManager
	ns.MustDo(func() (err error) {
		m, err = NewVIPManager(statePath, log)
		return err
	})
	t.Cleanup(func() { m.Close() })
	return m
}

// hostHas reports whether the host's namespace has addr anywhere.
func hostHas(t *testing.T, addr netip.Addr) bool {
	t.Helper()
	var links []struct {
		AddrInfo []netnstest.Address `json:"addr_info"`
	}
	out := netnstest.Run(t, "ip", "-j", "addr", "show")
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("ip -j addr: %v", err)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Local == addr {
				return true
			}
		}
	}
	return false
}

func address(t *testing.T, ns *netnstest.NS, a netip.Addr) (netnstest.Address, bool) {
	t.Helper()
	for _, x := range ns.Addresses("eth0") {
		if x.Local == a {
			return x, true
		}
	}
	return netnstest.Address{}, false
}

func readState(t *testing.T, path string) []VIP {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st vipState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state file: %v: %s", err, b)
	}
	return st.VIPs
}

func TestVIPAddRemoveInKernel(t *testing.T) {
	_, ns := newNode(t)
	dir := filepath.Join(t.TempDir(), "run", "vrrpd") // missing: created by the manager
	state := filepath.Join(dir, "vips.json")
	m := newManager(t, ns, state, nil)

	for range 2 { // the second round is a repeated Add
		for _, v := range []VIP{vip4, vip6} {
			if err := m.Add(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	a4, ok := address(t, ns, vip4.Prefix.Addr())
	if !ok || a4.PrefixLen != 24 || a4.Label != "eth0:vip" {
		t.Fatalf("IPv4 VIP in the kernel: %+v (present %v), want /24 label eth0:vip", a4, ok)
	}
	a6, ok := address(t, ns, vip6.Prefix.Addr())
	if !ok || a6.PrefixLen != 64 || !a6.NoDAD || a6.Tentative {
		t.Fatalf("IPv6 VIP in the kernel: %+v (present %v), want /64 nodad, not tentative", a6, ok)
	}
	// Calls from the host's goroutine went to the manager's namespace.
	for _, v := range []VIP{vip4, vip6} {
		if hostHas(t, v.Prefix.Addr()) {
			t.Fatalf("%v landed in the host's namespace", v)
		}
	}
	if got := readState(t, state); len(got) != 2 || got[0] != vip4 || got[1] != vip6 {
		t.Fatalf("state file: %+v", got)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("state directory: %v %v", fi, err)
	}

	for _, v := range []VIP{vip4, vip6} {
		if err := m.Remove(v); err != nil {
			t.Fatal(err)
		}
		if ns.HasAddress("eth0", v.Prefix.Addr()) {
			t.Fatalf("%v still present after Remove", v)
		}
	}
	for _, p := range []netip.Prefix{nodeV4, nodeV6} {
		if !ns.HasAddress("eth0", p.Addr()) {
			t.Fatalf("node address %v removed", p)
		}
	}
	if got := readState(t, state); len(got) != 0 {
		t.Fatalf("state file after Remove: %+v", got)
	}
	// Nothing but the state file: temporary files were renamed or removed.
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 1 {
		t.Fatalf("state directory holds %v (%v)", ents, err)
	}
}

// TestVIPRestoredAfterDeletion: a VIP deleted behind the manager's back while wanted is
// put back; once removed by the manager, it stays removed.
func TestVIPRestoredAfterDeletion(t *testing.T) {
	_, ns := newNode(t)
	log, logs := newLog(t)
	var m *VIPManager
	var mon *Monitor
	ns.MustDo(func() (err error) {
		if m, err = NewVIPManager(filepath.Join(t.TempDir(), "vips.json"), log); err != nil {
			return err
		}
		mon, err = NewMonitor(log)
		return err
	})
	t.Cleanup(func() { mon.Close(); m.Close() })
	events, cancel := mon.Subscribe()
	t.Cleanup(cancel)
	ctx, stop := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); m.Watch(ctx, events) }()
	t.Cleanup(func() { stop(); <-watched })

	// A second IPv4 VIP serves as a barrier below.
	barrier := VIP{Prefix: netip.MustParsePrefix("198.51.100.100/32"), Interface: "eth0"}
	for _, v := range []VIP{vip4, vip6, barrier} {
		if err := m.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []VIP{vip4, vip6} {
		ns.IP("addr", "del", v.Prefix.String(), "dev", "eth0")
		netnstest.Eventually(t, 5*time.Second, func() bool { return ns.HasAddress("eth0", v.Prefix.Addr()) },
			"%v not restored", v)
	}
	if !logs.Contains("VIP removed by someone else, restored") {
		t.Fatalf("no warning logged")
	}
	a6, _ := address(t, ns, vip6.Prefix.Addr())
	if !a6.NoDAD || a6.Tentative {
		t.Fatalf("restored IPv6 VIP: %+v", a6)
	}

	if err := m.Remove(vip4); err != nil {
		t.Fatal(err)
	}
	// The watcher handles events in order: once the barrier, deleted after vip4, is
	// back, vip4's deletion has been handled too.
	ns.IP("addr", "del", barrier.Prefix.String(), "dev", "eth0")
	netnstest.Eventually(t, 5*time.Second, func() bool { return ns.HasAddress("eth0", barrier.Prefix.Addr()) },
		"barrier not restored")
	if ns.HasAddress("eth0", vip4.Prefix.Addr()) {
		t.Fatal("a VIP removed by the manager was put back")
	}
}

// TestVIPCleanStale: a run that crashed left VIPs behind; the next run with the same
// state file removes them, and only them.
func TestVIPCleanStale(t *testing.T) {
	_, ns := newNode(t)
	state := filepath.Join(t.TempDir(), "vips.json")
	m1 := newManager(t, ns, state, nil)
	gone := VIP{Prefix: netip.MustParsePrefix("203.0.113.100/32"), Interface: "eth0"}
	for _, v := range []VIP{vip4, vip6, gone} {
		if err := m1.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	// Someone removed one of them meanwhile; then the daemon crashes without removing
	// anything.
	ns.IP("addr", "del", gone.Prefix.String(), "dev", "eth0")
	m1.Close()

	log, _ := newLog(t)
	m2 := newManager(t, ns, state, log)
	removed, err := m2.CleanStale()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 || removed[0] != vip4 || removed[1] != vip6 {
		t.Fatalf("removed %+v, want %v and %v", removed, vip4, vip6)
	}
	for _, v := range []VIP{vip4, vip6} {
		if ns.HasAddress("eth0", v.Prefix.Addr()) {
			t.Fatalf("stale %v still present", v)
		}
	}
	for _, p := range []netip.Prefix{nodeV4, nodeV6} {
		if !ns.HasAddress("eth0", p.Addr()) {
			t.Fatalf("node address %v removed", p)
		}
	}
	if got := readState(t, state); len(got) != 0 {
		t.Fatalf("state after CleanStale: %+v", got)
	}
	if removed, err := m2.CleanStale(); err != nil || len(removed) != 0 {
		t.Fatalf("second CleanStale: %v, %v", removed, err)
	}
}

// TestVIPBadStateFile: a state file that cannot be read does not stop vrrpd; it is set
// aside, and the kernel's marks still tell which addresses are ours.
func TestVIPBadStateFile(t *testing.T) {
	_, ns := newNode(t)
	for _, tc := range []struct{ name, content string }{
		{"invalid VIP", `{"vips":[{"prefix":"2001:db8::100/64","interface":"eth0","label":"eth0:x"}]}`},
		{"truncated", `{"vips":[`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "vips.json")
			m1 := newManager(t, ns, filepath.Join(t.TempDir(), "other.json"), nil)
			if err := m1.Add(vip4); err != nil {
				t.Fatal(err)
			}
			m1.Close()
			if err := os.WriteFile(state, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			log, logs := newLog(t)
			m2 := newManager(t, ns, state, log)
			if !logs.Contains("VIP state file unreadable") {
				t.Fatal("no warning about the state file")
			}
			if b, err := os.ReadFile(state + ".bad"); err != nil || string(b) != tc.content {
				t.Fatalf("the bad state file was not set aside: %v %q", err, b)
			}
			removed, err := m2.CleanStale()
			if err != nil || len(removed) != 1 || removed[0].Prefix.Addr() != vip4.Prefix.Addr() {
				t.Fatalf("CleanStale: %v, %v; want %v removed by its mark", removed, err, vip4)
			}
			if ns.HasAddress("eth0", vip4.Prefix.Addr()) {
				t.Fatal("the stale VIP is still there")
			}
		})
	}
}

// TestVIPMarks: every VIP carries vrrpd's address protocol, so a restart recognises its
// leftovers with the state file missing or emptied, and never takes an address someone
// else added for one of its own.
func TestVIPMarks(t *testing.T) {
	_, ns := newNode(t)
	if !kernelKeepsAddrProtocol() {
		t.Skip("this kernel does not keep IFA_PROTO (Linux 6.1 and later do)")
	}
	state := filepath.Join(t.TempDir(), "vips.json")
	m1 := newManager(t, ns, state, nil)
	for _, v := range []VIP{vip4, vip6} {
		if err := m1.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	// Debian 12's ip(8) does not show address protocols yet: read them ourselves.
	var marked []netip.Prefix
	ns.MustDo(func() error {
		rt, err := openRTNL()
		if err != nil {
			return err
		}
		defer rt.close()
		addrs, err := rt.listAddrs(0, 0)
		for _, a := range addrs {
			if a.Protocol == VIPProtocol {
				marked = append(marked, a.Prefix)
			}
		}
		return err
	})
	if len(marked) != 2 || marked[0] != vip4.Prefix || marked[1] != vip6.Prefix {
		t.Fatalf("marked addresses %v, want %v and %v", marked, vip4.Prefix, vip6.Prefix)
	}
	// Someone else's address, on the interface and in the state file as if ours.
	manual := VIP{Prefix: netip.MustParsePrefix("192.0.2.200/24"), Interface: "eth0"}
	ns.IP("addr", "add", manual.Prefix.String(), "dev", "eth0")
	m1.Close()
	for _, content := range []string{"", `{"vips": null}`} {
		if content == "" {
			os.Remove(state)
		} else if err := os.WriteFile(state, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		m := newManager(t, ns, state, nil)
		// A marked VIP is ours even unknown to the state file: adding it again is
		// fine, and it is recorded.
		if err := m.Add(vip4); err != nil {
			t.Fatalf("state %q: add of a marked VIP: %v", content, err)
		}
		if got := readState(t, state); len(got) != 1 || got[0] != vip4 {
			t.Fatalf("state %q: after add %+v", content, got)
		}
		m.Close()
	}
	wrongRecord := func() {
		if err := os.WriteFile(state, []byte(`{"vips":[{"prefix":"192.0.2.200/24","interface":"eth0"}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wrongRecord()
	log, logs := newLog(t)
	m2 := newManager(t, ns, state, log)
	if err := m2.Remove(manual); !errors.Is(err, ErrNodeAddress) {
		t.Fatalf("remove of an unmarked address: %v, want ErrNodeAddress", err)
	}
	if got := readState(t, state); len(got) != 0 {
		t.Fatalf("the wrong record stayed: %+v", got)
	}
	m2.Close()
	wrongRecord()
	m3 := newManager(t, ns, state, log)
	removed, err := m3.CleanStale()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 || removed[0] != vip4 || removed[1].Prefix.Addr() != vip6.Prefix.Addr() {
		t.Fatalf("removed %+v, want %v and %v", removed, vip4, vip6)
	}
	if !ns.HasAddress("eth0", manual.Prefix.Addr()) {
		t.Fatal("an address someone else added was removed")
	}
	if !logs.Contains("the kernel says vrrpd did not add") {
		t.Fatal("no warning about the state file's wrong record")
	}
	for _, p := range []netip.Prefix{nodeV4, nodeV6} {
		if !ns.HasAddress("eth0", p.Addr()) {
			t.Fatalf("node address %v removed", p)
		}
	}
	var addrs []netip.Addr
	ns.MustDo(func() (err error) {
		if err := m3.Add(vip4); err != nil {
			return err
		}
		addrs, err = NodeAddrs("eth0", nil)
		return err
	})
	for _, a := range addrs {
		if a == vip4.Prefix.Addr() {
			t.Fatalf("NodeAddrs lists the VIP: %v", addrs)
		}
	}
	if len(addrs) < 3 || addrs[0] != nodeV4.Addr() {
		t.Fatalf("NodeAddrs = %v, want the node's addresses, primary IPv4 first", addrs)
	}
}

func TestKernelVersion(t *testing.T) {
	for _, tc := range []struct {
		release      string
		major, minor int
		ok           bool
	}{
		{"6.1.0-13-amd64", 6, 1, true},
		{"6.18.44-fc-v769", 6, 18, true},
		{"5.10.0", 5, 10, true},
		{"4.19-rc1", 4, 19, true},
		{"garbage", 0, 0, false},
	} {
		major, minor, ok := kernelVersion(tc.release)
		if major != tc.major || minor != tc.minor || ok != tc.ok {
			t.Errorf("kernelVersion(%q) = %d, %d, %v", tc.release, major, minor, ok)
		}
	}
}
