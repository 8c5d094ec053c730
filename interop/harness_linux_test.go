//go:build linux

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/vrrp"
)

// The harness: a bridge with vrrpd on one port and its peer on another, a capture of
// every advert on the bridge, and the three implementations behind one interface.

const (
	vrid   = 51
	frrDir = "/usr/lib/frr" // Debian's place for FRR's daemons
)

// side is how one router of a cell is configured.
type side struct {
	priority  int
	interval  time.Duration
	version   int // 2 or 3
	nopreempt bool
	vips      []netip.Prefix
	// excluded are vrrpd's excluded_vips: added with the VIPs, never advertised.
	excluded []netip.Prefix
	password string // VRRPv2 simple password; "" for none
	// messageOnly makes vrrpd send the message-only VRRPv3 IPv4 checksum.
	messageOnly bool
}

// router is one VRRP implementation on a node of the bridge.
type router interface {
	name() string
	// start configures and starts it, and returns once it is running as backup.
	start(s side)
	// stop ends it gracefully (SIGTERM) and waits for it to exit.
	stop()
	// crash kills it (SIGKILL) and takes its link down: a node that lost power.
	crash()
	// state is MASTER, BACKUP, FAULT or INIT, or STOPPED or CRASHED.
	state() string
	// since is when the router says it entered its current state.
	since() time.Time
	// holds reports whether vip is on this node and in use.
	holds(vip netip.Addr) bool
	// config is the side it was last started with.
	config() side
	// source is the source address of its adverts.
	source() netip.Addr
	// vipMAC is the MAC address its VIPs answer from.
	vipMAC() string
	// complaints are the log lines in which it refuses an advert.
	complaints() []string
	// logs is everything it logged, for failure reports.
	logs() string
	base() *node
}

// ---------------------------------------------------------------------------------------
// Logs and processes

type logLine struct {
	at   time.Time
	text string
}

// lineLog collects a process's output line by line, each line stamped when it arrived.
type lineLog struct {
	mu      sync.Mutex
	lines   []logLine
	partial []byte
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, logLine{now, string(l.partial[:i])})
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// matching returns the lines that match re.
func (l *lineLog) matching(re *regexp.Regexp) []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logLine
	for _, ln := range l.lines {
		if re.MatchString(ln.text) {
			out = append(out, ln)
		}
	}
	return out
}

// last returns the submatches of the last line that matches re, or nil.
func (l *lineLog) last(re *regexp.Regexp) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.lines) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(l.lines[i].text); m != nil {
			return m
		}
	}
	return nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ln := range l.lines {
		fmt.Fprintf(&b, "%s %s\n", ln.at.Format("15:04:05.000"), ln.text)
	}
	b.Write(l.partial)
	return b.String()
}

// proc is a long-lived process in a namespace. `ip netns exec` execs the program, so the
// process is the daemon itself.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, once done is closed
}

// startProc starts cmd with its output into out, and ends it when the test ends:
// SIGTERM, then SIGKILL after five seconds.
func startProc(t *testing.T, cmd *exec.Cmd, out io.Writer) *proc {
	t.Helper()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.end(5 * time.Second) })
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig syscall.Signal) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// wait reports whether the process exits within d.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// end sends SIGTERM, and SIGKILL if the process is still there after grace.
func (p *proc) end(grace time.Duration) {
	p.signal(syscall.SIGTERM)
	if !p.wait(grace) {
		p.signal(syscall.SIGKILL)
		<-p.done
	}
}

func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// ---------------------------------------------------------------------------------------
// Nodes

// node is a namespace on the bridge: eth0 with 192.0.2.idx/24, 2001:db8::idx/64 and the
// MAC 02:00:00:00:01:idx, so that a higher idx is the higher address in every family.
type node struct {
	t       *testing.T
	b       *bed
	label   string // vrrpd, keepalived or FRR
	ns      *netnstest.NS
	idx     int
	port    string // its port on the bridge
	dir     string
	cfg     side
	crashed bool
	ll      netip.Addr
	log     *lineLog   // the daemons' output since their last start
	old     []*lineLog // their output in earlier runs
}

func (n *node) name() string     { return n.label }
func (n *node) base() *node      { return n }
func (n *node) vipMAC() string   { return n.mac() }
func (n *node) config() side     { return n.cfg }
func (n *node) mac() string      { return fmt.Sprintf("02:00:00:00:01:%02x", n.idx) }
func (n *node) ipv4() netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(n.idx)}) }
func (n *node) ipv6() netip.Addr { return netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", n.idx)) }

// linkLocal is eth0's link-local address, as the kernel gave it when the node was made.
func (n *node) linkLocal() netip.Addr { return n.ll }

// waitLinkLocal waits for the kernel to give eth0 its link-local address.
func (n *node) waitLinkLocal() {
	n.t.Helper()
	netnstest.Eventually(n.t, 5*time.Second, func() bool {
		for _, a := range n.ns.Addresses("eth0") {
			if a.Local.Is6() && a.Local.IsLinkLocalUnicast() {
				n.ll = a.Local
				return true
			}
		}
		return false
	}, "no link-local address on eth0")
}

// unicastAddr is the node's own address in the column's family.
func (n *node) unicastAddr() netip.Addr {
	if n.b.col.family == 6 {
		return n.ipv6()
	}
	return n.ipv4()
}

// source is where the node's adverts come from: its unicast address, its primary IPv4
// address, or its IPv6 link-local address.
func (n *node) source() netip.Addr {
	switch {
	case n.b.col.unicast:
		return n.unicastAddr()
	case n.b.col.family == 6:
		return n.linkLocal()
	}
	return n.ipv4()
}

// crashLink takes eth0 down after the node's daemons were killed: a node that lost power.
func (n *node) crashLink() {
	n.ns.IP("link", "set", "eth0", "down")
	n.crashed = true
}

func (n *node) hasAddress(ifname string, a netip.Addr) bool { return n.ns.HasAddress(ifname, a) }

// newRun keeps the log of the run that ended and starts an empty one.
func (n *node) newRun() {
	if n.log != nil {
		n.old = append(n.old, n.log)
	}
	n.log = &lineLog{}
}

// runs returns the log of every run so far, oldest first.
func (n *node) runs() []*lineLog {
	if n.log == nil {
		return n.old
	}
	return append(slices.Clone(n.old), n.log)
}

// logLines returns the lines of every run that match re and not noise (when not nil).
func (n *node) logLines(re, noise *regexp.Regexp) []string {
	var out []string
	for _, l := range n.runs() {
		for _, ln := range l.matching(re) {
			if noise == nil || !noise.MatchString(ln.text) {
				out = append(out, ln.text)
			}
		}
	}
	return out
}

func (n *node) logs() string {
	var b strings.Builder
	for i, l := range n.runs() {
		fmt.Fprintf(&b, "--- %s run %d\n%s", n.label, i+1, l)
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------
// vrrpd

type vrrpdNode struct {
	node
	proc  *proc
	drops map[string]uint64 // drop counters of earlier runs
}

func (g *vrrpdNode) socket() string { return filepath.Join(g.dir, "vrrpd.sock") }

func (g *vrrpdNode) yaml(s side) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: g\nsocket: %s\nstate_file: %s\nscript_user: root\ninstances:\n", g.socket(), filepath.Join(g.dir, "vips.json"))
	fmt.Fprintf(&b, "  - name: vi\n    interface: eth0\n    vrid: %d\n    priority: %d\n    version: %d\n    advert_interval: %s\n",
		vrid, s.priority, s.version, s.interval)
	fmt.Fprintf(&b, "    preempt: %v\n", !s.nopreempt)
	if s.messageOnly {
		b.WriteString("    checksum: message-only\n")
	}
	if s.password != "" {
		fmt.Fprintf(&b, "    auth: {type: pass, password: %q}\n", s.password)
	}
	if g.b.col.unicast {
		fmt.Fprintf(&b, "    unicast: {source: %s, peers: [%s]}\n", g.unicastAddr(), g.b.p.base().unicastAddr())
	}
	var vips []string
	for _, v := range s.vips {
		vips = append(vips, v.String())
	}
	fmt.Fprintf(&b, "    vips: [%s]\n", strings.Join(vips, ", "))
	if len(s.excluded) > 0 {
		var ex []string
		for _, v := range s.excluded {
			ex = append(ex, v.String())
		}
		fmt.Fprintf(&b, "    excluded_vips: [%s]\n", strings.Join(ex, ", "))
	}
	return b.String()
}

func (g *vrrpdNode) start(s side) {
	g.t.Helper()
	g.cfg = s
	path := filepath.Join(g.dir, "vrrpd.yaml")
	if err := os.WriteFile(path, []byte(g.yaml(s)), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.newRun()
	g.proc = startProc(g.t, g.ns.Command(vrrpdBinary(g.t), "run", "--config", path, "--log-level", "debug"), g.log)
	netnstest.Eventually(g.t, 15*time.Second, func() bool {
		st, err := g.status()
		return g.proc.exited() || err == nil && st.State == "BACKUP"
	}, "vrrpd did not start as backup:\n%s", g.log)
	if g.proc.exited() {
		g.t.Fatalf("vrrpd exited: %v\n%s", g.proc.err, g.log)
	}
}

func (g *vrrpdNode) status() (control.InstanceStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := control.QueryStatus(ctx, g.socket())
	if err != nil {
		return control.InstanceStatus{}, err
	}
	for _, in := range st.Instances {
		if in.Name == "vi" {
			return in, nil
		}
	}
	return control.InstanceStatus{}, errors.New("no instance vi")
}

// mustStatus is status that fails the test on error.
func (g *vrrpdNode) mustStatus() control.InstanceStatus {
	g.t.Helper()
	st, err := g.status()
	if err != nil {
		g.t.Fatalf("vrrpd show: %v", err)
	}
	return st
}

func (g *vrrpdNode) state() string {
	switch {
	case g.crashed:
		return "CRASHED"
	case g.proc == nil || g.proc.exited():
		return "STOPPED"
	}
	st, err := g.status()
	if err != nil {
		return "?"
	}
	return st.State
}

func (g *vrrpdNode) since() time.Time {
	st, err := g.status()
	if err != nil {
		return time.Time{}
	}
	return st.Since
}

// keepDrops adds the running vrrpd's drop counters to those of earlier runs.
func (g *vrrpdNode) keepDrops() {
	st, err := g.status()
	if err != nil {
		return
	}
	if g.drops == nil {
		g.drops = map[string]uint64{}
	}
	for r, n := range st.Drops {
		g.drops[r] += n
	}
}

// allDrops returns the drop counters of every run so far.
func (g *vrrpdNode) allDrops() map[string]uint64 {
	out := map[string]uint64{}
	for r, n := range g.drops {
		out[r] += n
	}
	if g.proc != nil && !g.proc.exited() && !g.crashed {
		if st, err := g.status(); err == nil {
			for r, n := range st.Drops {
				out[r] += n
			}
		}
	}
	return out
}

func (g *vrrpdNode) stop() {
	g.t.Helper()
	g.keepDrops()
	g.proc.signal(syscall.SIGTERM)
	if !g.proc.wait(15 * time.Second) {
		g.t.Fatal("vrrpd did not stop within 15 s")
	}
	if g.proc.err != nil {
		g.t.Fatalf("vrrpd exited with %v", g.proc.err)
	}
}

func (g *vrrpdNode) crash() {
	g.t.Helper()
	g.keepDrops()
	g.proc.kill()
	g.crashLink()
}

func (g *vrrpdNode) holds(vip netip.Addr) bool { return g.hasAddress("eth0", vip) }

var vrrpdComplaint = regexp.MustCompile(`level=(WARN|ERROR)`)

func (g *vrrpdNode) complaints() []string { return g.logLines(vrrpdComplaint, nil) }

// ---------------------------------------------------------------------------------------
// keepalived

type keepalivedNode struct {
	node
	parent *proc
}

func (k *keepalivedNode) conf(s side) string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id p\n}\n")
	fmt.Fprintf(&b, "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n  priority %d\n", vrid, s.priority)
	if s.version == 3 {
		// keepalived's IPv4 default is VRRPv2: say VRRPv3 when it is meant, and leave
		// VRRPv2 to the default, as a keepalived.conf written for VRRPv2 does.
		fmt.Fprintf(&b, "  version 3\n  advert_int %s\n", strconv.FormatFloat(s.interval.Seconds(), 'f', -1, 64))
	} else {
		fmt.Fprintf(&b, "  advert_int %d\n", int(s.interval/time.Second))
	}
	if s.nopreempt {
		b.WriteString("  nopreempt\n")
	}
	if s.password != "" {
		fmt.Fprintf(&b, "  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", s.password)
	}
	if k.b.col.unicast {
		fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", k.unicastAddr(), k.b.g.unicastAddr())
	}
	b.WriteString("  virtual_ipaddress {\n")
	for _, v := range s.vips {
		fmt.Fprintf(&b, "    %s\n", v)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

var keepalivedState = regexp.MustCompile(`Entering (MASTER|BACKUP|FAULT) STATE`)

func (k *keepalivedNode) start(s side) {
	k.t.Helper()
	k.cfg = s
	bin := netnstest.RequireCommand(k.t, "keepalived")
	path := filepath.Join(k.dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(k.conf(s)), 0o644); err != nil {
		k.t.Fatal(err)
	}
	k.newRun()
	k.parent = startProc(k.t, k.ns.Command(bin, "--vrrp", "--dont-fork", "--log-console", "--log-detail", "--no-syslog",
		"--use-file", path, "--pid", filepath.Join(k.dir, "k.pid"), "--vrrp_pid", filepath.Join(k.dir, "v.pid")), k.log)
	netnstest.Eventually(k.t, 15*time.Second, func() bool { return k.parent.exited() || k.state() == "BACKUP" },
		"keepalived did not start as backup:\n%s", k.log)
	if k.parent.exited() {
		k.t.Fatalf("keepalived exited: %v\n%s", k.parent.err, k.log)
	}
}

func (k *keepalivedNode) state() string {
	switch {
	case k.crashed:
		return "CRASHED"
	case k.parent == nil || k.parent.exited():
		return "STOPPED"
	}
	if m := k.log.last(keepalivedState); m != nil {
		return m[1]
	}
	return "INIT"
}

func (k *keepalivedNode) since() time.Time {
	if ls := k.log.matching(keepalivedState); len(ls) > 0 {
		return ls[len(ls)-1].at
	}
	return time.Time{}
}

func (k *keepalivedNode) stop() {
	k.t.Helper()
	k.parent.signal(syscall.SIGTERM)
	if !k.parent.wait(15 * time.Second) {
		k.t.Fatal("keepalived did not stop within 15 s")
	}
}

// crash kills keepalived's VRRP process and its parent. The parent is stopped first so
// that it neither restarts the child nor, dying, makes the child leave gracefully.
func (k *keepalivedNode) crash() {
	k.t.Helper()
	k.parent.signal(syscall.SIGSTOP)
	if b, err := os.ReadFile(filepath.Join(k.dir, "v.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	k.parent.kill()
	k.crashLink()
}

func (k *keepalivedNode) holds(vip netip.Addr) bool { return k.hasAddress("eth0", vip) }

// keepalivedComplaint matches what keepalived 2.2 logs when it drops an advert it does
// not like (as in netops/keepalived_linux_test.go).
var keepalivedComplaint = regexp.MustCompile(`(?i)checksum|invalid|bogus|header check|length|ttl|mismatch|password|wrong`)

func (k *keepalivedNode) complaints() []string { return k.logLines(keepalivedComplaint, nil) }

// ---------------------------------------------------------------------------------------
// FRR

// frrNode runs FRR's zebra and vrrpd. FRR keeps each VIP on a macvlan device with the
// virtual MAC, in bridge mode, and puts the device in protodown while it is backup.
type frrNode struct {
	node
	zebra, vrrpd *proc // both log to node.log
	macvlan      string
	vmac         string
}

// vipMAC is the virtual MAC: FRR's VIPs live on the macvlan that has it.
func (f *frrNode) vipMAC() string { return f.vmac }

// setup creates the macvlan that carries the VIPs, once.
func (f *frrNode) setup(s side) {
	f.t.Helper()
	if f.macvlan != "" {
		return
	}
	fam := 1
	if f.b.col.family == 6 {
		fam = 2
	}
	f.macvlan, f.vmac = fmt.Sprintf("vrrp%d-%d", f.b.col.family, vrid), fmt.Sprintf("00:00:5e:00:%02x:%02x", fam, vrid)
	// The kernel refuses addrgenmode in the request that creates a macvlan
	// (EAFNOSUPPORT): it is set after.
	f.ns.IP("link", "add", f.macvlan, "link", "eth0", "type", "macvlan", "mode", "bridge")
	f.ns.IP("link", "set", f.macvlan, "address", f.vmac)
	if f.b.col.family == 6 {
		// The link-local address FRR sends from: not derived from the virtual MAC, which
		// every router shares, but the node's own, so that the tie-break follows idx.
		f.ns.IP("link", "set", f.macvlan, "addrgenmode", "none")
		f.ns.IP("addr", "add", f.linkLocal().String()+"/64", "dev", f.macvlan, "nodad")
	} else {
		f.ns.IP("link", "set", f.macvlan, "addrgenmode", "random")
	}
	for _, v := range s.vips {
		f.ns.IP("addr", "add", v.String(), "dev", f.macvlan, "nodad")
	}
	// Linux answers ARP for any local address on any interface, and asks from eth0 with
	// any local address: eth0 would speak for the VIP with its own MAC, even while FRR is
	// backup (the VIP stays on the macvlan in protodown). With arp_ignore 1 and
	// arp_announce 2 on eth0 only the macvlan does, with the virtual MAC, as keepalived's
	// use_vmac arranges for itself.
	for _, kv := range []string{"net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2"} {
		if out, err := f.ns.Exec("sysctl", "-qw", kv); err != nil {
			f.t.Fatalf("sysctl %s: %v: %s", kv, err, out)
		}
	}
	f.ns.IP("link", "set", f.macvlan, "up")
}

func (f *frrNode) conf(s side) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname p\ndebug vrrp protocol\ndebug vrrp packets\ninterface eth0\n")
	fmt.Fprintf(&b, " vrrp %d version %d\n vrrp %d priority %d\n vrrp %d advertisement-interval %d\n",
		vrid, s.version, vrid, s.priority, vrid, s.interval.Milliseconds())
	if s.nopreempt {
		fmt.Fprintf(&b, " no vrrp %d preempt\n", vrid)
	}
	for _, v := range s.vips {
		kw := "ip"
		if v.Addr().Is6() {
			kw = "ipv6"
		}
		fmt.Fprintf(&b, " vrrp %d %s %s\n", vrid, kw, v.Addr())
	}
	return b.String()
}

func (f *frrNode) start(s side) {
	f.t.Helper()
	f.cfg = s
	for _, c := range []string{"zebra", "vrrpd"} {
		netnstest.RequireCommand(f.t, filepath.Join(frrDir, c))
	}
	netnstest.RequireCommand(f.t, "vtysh")
	f.setup(s)
	f.newRun()
	zconf, vconf := filepath.Join(f.dir, "zebra.conf"), filepath.Join(f.dir, "vrrpd.conf")
	if err := os.WriteFile(zconf, []byte("hostname p\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(vconf, []byte(f.conf(s)), 0o644); err != nil {
		f.t.Fatal(err)
	}
	zsock := filepath.Join(f.dir, "zserv.api")
	// Every path is the test's own: no pathspace under /var/run/frr, no TCP vty (-P 0).
	// root is not in FRR's vty group: -g frrvty keeps the daemons from refusing to start.
	common := []string{"-z", zsock, "--vty_socket", f.dir, "-u", "root", "-g", "frrvty", "-P", "0", "--log", "stdout", "--log-level", "debug"}
	_ = os.Remove(zsock)
	f.zebra = startProc(f.t, f.ns.Command(filepath.Join(frrDir, "zebra"), append([]string{"-f", zconf, "-i", filepath.Join(f.dir, "zebra.pid")}, common...)...), f.log)
	netnstest.Eventually(f.t, 10*time.Second, func() bool {
		_, err := os.Stat(zsock)
		return err == nil || f.zebra.exited()
	}, "zebra did not open %s:\n%s", zsock, f.log)
	f.vrrpd = startProc(f.t, f.ns.Command(filepath.Join(frrDir, "vrrpd"), append([]string{"-f", vconf, "-i", filepath.Join(f.dir, "vrrpd.pid")}, common...)...), f.log)
	netnstest.Eventually(f.t, 15*time.Second, func() bool { return f.vrrpd.exited() || f.zebra.exited() || f.state() == "BACKUP" },
		"FRR did not start as backup:\n%s", f.log)
	if f.vrrpd.exited() || f.zebra.exited() {
		f.t.Fatalf("FRR exited:\n%s", f.log)
	}
}

func (f *frrNode) familyTag() string { return fmt.Sprintf("[IPv%d]", f.b.col.family) }

func (f *frrNode) stateRE() *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`\[VRID %d\] %s (\w+) -> (\w+)`, vrid, regexp.QuoteMeta(f.familyTag())))
}

func (f *frrNode) state() string {
	switch {
	case f.crashed:
		return "CRASHED"
	case f.vrrpd == nil || f.vrrpd.exited():
		return "STOPPED"
	}
	if m := f.log.last(f.stateRE()); m != nil {
		switch m[2] {
		case "Master":
			return "MASTER"
		case "Backup":
			return "BACKUP"
		}
		return "INIT"
	}
	return "INIT"
}

func (f *frrNode) since() time.Time {
	if ls := f.log.matching(f.stateRE()); len(ls) > 0 {
		return ls[len(ls)-1].at
	}
	return time.Time{}
}

// frrRouter is one family of `show vrrp json`.
type frrRouter struct {
	Status              string `json:"status"`
	MasterAdverInterval int    `json:"masterAdverInterval"`
	SkewTime            int    `json:"skewTime"`
	MasterDownInterval  int    `json:"masterDownInterval"`
	Stats               struct {
		AdverTx int `json:"adverTx"`
		AdverRx int `json:"adverRx"`
	} `json:"stats"`
}

// show asks FRR's vrrpd for its router of the column's family (`show vrrp N json`).
func (f *frrNode) show() frrRouter {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "vtysh", "--vty_socket", f.dir, "-c", fmt.Sprintf("show vrrp %d json", vrid)).Output()
	if err != nil {
		f.t.Fatalf("vtysh show vrrp: %v: %s", err, out)
	}
	var vrs []struct {
		V4 frrRouter `json:"v4"`
		V6 frrRouter `json:"v6"`
	}
	if err := json.Unmarshal(out, &vrs); err != nil || len(vrs) != 1 {
		f.t.Fatalf("vtysh show vrrp: %v: %s", err, out)
	}
	if f.b.col.family == 6 {
		return vrs[0].V6
	}
	return vrs[0].V4
}

func (f *frrNode) stop() {
	f.t.Helper()
	f.vrrpd.signal(syscall.SIGTERM)
	if !f.vrrpd.wait(15 * time.Second) {
		f.t.Fatal("FRR vrrpd did not stop within 15 s")
	}
	f.zebra.end(10 * time.Second)
}

func (f *frrNode) crash() {
	f.t.Helper()
	f.vrrpd.kill()
	f.zebra.kill()
	f.crashLink()
}

// holds reports whether vip is on the macvlan and the macvlan is not in protodown.
func (f *frrNode) holds(vip netip.Addr) bool {
	if f.macvlan == "" || !f.hasAddress(f.macvlan, vip) {
		return false
	}
	var links []struct {
		ProtoDown bool `json:"proto_down"`
	}
	out := f.ns.IP("-j", "-d", "link", "show", "dev", f.macvlan)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		f.t.Fatalf("ip link show %s: %v: %s", f.macvlan, err, out)
	}
	return !links[0].ProtoDown
}

// frrComplaint matches what FRR's vrrpd logs (with `debug vrrp packets`) when it drops an
// advert it cannot parse ("Datagram invalid: ..."), and FRR's errors. Its "Discarding
// advertisement" lines are the state machine at work (a lower priority while preempting),
// not a complaint.
var frrComplaint = regexp.MustCompile(`(?i)invalid|bad vrrp|mismatch|wrong|\[EC \d+\]`)

// frrNoise are error lines of FRR's that say nothing about adverts: it runs in a
// namespace without its vty group, MPLS or a TCP vty, and zebra notes vrrpd's exit.
var frrNoise = regexp.MustCompile(`could chown socket|Disabling MPLS support|vty_serv_un|Client 'vrrp' encountered an error and is shutting down|stream_read_try: read failed`)

func (f *frrNode) complaints() []string { return f.logLines(frrComplaint, frrNoise) }

// ---------------------------------------------------------------------------------------
// The wire

// wireAdvert is an advert seen on the bridge.
type wireAdvert struct {
	at       time.Time
	from     string // the router whose port it entered the bridge by
	src, dst netip.Addr
	ttl      int
	payload  []byte // the IP payload
	adv      vrrp.Advertisement
	err      error  // decoding error
	form     string // checksum that matches: pseudo-header, message-only, message (VRRPv2), bad
}

// wire captures every VRRP packet that enters the bridge, on each router's port, in the
// switch namespace: multicast and unicast alike.
type wire struct {
	mu      sync.Mutex
	adverts []wireAdvert
}

// capture starts reading the frames that r's node sends into the bridge.
func (w *wire) capture(t *testing.T, sw *netnstest.NS, r router, macs []string) {
	t.Helper()
	var c *packet.Conn
	sw.MustDo(func() error {
		ifi, err := net.InterfaceByName(r.base().port)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	var from [][]byte
	for _, m := range macs {
		hw, err := net.ParseMAC(m)
		if err != nil {
			t.Fatal(err)
		}
		from = append(from, hw)
	}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 9000)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			// Frames the bridge forwards to the node show up on its port too: keep those
			// that the node sent.
			if n < 14 || !slices.ContainsFunc(from, func(m []byte) bool { return bytes.Equal(buf[6:12], m) }) {
				continue
			}
			if a, ok := decodeFrame(buf[:n]); ok {
				a.at, a.from = time.Now(), r.name()
				w.mu.Lock()
				w.adverts = append(w.adverts, a)
				w.mu.Unlock()
			}
		}
	}()
}

// decodeFrame returns the VRRP packet in an Ethernet frame, if there is one.
func decodeFrame(f []byte) (wireAdvert, bool) {
	var a wireAdvert
	et, ip := uint16(f[12])<<8|uint16(f[13]), f[14:]
	fam := vrrp.IPv4
	switch {
	case et == 0x0800 && len(ip) >= 20 && ip[9] == vrrp.IPProtocol:
		ihl, total := int(ip[0]&0x0f)*4, int(ip[2])<<8|int(ip[3])
		if total > len(ip) || ihl > total {
			return a, false
		}
		a.ttl = int(ip[8])
		a.src, _ = netip.AddrFromSlice(ip[12:16])
		a.dst, _ = netip.AddrFromSlice(ip[16:20])
		a.payload = slices.Clone(ip[ihl:total])
	case et == 0x86dd && len(ip) >= 40 && ip[6] == vrrp.IPProtocol:
		plen := int(ip[4])<<8 | int(ip[5])
		if 40+plen > len(ip) {
			return a, false
		}
		fam = vrrp.IPv6
		a.ttl = int(ip[7])
		a.src, _ = netip.AddrFromSlice(ip[8:24])
		a.dst, _ = netip.AddrFromSlice(ip[24:40])
		a.payload = slices.Clone(ip[40 : 40+plen])
	default:
		return a, false
	}
	a.adv, a.err = vrrp.Parse(a.payload, fam)
	a.form = "bad"
	if a.err == nil {
		msg := a.payload[:min(len(a.payload), a.adv.Len())]
		switch {
		case a.adv.Version == vrrp.Version2:
			if vrrp.Checksum(msg, vrrp.ChecksumMessageOnly, a.src, a.dst) == a.adv.Checksum {
				a.form = "message"
			}
		case vrrp.Checksum(msg, vrrp.ChecksumPseudoHeader, a.src, a.dst) == a.adv.Checksum:
			a.form = vrrp.ChecksumPseudoHeader.String()
		case fam == vrrp.IPv4 && vrrp.Checksum(msg, vrrp.ChecksumMessageOnly, a.src, a.dst) == a.adv.Checksum:
			a.form = vrrp.ChecksumMessageOnly.String()
		}
	}
	return a, true
}

// from returns the adverts r sent after since that keep accepts, oldest first.
func (w *wire) from(r router, since time.Time, keep func(wireAdvert) bool) []wireAdvert {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []wireAdvert
	for _, a := range w.adverts {
		if a.from == r.name() && !a.at.Before(since) && (keep == nil || keep(a)) {
			out = append(out, a)
		}
	}
	return out
}

// first waits up to within for an advert of r after since that keep accepts.
func (w *wire) first(t *testing.T, r router, since time.Time, keep func(wireAdvert) bool, within time.Duration, what string) wireAdvert {
	t.Helper()
	var got []wireAdvert
	netnstest.Eventually(t, within, func() bool {
		got = w.from(r, since, keep)
		return len(got) > 0
	}, "no %s from %s on the wire", what, r.name())
	return got[0]
}

// lastBefore returns the last advert of r before until.
func (w *wire) lastBefore(r router, until time.Time) (wireAdvert, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.adverts) - 1; i >= 0; i-- {
		if a := w.adverts[i]; a.from == r.name() && a.at.Before(until) {
			return a, true
		}
	}
	return wireAdvert{}, false
}

func alive(a wireAdvert) bool   { return a.err == nil && a.adv.Priority > 0 }
func leaving(a wireAdvert) bool { return a.err == nil && a.adv.Priority == 0 }

// ---------------------------------------------------------------------------------------
// The bed

// bed is one cell's network: vrrpd (g), the peer (p), and the capture.
type bed struct {
	t     *testing.T
	col   column
	lan   *netnstest.LAN
	g     *vrrpdNode
	p     router
	wire  *wire
	vip   netip.Prefix // the VIP of the column's family
	other netip.Prefix // another one, for a peer that advertises something else

	allowDrops      []string // drop reasons of vrrpd the cell expects
	peerMayComplain bool     // the cell expects the peer to refuse vrrpd's adverts
	splitBrain      bool     // the cell makes both master: vrrpd may report a split brain
	figures         []string // measured figures, for the doc
	notes           []string // what else the doc should say about the cell
}

// newBed builds the network of a cell: vrrpd gets address index gIdx (1 or 2), the peer
// the other one.
func newBed(t *testing.T, col column, gIdx int) *bed {
	t.Helper()
	netnstest.Require(t)
	b := &bed{t: t, col: col, lan: netnstest.NewLAN(t), wire: &wire{}}
	b.vip, b.other = netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("192.0.2.101/24")
	if col.family == 6 {
		b.vip, b.other = netip.MustParsePrefix("2001:db8::100/64"), netip.MustParsePrefix("2001:db8::101/64")
	}
	mk := func(label, prefix string, idx, port int) node {
		n := node{t: t, b: b, label: label, idx: idx, port: fmt.Sprintf("p%d", port), dir: tempDir(t)}
		n.ns = b.lan.Node(prefix, n.mac(), fmt.Sprintf("192.0.2.%d/24", idx), fmt.Sprintf("2001:db8::%d/64", idx))
		n.waitLinkLocal()
		return n
	}
	b.g = &vrrpdNode{node: mk("vrrpd", "g", gIdx, 1)}
	pn := mk(string(col.peer), "p", 3-gIdx, 2)
	var peerMACs []string
	switch col.peer {
	case keepalived:
		b.p = &keepalivedNode{node: pn}
		peerMACs = []string{pn.mac()}
	case frr:
		f := &frrNode{node: pn}
		b.p = f
		peerMACs = []string{pn.mac(), fmt.Sprintf("00:00:5e:00:01:%02x", vrid), fmt.Sprintf("00:00:5e:00:02:%02x", vrid)}
	}
	b.wire.capture(t, b.lan.Switch, b.g, []string{b.g.mac()})
	b.wire.capture(t, b.lan.Switch, b.p, peerMACs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s", b.g.logs())
			t.Logf("%s", b.p.logs())
		}
	})
	return b
}

// tempDir returns a directory removed when the test ends. Its name says nothing of the
// test: the daemons log their file names, and a cell named "checksum-..." must not make
// every line that names a file look like a complaint about checksums.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "interop")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// side returns a configuration of the column's version with the column's VIP.
func (b *bed) side(priority int, interval time.Duration) side {
	return side{priority: priority, interval: interval, version: b.col.version, vips: []netip.Prefix{b.vip}}
}

// fast is the interval of cells whose timing does not matter.
func (b *bed) fast() time.Duration {
	if b.col.version == 2 {
		return time.Second
	}
	return 200 * time.Millisecond
}

func (b *bed) routers() []router { return []router{b.g, b.p} }

func (b *bed) figure(format string, args ...any) {
	b.figures = append(b.figures, fmt.Sprintf(format, args...))
}

// vipProblem says what is wrong with where the VIPs are, or "": each live router holds
// its own VIPs while it is master and no VIP otherwise. A crashed node is left out: like
// a powered-off machine, it keeps whatever it had.
func (b *bed) vipProblem() string {
	var all []netip.Addr
	owned := func(r router) []netip.Prefix { return slices.Concat(r.config().vips, r.config().excluded) }
	for _, r := range b.routers() {
		for _, v := range owned(r) {
			if !slices.Contains(all, v.Addr()) {
				all = append(all, v.Addr())
			}
		}
	}
	for _, r := range b.routers() {
		if r.base().crashed {
			continue
		}
		master := r.state() == "MASTER"
		for _, v := range all {
			own := slices.ContainsFunc(owned(r), func(p netip.Prefix) bool { return p.Addr() == v })
			if has := r.holds(v); has != (master && own) {
				return fmt.Sprintf("%s (%s) holds %v: %v", r.name(), r.state(), v, has)
			}
		}
	}
	return ""
}

// states describes every router's state, for messages.
func (b *bed) states() string {
	return fmt.Sprintf("vrrpd %s, %s %s", b.g.state(), b.p.name(), b.p.state())
}

// oneMaster reports whether m is master, the other router backup or gone, and the VIPs
// on m only.
func (b *bed) oneMaster(m router) bool {
	other := b.peerOf(m).state()
	return m.state() == "MASTER" && (other == "BACKUP" || other == "STOPPED" || other == "CRASHED") && b.vipProblem() == ""
}

// expectMaster waits until m is the one master.
func (b *bed) expectMaster(m router, within time.Duration) {
	b.t.Helper()
	netnstest.Eventually(b.t, within, func() bool { return b.oneMaster(m) },
		"%s is not the one master: %s; VIPs: %s", m.name(), lazy(b.states), lazy(b.vipProblem))
	if f, ok := b.p.(*frrNode); ok && !f.crashed && f.state() != "STOPPED" {
		// FRR's own word, beside its log.
		want := map[bool]string{true: "Master", false: "Backup"}[m == router(b.p)]
		if got := f.show().Status; got != want {
			b.t.Fatalf("FRR's show vrrp says %s, want %s", got, want)
		}
	}
}

// steady checks that m stays the one master for d.
func (b *bed) steady(m router, d time.Duration) {
	b.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !b.oneMaster(m) {
			b.t.Fatalf("%s did not stay the one master: %s; VIPs: %s", m.name(), b.states(), b.vipProblem())
		}
	}
}

// expectBothMasters waits until both routers are master, each with its own VIPs.
func (b *bed) expectBothMasters(within time.Duration) {
	b.t.Helper()
	netnstest.Eventually(b.t, within, func() bool {
		return b.g.state() == "MASTER" && b.p.state() == "MASTER" && b.vipProblem() == ""
	}, "not two masters: %s; VIPs: %s", lazy(b.states), lazy(b.vipProblem))
}

// lazy formats as what it returns when formatted: Eventually's message arguments are
// evaluated before it polls, and must say what held when it gave up.
type lazy func() string

func (l lazy) String() string { return l() }

// client adds a host to the bridge, 192.0.2.10 and 2001:db8::10, that talks to the VIP.
func (b *bed) client() *netnstest.NS {
	b.t.Helper()
	netnstest.RequireCommand(b.t, "ping")
	return b.lan.Node("c", "02:00:00:00:01:0a", "192.0.2.10/24", "2001:db8::10/64")
}

// neighbour returns the MAC address that ns has for addr on eth0, or "".
func neighbour(t *testing.T, ns *netnstest.NS, addr netip.Addr) string {
	t.Helper()
	var entries []struct {
		LLAddr string `json:"lladdr"`
	}
	out := ns.IP("-j", "neigh", "show", "to", addr.String(), "dev", "eth0")
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("ip neigh: %v: %s", err, out)
	}
	if len(entries) == 0 {
		return ""
	}
	return entries[0].LLAddr
}

// cut stops the bridge from forwarding to and from the peer's port, without touching
// any link state: the two sides no longer hear each other. heal undoes it.
func (b *bed) cut() {
	b.t.Helper()
	netnstest.Run(b.t, "ip", "netns", "exec", b.lan.Switch.Name, "bridge", "link", "set", "dev", b.p.base().port, "state", "0")
}

func (b *bed) heal() {
	b.t.Helper()
	netnstest.Run(b.t, "ip", "netns", "exec", b.lan.Switch.Name, "bridge", "link", "set", "dev", b.p.base().port, "state", "3")
}

// mdi and skew are the Master_Down_Interval and Skew_Time of a backup configured as s
// behind a master advertising every masterInterval.
func mdi(s side, masterInterval time.Duration) time.Duration {
	return vrrp.MasterDownInterval(vrrp.Version(s.version), uint8(s.priority), masterInterval, vrrp.DefaultDownTimerAdverts)
}

func skew(s side, masterInterval time.Duration) time.Duration {
	return vrrp.SkewTime(vrrp.Version(s.version), uint8(s.priority), masterInterval)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// finish makes the checks every cell shares: what vrrpd dropped, what either side
// complained about, and what vrrpd put on the wire.
func (b *bed) finish() {
	b.t.Helper()
	for r, n := range b.g.allDrops() {
		if !slices.Contains(b.allowDrops, r) {
			b.t.Errorf("vrrpd dropped %d adverts: %s", n, r)
		}
	}
	if st, err := b.g.status(); err == nil && st.LastDrop != nil && !slices.Contains(b.allowDrops, st.LastDrop.Reason) {
		b.t.Errorf("vrrpd's last drop: %+v", *st.LastDrop)
	}
	dropLine := regexp.MustCompile(`dropped: `)
	splitLine := regexp.MustCompile(`msg="split brain with \S+ healed`)
	for _, c := range b.g.complaints() {
		switch {
		case len(b.allowDrops) > 0 && dropLine.MatchString(c):
		case b.splitBrain && splitLine.MatchString(c):
		default:
			b.t.Errorf("vrrpd logs: %s", c)
		}
	}
	if !b.peerMayComplain {
		for _, c := range b.p.complaints() {
			b.t.Errorf("%s complains: %s", b.p.name(), c)
		}
	}
	b.checkWire()
}

// checkWire checks every advert vrrpd sent: TTL or hop limit 255, the exact length for
// its address count, the destination, the source, the checksum form, and the fields.
func (b *bed) checkWire() {
	b.t.Helper()
	sent := b.wire.from(b.g, time.Time{}, nil)
	s := b.g.config()
	wantDst := vrrp.GroupIPv4
	if b.col.family == 6 {
		wantDst = vrrp.GroupIPv6
	}
	if b.col.unicast {
		wantDst = b.p.base().unicastAddr()
	}
	wantForm := "message"
	if s.version == 3 {
		wantForm = vrrp.ChecksumPseudoHeader.String()
		if s.messageOnly && b.col.family == 4 {
			wantForm = vrrp.ChecksumMessageOnly.String()
		}
	}
	bad := 0
	for _, a := range sent {
		var why []string
		if a.err != nil {
			why = append(why, a.err.Error())
		} else {
			adv := a.adv
			if a.ttl != 255 {
				why = append(why, fmt.Sprintf("TTL %d", a.ttl))
			}
			if len(a.payload) != adv.Len() {
				why = append(why, fmt.Sprintf("%d bytes for %d addresses", len(a.payload), len(adv.Addresses)))
			}
			if int(adv.Version) != s.version || adv.Type != vrrp.TypeAdvertisement || adv.VRID != vrid {
				why = append(why, fmt.Sprintf("version %d type %d vrid %d", adv.Version, adv.Type, adv.VRID))
			}
			var vips []netip.Addr
			for _, v := range s.vips {
				vips = append(vips, v.Addr())
			}
			if adv.Interval != s.interval || !slices.Equal(adv.Addresses, vips) {
				why = append(why, fmt.Sprintf("interval %v, addresses %v", adv.Interval, adv.Addresses))
			}
			if a.dst != wantDst {
				why = append(why, fmt.Sprintf("to %v", a.dst))
			}
			if a.src != b.g.source() {
				why = append(why, fmt.Sprintf("from %v", a.src))
			}
			if a.form != wantForm {
				why = append(why, "checksum "+a.form)
			}
			if s.version == 2 && adv.AuthData != vrrp.AuthPassword(s.password) {
				why = append(why, fmt.Sprintf("auth data %q", adv.AuthData))
			}
		}
		if len(why) > 0 {
			if bad++; bad <= 3 {
				b.t.Errorf("vrrpd sent %v -> %v: %s", a.src, a.dst, strings.Join(why, ", "))
			}
		}
	}
	if bad > 3 {
		b.t.Errorf("... %d bad adverts from vrrpd in all, of %d", bad, len(sent))
	}
}

// dropLines returns vrrpd's log lines that report drops of msg, with slog's time.
func (b *bed) dropLines(msg string) []time.Time {
	re := regexp.MustCompile(`time=(\S+) level=WARN msg="` + regexp.QuoteMeta(msg) + `"`)
	var out []time.Time
	for _, l := range b.g.runs() {
		for _, ln := range l.matching(re) {
			at, err := time.Parse(time.RFC3339Nano, re.FindStringSubmatch(ln.text)[1])
			if err != nil {
				b.t.Fatalf("time in %q: %v", ln.text, err)
			}
			out = append(out, at)
		}
	}
	return out
}
