package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The trackers end to end: the real HAProxy from Debian in front of small HTTP backends
// in each node, vrrpd following it by process and by its Runtime API, plus a script, an
// uplink and a drain file. Each failure on the master must move the VIP to the backup,
// and its repair bring it back (preempt). Detection-to-takeover times are logged.

type lbNode struct {
	*e2eNode
	haproxy *exec.Cmd
	hdone   chan struct{}
}

func (c *cluster) startBackends(t *testing.T, nd *e2eNode) (int, int) {
	t.Helper()
	var ports [2]int
	for i := range ports {
		var ln net.Listener
		nd.ns.MustDo(func() (err error) {
			ln, err = net.Listen("tcp4", "127.0.0.1:0")
			return err
		})
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, nd.name) }),
			ReadHeaderTimeout: time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	return ports[0], ports[1]
}

func (lb *lbNode) haproxyConfig() string { return filepath.Join(lb.dir, "haproxy.cfg") }
func (lb *lbNode) adminSocket() string   { return filepath.Join(lb.dir, "admin.sock") }

func (lb *lbNode) startHAProxy(t *testing.T) {
	t.Helper()
	cmd := lb.ns.Command(netnstest.RequireCommand(t, "haproxy"), "-db", "-f", lb.haproxyConfig())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	lb.haproxy, lb.hdone = cmd, done
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	netnstest.Eventually(t, 5*time.Second, func() bool {
		out, err := lb.runtime("show info")
		return err == nil && strings.Contains(out, "Name: HAProxy")
	}, "%s: haproxy's Runtime API did not answer", lb.name)
}

func (lb *lbNode) killHAProxy() {
	lb.haproxy.Process.Signal(syscall.SIGKILL)
	<-lb.hdone
}

// runtime sends one command to HAProxy's Runtime API.
func (lb *lbNode) runtime(cmd string) (string, error) {
	c, err := net.DialTimeout("unix", lb.adminSocket(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		return "", err
	}
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String(), nil
		}
	}
}

func (lb *lbNode) mustRuntime(t *testing.T, cmd string) {
	t.Helper()
	if out, err := lb.runtime(cmd); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("%s: haproxy %q: %v %q", lb.name, cmd, err, out)
	}
}

func TestE2EHAProxyTrackers(t *testing.T) {
	c := newCluster(t, 2)
	netnstest.RequireCommand(t, "haproxy")
	uplink := netnstest.NewLAN(t)
	var lbs []*lbNode
	for i, nd := range c.nodes {
		lb := &lbNode{e2eNode: nd}
		lbs = append(lbs, lb)
		uplink.Attach(nd.ns, "eth1", "")
		nd.ns.IP("addr", "add", fmt.Sprintf("198.51.100.%d/24", i+1), "dev", "eth1")
		p1, p2 := c.startBackends(t, nd)
		hcfg := fmt.Sprintf(`global
  stats socket %s mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind :8080
  default_backend be_app
backend be_app
  server s1 127.0.0.1:%d check inter 100ms
  server s2 127.0.0.1:%d check inter 100ms
`, lb.adminSocket(), p1, p2)
		if err := os.WriteFile(lb.haproxyConfig(), []byte(hcfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(nd.dir, "ok"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		lb.startHAProxy(t)
		prio := []int{150, 100}[i]
		cfg := fmt.Sprintf(`processes:
  haproxy: {match: %q, cmdline: true}
haproxy:
  lb: {socket: %s, interval: 100ms, rule: "all(b:be_app,f:www)"}
files:
  drain: {path: %s}
scripts:
  chk: {exec: [/usr/bin/test, -e, %s], interval: 100ms, fall: 1, rise: 1, user: root}
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: %d
    version: 3
    advert_interval: 100ms
    garp: {repeat: 1, delay: 0s}
    vips: [%s/24]
    track:
      processes: [{name: haproxy, weight: 0}]
      haproxy: [{name: lb, weight: -100}]
      files: [{name: drain, weight: 1}]
      scripts: [{name: chk, weight: -60}]
      interfaces: [{name: eth1, weight: -60}]
`, lb.haproxyConfig(), lb.adminSocket(), filepath.Join(nd.dir, "drain"), filepath.Join(nd.dir, "ok"), prio, vip)
		nd.writeFile(cfg)
		nd.start()
	}
	a, b := lbs[0], lbs[1]
	a.waitState("web", "MASTER", 10*time.Second)
	b.waitState("web", "BACKUP", 5*time.Second)
	netnstest.Eventually(t, 5*time.Second, func() bool { return a.instance("web").PriorityReason == "priority 150" },
		"a's trackers did not settle: %q", func() string { return a.instance("web").PriorityReason })

	// takeover breaks something on a, waits for b to take over, logs how long it took,
	// repairs it and waits for a to take the VIP back.
	takeover := func(what string, breakIt, repair func(), wantReason string) {
		t.Helper()
		start := time.Now()
		breakIt()
		b.waitState("web", "MASTER", 10*time.Second)
		took := time.Since(start)
		c.onlyOn(vip, b.e2eNode)
		st := a.instance("web")
		if !strings.Contains(st.PriorityReason, wantReason) {
			t.Errorf("%s: a's priority reason %q does not say %q", what, st.PriorityReason, wantReason)
		}
		t.Logf("%-40s detection to takeover %v; a: %s, %q", what, took.Round(time.Millisecond), st.State, st.PriorityReason)
		repair()
		a.waitState("web", "MASTER", 10*time.Second)
		b.waitState("web", "BACKUP", 5*time.Second)
		c.onlyOn(vip, a.e2eNode)
	}

	takeover("haproxy killed (process, weight 0)", a.killHAProxy, func() { a.startHAProxy(t) }, "haproxy failing (weight 0)")
	takeover("both servers disabled (Runtime API)", func() {
		a.mustRuntime(t, "disable server be_app/s1")
		a.mustRuntime(t, "disable server be_app/s2")
	}, func() {
		a.mustRuntime(t, "enable server be_app/s1")
	}, "lb failing (-100)")
	takeover("script failing", func() { os.Remove(filepath.Join(a.dir, "ok")) },
		func() { os.WriteFile(filepath.Join(a.dir, "ok"), nil, 0o644) }, "chk failing (-60)")
	takeover("uplink eth1 down (interface)", func() { a.ns.IP("link", "set", "eth1", "down") },
		func() { a.ns.IP("link", "set", "eth1", "up") }, "eth1 down (-60)")
	takeover("drain file -1000 (file)", func() { os.WriteFile(filepath.Join(a.dir, "drain"), []byte("-1000\n"), 0o644) },
		func() { os.WriteFile(filepath.Join(a.dir, "drain"), []byte("0\n"), 0o644) }, "drain")

	// show lists every tracker with its contribution.
	var out, errOut bytes.Buffer
	if code := run([]string{"show", "--socket", a.socket()}, &out, &errOut); code != 0 {
		t.Fatalf("show: %d %s", code, errOut.String())
	}
	for _, want := range []string{"track     process   haproxy", "track     haproxy   lb", "track     file      drain", "track     script    chk", "track     interface eth1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show does not list %q:\n%s", want, out.String())
		}
	}
}
