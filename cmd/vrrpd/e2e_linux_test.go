package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/daemon"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// End-to-end tests: the vrrpd binary, as an operator runs it, in network namespaces on
// one bridge, with a client that probes the VIP.

// vrrpd is the binary under test, built once with the race detector; plainVrrpd as
// shipped, for tests that measure. TestMain removes them.
var vrrpd, plainVrrpd = netnstest.Vrrpd{}, netnstest.Vrrpd{Plain: true}

func TestMain(m *testing.M) {
	code := m.Run()
	vrrpd.Remove()
	plainVrrpd.Remove()
	os.Exit(code)
}

func vrrpdBinary(t *testing.T) string { return vrrpd.Path(t) }

type e2eNode struct {
	t    *testing.T
	name string
	ns   *netnstest.NS
	dir  string
	cmd  *exec.Cmd
	out  *netnstest.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
	// crashed nodes keep whatever addresses they had, like a powered-off machine; they
	// are left out when counting who holds a VIP.
	crashed bool
	// bin, when set, is the binary to run instead of the race-detector build.
	bin string
	// wrap, when set, is a command line that runs vrrpd's, such as setpriv's.
	wrap []string
}

type cluster struct {
	t      *testing.T
	lan    *netnstest.LAN
	nodes  []*e2eNode
	client *netnstest.NS
}

const vip = "192.0.2.100"

// newCluster creates n nodes (192.0.2.1..n) and a client (192.0.2.10). Each node answers
// UDP probes on port 7 on every address, the VIP included, with its name.
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	netnstest.Require(t)
	c := &cluster{t: t, lan: netnstest.NewLAN(t)}
	for i := range n {
		name := fmt.Sprintf("lb%d", i+1)
		ns := c.lan.Node(name, fmt.Sprintf("02:00:00:00:01:%02x", i+1), fmt.Sprintf("192.0.2.%d/24", i+1))
		nd := &e2eNode{t: t, name: name, ns: ns, dir: t.TempDir()}
		c.nodes = append(c.nodes, nd)
		echo(t, ns, name)
	}
	c.client = c.lan.Node("cl", "", "192.0.2.10/24")
	return c
}

// echo answers UDP probes in ns with name, until the test ends.
func echo(t *testing.T, ns *netnstest.NS, name string) {
	var pc net.PacketConn
	ns.MustDo(func() (err error) {
		pc, err = net.ListenPacket("udp4", ":7")
		return err
	})
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(append(buf[:n:n], name...), from)
		}
	}()
}

// writeConfig writes the node's configuration: its instances in YAML under `instances:`.
func (nd *e2eNode) writeConfig(instances string) {
	nd.t.Helper()
	nd.writeFile("instances:\n" + instances)
}

// writeFile writes the node's configuration: its paths, then rest.
func (nd *e2eNode) writeFile(rest string) {
	nd.t.Helper()
	cfg := fmt.Sprintf("node: %s\nsocket: %s\nstate_file: %s\nscript_user: root\n%s",
		nd.name, nd.socket(), filepath.Join(nd.dir, "vips.json"), rest)
	if err := os.WriteFile(nd.config(), []byte(cfg), 0o644); err != nil {
		nd.t.Fatal(err)
	}
}

func (nd *e2eNode) config() string { return filepath.Join(nd.dir, "vrrpd.yaml") }
func (nd *e2eNode) socket() string { return filepath.Join(nd.dir, "vrrpd.sock") }

func (nd *e2eNode) start() {
	nd.t.Helper()
	nd.out = &netnstest.Buffer{}
	bin := nd.bin
	if bin == "" {
		bin = vrrpdBinary(nd.t)
	}
	args := append(nd.wrap[:len(nd.wrap):len(nd.wrap)], bin, "run", "--config", nd.config(), "--log-level", "debug")
	cmd := nd.ns.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = nd.out, nd.out
	if err := cmd.Start(); err != nil {
		nd.t.Fatal(err)
	}
	done := make(chan struct{})
	nd.cmd, nd.done = cmd, done
	go func() { nd.err = cmd.Wait(); close(done) }()
	out := nd.out
	nd.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if nd.t.Failed() {
			nd.t.Logf("%s log:\n%s", nd.name, out.String())
		}
	})
	netnstest.Eventually(nd.t, 10*time.Second, func() bool {
		_, err := nd.status()
		return err == nil
	}, "%s did not answer on its control socket:\n%s", nd.name, nd.out)
}

// stop sends SIGTERM and waits for exit 0.
func (nd *e2eNode) stop() {
	nd.t.Helper()
	_ = nd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-nd.done:
		if nd.err != nil {
			nd.t.Fatalf("%s exited with %v:\n%s", nd.name, nd.err, nd.out)
		}
	case <-time.After(15 * time.Second):
		nd.t.Fatalf("%s did not stop", nd.name)
	}
}

// crash kills vrrpd and pulls the node's cable: a node that lost power.
func (nd *e2eNode) crash() {
	nd.t.Helper()
	_ = nd.cmd.Process.Kill()
	<-nd.done
	nd.ns.IP("link", "set", "eth0", "down")
	nd.crashed = true
}

// revive brings a crashed node's link back; its VIPs are still there until vrrpd starts.
func (nd *e2eNode) revive() {
	nd.t.Helper()
	nd.ns.IP("link", "set", "eth0", "up")
	nd.crashed = false
}

func (nd *e2eNode) reload() {
	nd.t.Helper()
	_ = nd.cmd.Process.Signal(syscall.SIGHUP)
}

func (nd *e2eNode) status() (daemon.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return daemon.QueryStatus(ctx, nd.socket())
}

func (nd *e2eNode) instance(name string) daemon.InstanceStatus {
	nd.t.Helper()
	st, err := nd.status()
	if err != nil {
		nd.t.Fatalf("%s: %v", nd.name, err)
	}
	for _, in := range st.Instances {
		if in.Name == name {
			return in
		}
	}
	nd.t.Fatalf("%s has no instance %s", nd.name, name)
	return daemon.InstanceStatus{}
}

func (nd *e2eNode) waitState(instance, state string, within time.Duration) {
	nd.t.Helper()
	netnstest.Eventually(nd.t, within, func() bool {
		st, err := nd.status()
		if err != nil {
			return false
		}
		for _, in := range st.Instances {
			if in.Name == instance {
				return in.State == state
			}
		}
		return false
	}, "%s %s did not become %s", nd.name, instance, state)
}

func (nd *e2eNode) hasVIP(addr string) bool {
	return nd.ns.HasAddress("eth0", netip.MustParseAddr(addr))
}

// holders returns the live nodes that have addr.
func (c *cluster) holders(addr string) []string {
	var out []string
	for _, nd := range c.nodes {
		if !nd.crashed && nd.hasVIP(addr) {
			out = append(out, nd.name)
		}
	}
	return out
}

func (c *cluster) onlyOn(addr string, want *e2eNode) {
	c.t.Helper()
	netnstest.Eventually(c.t, 5*time.Second, func() bool {
		h := c.holders(addr)
		return len(h) == 1 && h[0] == want.name
	}, "%s on %v, want only on %s", addr, c.holders(addr), want.name)
}

func instanceYAML(name string, vrid, prio int, interval string, vips ...string) string {
	return fmt.Sprintf("  - name: %s\n    interface: eth0\n    vrid: %d\n    priority: %d\n    version: 3\n    advert_interval: %s\n    garp: {repeat: 1, delay: 0s}\n    vips: [%s]\n",
		name, vrid, prio, interval, strings.Join(vips, ", "))
}

// prober sends a UDP probe to the VIP every 5 ms from the client and records when
// answers came back and from whom.
type prober struct {
	mu      sync.Mutex
	replies []reply
	stop    chan struct{}
	done    chan struct{}
}

type reply struct {
	at   time.Time
	from string
}

func (c *cluster) probe() *prober {
	c.t.Helper()
	var pc net.PacketConn
	c.client.MustDo(func() (err error) {
		pc, err = net.ListenPacket("udp4", ":0")
		return err
	})
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	to := &net.UDPAddr{IP: net.ParseIP(vip), Port: 7}
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n > 8 {
				p.mu.Lock()
				p.replies = append(p.replies, reply{time.Now(), string(buf[8:n])})
				p.mu.Unlock()
			}
		}
	}()
	go func() {
		defer close(p.done)
		defer pc.Close()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var seq uint64
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				seq++
				pc.WriteTo(binary.BigEndian.AppendUint64(nil, seq), to)
			}
		}
	}()
	c.t.Cleanup(p.finish)
	return p
}

func (p *prober) finish() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// outage returns the longest time without an answer after since, and who answered last.
func (p *prober) outage(since time.Time) (time.Duration, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var longest time.Duration
	last, who := since, ""
	for _, r := range p.replies {
		if r.at.Before(since) {
			continue
		}
		longest = max(longest, r.at.Sub(last))
		last, who = r.at, r.from
	}
	return longest, who
}

func (p *prober) answeredBy(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.replies) > 0 && p.replies[len(p.replies)-1].from == name
}

// startPair starts lb1 at priority 150 and lb2 at 100 with one instance "web" carrying
// the VIP, advertising every interval, and waits for lb1 to be master.
func (c *cluster) startPair(interval string) (a, b *e2eNode) {
	c.t.Helper()
	a, b = c.nodes[0], c.nodes[1]
	a.writeConfig(instanceYAML("web", 51, 150, interval, vip+"/24"))
	b.writeConfig(instanceYAML("web", 51, 100, interval, vip+"/24"))
	a.start()
	b.start()
	a.waitState("web", "MASTER", 10*time.Second)
	b.waitState("web", "BACKUP", 5*time.Second)
	return a, b
}

func TestE2EElectionCrashAndPreempt(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.startPair("100ms")
	c.onlyOn(vip, a)
	if st := b.instance("web"); st.Master != "192.0.2.1" || st.MasterPriority != 150 {
		t.Fatalf("b follows %s at %d", st.Master, st.MasterPriority)
	}

	// show, as an operator reads it.
	var out, errOut bytes.Buffer
	if code := run([]string{"show", "--socket", b.socket()}, &out, &errOut); code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"web  BACKUP  VRID 51  v3 IPv4 multicast", "master    192.0.2.1, priority 150", "vip       192.0.2.100/24", "absent"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show does not say %q:\n%s", want, out.String())
		}
	}

	a.crash()
	b.waitState("web", "MASTER", 3*time.Second)
	// 0.361 s in protocol time; the real clock may add a millisecond or two.
	if r := b.instance("web").Reason; !regexp.MustCompile(`^master down timer expired \(0\.3[6-9]\d s without adverts from 192\.0\.2\.1\)$`).MatchString(r) {
		t.Errorf("b's reason: %q", r)
	}

	// a comes back: it removes the VIP the crash left, then preempts.
	a.revive()
	a.start()
	a.waitState("web", "MASTER", 5*time.Second)
	b.waitState("web", "BACKUP", 2*time.Second)
	c.onlyOn(vip, a)
	if r := a.instance("web").Reason; !strings.HasPrefix(r, "preempted 192.0.2.2") {
		t.Errorf("a's reason: %q", r)
	}
}

func TestE2EThreeNodes(t *testing.T) {
	c := newCluster(t, 3)
	prios := []int{100, 200, 150}
	for i, nd := range c.nodes {
		nd.writeConfig(instanceYAML("web", 51, prios[i], "100ms", vip+"/24"))
		nd.start()
	}
	lb1, lb2, lb3 := c.nodes[0], c.nodes[1], c.nodes[2]
	lb2.waitState("web", "MASTER", 5*time.Second)
	c.onlyOn(vip, lb2)
	lb2.crash()
	// The second highest takes over, not the lowest: its skew is shorter.
	lb3.waitState("web", "MASTER", 3*time.Second)
	lb1.waitState("web", "BACKUP", time.Second)
	c.onlyOn(vip, lb3)
	if got := lb1.instance("web").Master; got != "192.0.2.3" {
		t.Fatalf("lb1 follows %s", got)
	}
}

func TestE2EGracefulStopAndRestart(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.startPair("100ms")

	// Restarting the backup leaves the master alone.
	since := a.instance("web").Since
	b.stop()
	b.start()
	b.waitState("web", "BACKUP", 5*time.Second)
	if st := a.instance("web"); st.State != "MASTER" || !st.Since.Equal(since) {
		t.Fatalf("a is %s since %v after b's restart (was master since %v)", st.State, st.Since, since)
	}

	// Stopping the master hands over in skew time (0.061 s at priority 100, 100 ms).
	a.stop()
	if a.hasVIP(vip) {
		t.Fatal("the stopped master kept the VIP")
	}
	b.waitState("web", "MASTER", time.Second)
	if r := b.instance("web").Reason; !regexp.MustCompile(`^master 192\.0\.2\.1 left \(priority 0\), took over after skew time 0\.0[6-9]\d s$`).MatchString(r) {
		t.Errorf("b's reason: %q", r)
	}
	c.onlyOn(vip, b)

	// Stopping every node leaves no VIP anywhere.
	b.stop()
	if h := c.holders(vip); len(h) > 0 {
		t.Fatalf("VIP left on %v after stop", h)
	}
}

func TestE2EReload(t *testing.T) {
	c := newCluster(t, 2)
	const vip2 = "192.0.2.101"
	a, b := c.startPair("100ms")
	since := a.instance("web").Since

	// Add a VIP and drop one, on both nodes: no transition anywhere.
	for _, nd := range []*e2eNode{a, b} {
		prio := map[*e2eNode]int{a: 150, b: 100}[nd]
		nd.writeConfig(instanceYAML("web", 51, prio, "100ms", vip2+"/24"))
		nd.reload()
	}
	netnstest.Eventually(t, 5*time.Second, func() bool { return a.hasVIP(vip2) && !a.hasVIP(vip) },
		"after reload: %s on a %v, %s on a %v", vip, a.hasVIP(vip), vip2, a.hasVIP(vip2))
	time.Sleep(time.Second) // ten adverts, in which a transition would show
	if st := a.instance("web"); st.State != "MASTER" || !st.Since.Equal(since) {
		t.Fatalf("a is %s since %v after reload (master since %v)", st.State, st.Since, since)
	}
	if st := b.instance("web"); st.State != "BACKUP" || st.Drops["address_list"]+st.Drops["address_count"] > 5 {
		t.Fatalf("b after reload: %s, drops %v", st.State, st.Drops)
	}
	c.onlyOn(vip2, a)

	// A broken file is refused and changes nothing.
	if err := os.WriteFile(a.config(), []byte("instances:\n  - name: web\n    vrid: 300\n    bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.reload()
	// Every problem is logged, each on its line with the file's line and column.
	for _, want := range []string{"vrrpd.yaml:3:11: instances[web].vrid", "vrrpd.yaml:4:5: instances[web].bogus"} {
		netnstest.Eventually(t, 5*time.Second, func() bool {
			for _, line := range strings.Split(a.out.String(), "\n") {
				if strings.Contains(line, "reload refused") && strings.Contains(line, want) {
					return true
				}
			}
			return false
		}, "the refusal does not point at %s", want)
	}
	if st := a.instance("web"); st.State != "MASTER" || !st.Since.Equal(since) || !a.hasVIP(vip2) {
		t.Fatalf("after a bad reload: %s since %v, VIP %v", st.State, st.Since, a.hasVIP(vip2))
	}
}

func TestE2ECheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("node: n\ninstances:\n"+instanceYAML("web", 51, 100, "1s", vip+"/24")), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "--offline", "--config", good}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "OK, 1 instances") {
		t.Fatalf("check good: %d %q %q", code, out.String(), errOut.String())
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("instances:\n  - name: web\n    interface: eth0\n    vrid: 0\n    version: 2\n    advert_interval: 100ms\n    vips: [2001:db8::1]\n"), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"check", "--offline", "--config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("check bad: exit %d", code)
	}
	for _, want := range []string{"bad.yaml:4:11: instances[web].vrid", "bad.yaml:5:14: instances[web].version: VRRPv2 is IPv4 only", "bad.yaml:6:22"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("check does not report %s:\n%s", want, errOut.String())
		}
	}
}

// TestE2EOutage measures what a client sees: the longest gap in answers to UDP probes
// every 5 ms, for a crash and for a graceful stop of the master, at 1 s and 100 ms.
// The figures are logged for the record; the assertions only bound them by the protocol.
func TestE2EOutage(t *testing.T) {
	for _, tc := range []struct {
		interval string
		mdi      time.Duration // Master_Down_Interval of the backup at priority 100
		skew     time.Duration
	}{
		{"1s", 3609 * time.Millisecond, 609 * time.Millisecond},
		{"100ms", 361 * time.Millisecond, 61 * time.Millisecond},
	} {
		t.Run(tc.interval, func(t *testing.T) {
			for _, how := range []string{"crash", "stop"} {
				c := newCluster(t, 2)
				a, _ := c.startPair(tc.interval)
				p := c.probe()
				netnstest.Eventually(t, 5*time.Second, func() bool { return p.answeredBy("lb1") }, "no answers from lb1")
				at := time.Now()
				if how == "crash" {
					a.crash()
				} else {
					a.stop()
				}
				netnstest.Eventually(t, 10*time.Second, func() bool { return p.answeredBy("lb2") }, "lb2 never answered")
				time.Sleep(200 * time.Millisecond)
				p.finish()
				gap, who := p.outage(at)
				t.Logf("%s at %s: clients saw no answer for %v (protocol: %v)", how, tc.interval, gap.Round(time.Millisecond),
					map[string]time.Duration{"crash": tc.mdi, "stop": tc.skew}[how])
				limit := map[string]time.Duration{"crash": tc.mdi, "stop": tc.skew}[how] + 500*time.Millisecond
				if gap > limit || who != "lb2" {
					t.Errorf("%s: outage %v (limit %v), last answer from %s", how, gap, limit, who)
				}
			}
		})
	}
}

// TestE2ESystemdNotify listens where systemd would (NOTIFY_SOCKET) and checks what vrrpd
// tells the service manager on start, reload and stop.
func TestE2ESystemdNotify(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	a.writeConfig(instanceYAML("web", 51, 150, "100ms", vip+"/24"))
	path := filepath.Join(a.dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	expect := func(prefix string) {
		t.Helper()
		select {
		case m := <-msgs:
			if !strings.HasPrefix(m, prefix) {
				t.Fatalf("sd_notify %q, want %q", m, prefix)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no sd_notify %q", prefix)
		}
	}
	t.Setenv("NOTIFY_SOCKET", path)
	a.start()
	expect("READY=1")
	a.reload()
	expect("RELOADING=1\nMONOTONIC_USEC=")
	expect("READY=1")
	a.stop()
	expect("STOPPING=1")
}
