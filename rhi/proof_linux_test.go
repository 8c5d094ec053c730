package rhi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The proof: three vrrpd nodes announce a service over BGP to a real router (BIRD 2,
// then FRR), which spreads a client's connections over them with ECMP; a backend that
// fails, a vrrpd killed, hung or stopped, a router restart, reloads, MD5 and the last
// resort of on_failure, each seen in the router's kernel table and by the client.

var vrrpd netnstest.Vrrpd

func TestMain(m *testing.M) {
	code := m.Run()
	vrrpd.Remove()
	os.Exit(code)
}

const (
	svc4 = "198.51.100.10"
	svc6 = "2001:db8:100::10"
)

const (
	statsUp   = "# pxname,svname,status\nbe_app,a1,UP\nbe_app,a2,UP\nbe_app,BACKEND,UP\n"
	statsDown = "# pxname,svname,status\nbe_app,a1,DOWN\nbe_app,a2,DOWN\nbe_app,BACKEND,DOWN\n"
)

// stats stands for HAProxy's Runtime API: `show stat` answers what the test set, and
// when it was set.
type stats struct {
	mu  sync.Mutex
	csv string
	at  time.Time
}

func (s *stats) set(csv string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.csv, s.at = csv, time.Now()
	return s.at
}

func serveStats(t *testing.T, path string, s *stats) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Second))
				buf := make([]byte, 64)
				c.Read(buf)
				s.mu.Lock()
				csv := s.csv
				s.mu.Unlock()
				io.WriteString(c, csv)
			}()
		}
	}()
}

type node struct {
	t     *testing.T
	name  string
	ns    *netnstest.NS
	addr4 string
	addr6 string
	dir   string
	stats *stats
	cmd   *exec.Cmd
	done  chan struct{}
	out   *netnstest.Buffer
	port  string // its port on the LAN's bridge
	// password, when set, is the TCP MD5 password of its IPv4 peer; bfd, when set,
	// the peer's bfd setting, such as "{interval: 100ms, multiplier: 3}".
	password string
	bfd      string
	// onFailure is its routes' on_failure, "" for the default (withdraw).
	onFailure string
}

type lab struct {
	t      *testing.T
	lan    *netnstest.LAN
	router *netnstest.NS
	client *netnstest.NS
	nodes  []*node
	kind   string // bird or frr
	dir    string
	rprocs []*exec.Cmd
	rdone  chan struct{}
	extra  string // more routes of each node
	top    string // more top-level sections of each node's file
}

func newLab(t *testing.T, kind string, n int) *lab {
	netnstest.Require(t)
	l := &lab{t: t, kind: kind, dir: t.TempDir()}
	lan := netnstest.NewLAN(t)
	l.lan = lan
	l.router = lan.Node("rt", "", "192.0.2.1/24", "2001:db8::1/64")
	l.client = netnstest.NewNS(t, "cl")
	l.router.IP("link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", l.client.Name)
	l.router.IP("addr", "add", "203.0.113.1/24", "dev", "eth1")
	l.router.IP("link", "set", "eth1", "up")
	l.client.IP("addr", "add", "203.0.113.10/24", "dev", "eth0")
	l.client.IP("link", "set", "eth0", "up")
	l.client.IP("route", "add", "default", "via", "203.0.113.1")
	for _, s := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv4.fib_multipath_hash_policy=1", "net.ipv6.fib_multipath_hash_policy=1"} {
		if out, err := l.router.Exec("sysctl", "-qw", s); err != nil {
			t.Fatalf("sysctl %s: %v %s", s, err, out)
		}
	}
	for i := range n {
		nd := &node{t: t, name: fmt.Sprintf("n%d", i+1), addr4: fmt.Sprintf("192.0.2.%d", 11+i), addr6: fmt.Sprintf("2001:db8::%d", 11+i),
			stats: &stats{}, dir: filepath.Join(l.dir, fmt.Sprintf("n%d", i+1)), port: fmt.Sprintf("p%d", i+2)}
		nd.ns = lan.Node(nd.name, "", nd.addr4+"/24", nd.addr6+"/64")
		nd.ns.IP("route", "add", "203.0.113.0/24", "via", "192.0.2.1")
		os.MkdirAll(nd.dir, 0o755)
		nd.stats.set(statsUp)
		serveStats(t, filepath.Join(nd.dir, "admin.sock"), nd.stats)
		serveName(t, nd.ns, nd.name)
		l.nodes = append(l.nodes, nd)
	}
	return l
}

// serveName answers each TCP connection on port 80 with the node's name.
func serveName(t *testing.T, ns *netnstest.NS, name string) {
	var ln net.Listener
	ns.MustDo(func() (err error) {
		ln, err = net.Listen("tcp", ":80")
		return err
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, name+"\n")
			c.Close()
		}
	}()
}

func (l *lab) config(nd *node) string {
	var peer, route string
	if nd.password != "" {
		pw := filepath.Join(nd.dir, "router.key")
		if err := os.WriteFile(pw, []byte(nd.password+"\n"), 0o600); err != nil {
			l.t.Fatal(err)
		}
		peer += ", password_file: " + pw
	}
	if nd.bfd != "" {
		peer += ", bfd: " + nd.bfd
	}
	if nd.onFailure != "" {
		route = "      on_failure: " + nd.onFailure + "\n"
	}
	return fmt.Sprintf(`node: %s
socket: %s/vrrpd.sock
state_file: %s/vips.json
haproxy:
  lb: {socket: %s/admin.sock, interval: 20ms, timeout: 1s, rule: b:be_app}
%sbgp:
  asn: 65010
  router_id: %s
  drain: 1s
  peers:
    - {address: 192.0.2.1, asn: 65000%s}
    - {address: "2001:db8::1", asn: 65000}
  routes:
    - name: web
      prefixes: [%s/32, "%s/128"]
      address: {interface: lo}
      when: haproxy:lb/b:be_app
%s%s`, nd.name, nd.dir, nd.dir, nd.dir, l.top, nd.addr4, peer, svc4, svc6, route, l.extra)
}

func (l *lab) startNode(nd *node) {
	t := l.t
	if err := os.WriteFile(filepath.Join(nd.dir, "vrrpd.yaml"), []byte(l.config(nd)), 0o644); err != nil {
		t.Fatal(err)
	}
	nd.out = &netnstest.Buffer{}
	nd.cmd = nd.ns.Command(vrrpd.Path(t), "run", "--config", filepath.Join(nd.dir, "vrrpd.yaml"), "--log-level", "debug")
	nd.cmd.Stdout, nd.cmd.Stderr = nd.out, nd.out
	if err := nd.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nd.done = make(chan struct{})
	cmd, done, out := nd.cmd, nd.done, nd.out
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", nd.name, out)
		}
	})
}

func (nd *node) status() (control.Status, error) {
	out, err := exec.Command(vrrpd.Path(nd.t), "show", "--json", "--socket", filepath.Join(nd.dir, "vrrpd.sock")).Output()
	var st control.Status
	if err == nil {
		err = json.Unmarshal(out, &st)
	}
	return st, err
}

func (nd *node) signal(sig syscall.Signal) { nd.cmd.Process.Signal(sig) }

// peer returns the node's status of its session with the router over IPv4.
func (nd *node) peer() control.BGPPeerStatus {
	st, err := nd.status()
	if err != nil || st.BGP == nil || len(st.BGP.Peers) == 0 {
		return control.BGPPeerStatus{}
	}
	return st.BGP.Peers[0]
}

// cut takes the node's port on the bridge down: its frames no longer reach the router,
// which sees nothing of it but silence.
func (l *lab) cut(nd *node, down bool) {
	state := "up"
	if down {
		state = "down"
	}
	l.lan.Switch.IP("link", "set", nd.port, state)
}

// nexthops returns the next hops of the router's kernel route to dst, sorted.
func (l *lab) nexthops(dst string) []string {
	args := []string{"-n", l.router.Name, "-j", "route", "show", dst}
	if strings.Contains(dst, ":") {
		args = append([]string{"-6"}, args...)
	}
	out, err := exec.Command("ip", args...).Output()
	if err != nil {
		return nil
	}
	var routes []struct {
		Gateway  string `json:"gateway"`
		Nexthops []struct {
			Gateway string `json:"gateway"`
		} `json:"nexthops"`
	}
	if json.Unmarshal(out, &routes) != nil {
		return nil
	}
	var gws []string
	for _, r := range routes {
		if r.Gateway != "" {
			gws = append(gws, r.Gateway)
		}
		for _, nh := range r.Nexthops {
			gws = append(gws, nh.Gateway)
		}
	}
	slices.Sort(gws)
	return gws
}

// waitNexthops polls the router's kernel table every millisecond until dst has n next
// hops, and returns when that was first seen.
func (l *lab) waitNexthops(dst string, n int, timeout time.Duration) time.Time {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if len(l.nexthops(dst)) == n {
			return time.Now()
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("after %v: %s has next hops %v, want %d\n%s", timeout, dst, l.nexthops(dst), n, l.routerLog())
		}
		time.Sleep(time.Millisecond)
	}
}

// connect opens one connection from the client to the service and returns the node
// that answered.
func (l *lab) connect(addr string) (string, error) {
	var name string
	err := l.client.Do(func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "80"), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		b, err := io.ReadAll(c)
		name = strings.TrimSpace(string(b))
		if err == nil && name == "" {
			err = io.ErrUnexpectedEOF
		}
		return err
	})
	return name, err
}

// spread opens n connections and counts them by node.
func (l *lab) spread(n int) map[string]int {
	l.t.Helper()
	count := map[string]int{}
	for range n {
		name, err := l.connect(svc4)
		if err != nil {
			l.t.Fatalf("connection to the service: %v", err)
		}
		count[name]++
	}
	return count
}
