package tracker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestEvaluateShowStat evaluates rules against `show stat` as HAProxy 2.6.12 answered
// it (testdata/show-stat.csv): be_app has one server up and one down, be_static one in
// maintenance and one down, be_legacy one without checks, be_drain one draining,
// be_empty none; frontend www is open, api paused.
func TestEvaluateShowStat(t *testing.T) {
	answer, err := os.ReadFile("testdata/show-stat.csv")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := parseShowStat(answer)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rule   string
		state  State
		detail string
	}{
		{"b:be_app", OK, "be_app UP (1/2 UP)"},
		{"b:be_static", Failing, "be_static DOWN (0/2 UP)"},
		{"all(b:be_app,b:be_static)", Failing, "be_app UP (1/2 UP), be_static DOWN (0/2 UP)"},
		{"any(b:be_app,b:be_static)", OK, "be_app UP (1/2 UP), be_static DOWN (0/2 UP)"},
		{"any(b:be_static,b:be_drain)", Failing, "be_static DOWN (0/2 UP), be_drain DOWN (0/1 UP)"},
		{"f:www", OK, "www OPEN"},
		{"f:api", Failing, "api PAUSED"},
		{"all(f:www,b:be_app,b:be_legacy)", OK, "www OPEN, be_app UP (1/2 UP), be_legacy UP (1/1 UP)"},
		{"b:be_empty", Failing, "be_empty DOWN (0/0 UP)"},
		{"b:missing", Failing, "backend missing not found"},
		{"f:be_app", Failing, "frontend be_app not found"},
		{"b:www", Failing, "backend www not found"},
	}
	for _, tt := range tests {
		rule, err := config.ParseHAProxyRule(tt.rule)
		if err != nil {
			t.Fatal(err)
		}
		if state, detail := evaluate(rule, stats); state != tt.state || detail != tt.detail {
			t.Errorf("%s: %v %q, want %v %q", tt.rule, state, detail, tt.state, tt.detail)
		}
	}
}

// TestParseShowStat: server states HAProxy reports while checks change their mind,
// quoted fields, and answers that are not the stats.
func TestParseShowStat(t *testing.T) {
	const answer = "# pxname,svname,status,check_desc,\n" +
		"be,s1,UP 1/3,\"refused, retrying\",\n" +
		"be,s2,DOWN 1/2,,\n" +
		"be,s3,NOLB,,\n" +
		"be,BACKEND,UP,,\n" +
		"short\n" +
		"\n"
	stats, err := parseShowStat([]byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	if p := stats["be"]; p == nil || p.servers != 3 || p.up != 1 || !p.backend {
		t.Errorf("be: %+v", p)
	}
	for _, bad := range []struct{ answer, err string }{
		{"", "not the output of show stat: empty answer"},
		{"Unknown command: 'show stat'\n", `not the output of show stat: "Unknown command: 'show stat'"`},
		{"Permission denied\n", `not the output of show stat: "Permission denied"`},
		{"# pxname,svname\nbe,s1\n", "not the output of show stat: no pxname, svname or status column"},
		{"# pxname,svname,status\nbe,\"s1,UP\n", "not the output of show stat: "},
	} {
		_, err := parseShowStat([]byte(bad.answer))
		if !errors.Is(err, errNotStats) || !strings.HasPrefix(err.Error(), bad.err) {
			t.Errorf("%q: %v, want %q", bad.answer, err, bad.err)
		}
	}
}

// fakeHAProxy answers the Runtime API's show stat with its current answer.
type fakeHAProxy struct {
	ln       net.Listener
	mu       sync.Mutex
	answer   string
	commands []string
	silent   bool // accept, then never answer
}

func startFakeHAProxy(t *testing.T, network, addr, answer string) *fakeHAProxy {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHAProxy{ln: ln, answer: answer}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(conn).ReadString('\n')
				h.mu.Lock()
				h.commands = append(h.commands, line)
				answer, silent := h.answer, h.silent
				h.mu.Unlock()
				if silent {
					buf := make([]byte, 1)
					conn.Read(buf) // until the client gives up
					return
				}
				fmt.Fprint(conn, answer)
			})
		}
	})
	return h
}

func (h *fakeHAProxy) set(answer string) {
	h.mu.Lock()
	h.answer = answer
	h.mu.Unlock()
}

const (
	statsUp   = "# pxname,svname,status\nwww,FRONTEND,OPEN\nbe_app,a1,UP\nbe_app,a2,UP\nbe_app,BACKEND,UP\nbe_static,s1,UP\n"
	statsDown = "# pxname,svname,status\nwww,FRONTEND,OPEN\nbe_app,a1,DOWN\nbe_app,a2,MAINT\nbe_app,BACKEND,DOWN\nbe_static,s1,UP\n"
)

// TestHAProxyTracker polls a fake Runtime API on a unix socket through a Set with a
// fake clock: backends up, then down, then the socket gone.
func TestHAProxyTracker(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	h := startFakeHAProxy(t, "unix", sock, statsUp)
	c := newFakeClock()
	cfg := parseConfig(t, `
haproxy:
  lb: {socket: `+sock+`, interval: 1s, timeout: 1s, rule: "all(b:be_app,b:be_static)"}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {haproxy: [{name: lb, weight: -100}]}}
`, nil)
	s, err := NewSet(cfg, c.env(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Calls()
	s.Start(context.Background())
	defer s.Close()
	c.WaitCalls(t, n+2) // the bound of the wait for a first result, and the first poll is done

	check := func(state State, detail string) {
		t.Helper()
		if st := statusOf(s, KindHAProxy, "lb"); st.State != state || st.Detail != detail {
			t.Fatalf("status %v %q, want %v %q", st.State, st.Detail, state, detail)
		}
	}
	check(OK, "be_app UP (2/2 UP), be_static UP (1/1 UP)")
	h.set(statsDown)
	c.AdvanceAndWait(t, time.Second)
	check(Failing, "be_app DOWN (0/2 UP), be_static UP (1/1 UP)")
	eventually(t, func() bool {
		p, _ := s.Priority("web")
		return p.Explanation == "priority 150 -> 50: lb failing (-100)"
	}, "priority with be_app down")
	h.mu.Lock()
	if h.commands[0] != "show stat\n" {
		t.Errorf("command %q", h.commands[0])
	}
	h.mu.Unlock()

	h.ln.Close()
	c.AdvanceAndWait(t, time.Second)
	if st := statusOf(s, KindHAProxy, "lb"); st.State != Failing || !strings.HasPrefix(st.Detail, "cannot connect to "+sock+": ") {
		t.Fatalf("with the socket gone: %+v", st)
	}
}

// TestShowStat: TCP, a silent HAProxy, and nothing listening.
func TestShowStat(t *testing.T) {
	h := startFakeHAProxy(t, "tcp", "127.0.0.1:0", statsUp)
	answer, err := showStat(context.Background(), h.ln.Addr().String())
	if err != nil || string(answer) != statsUp {
		t.Fatalf("over TCP: %q, %v", answer, err)
	}

	h.mu.Lock()
	h.silent = true
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = showStat(ctx, h.ln.Addr().String())
	if elapsed := time.Since(start); err == nil || elapsed > 2*time.Second {
		t.Fatalf("silent HAProxy: %v after %v", err, elapsed)
	}
	if !strings.Contains(err.Error(), "i/o timeout") {
		t.Errorf("silent HAProxy: %v", err)
	}

	if _, err := showStat(context.Background(), filepath.Join(t.TempDir(), "none.sock")); err == nil ||
		!strings.Contains(err.Error(), "cannot connect to ") {
		t.Errorf("no socket: %v", err)
	}
}

// TestHAProxyReal runs the tracker against a real HAProxy when one is installed: its
// backend's only server is a unix socket of the test, which the test closes.
func TestHAProxyReal(t *testing.T) {
	bin := netnstest.RequireCommand(t, "haproxy")
	dir := t.TempDir()
	app, err := net.Listen("unix", filepath.Join(dir, "app.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	go func() {
		for {
			conn, err := app.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	admin := filepath.Join(dir, "admin.sock")
	haproxyCfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend www
    bind unix@%s
    default_backend be_app
backend be_app
    server app1 unix@%s check inter 50ms rise 1 fall 1
`, admin, filepath.Join(dir, "www.sock"), filepath.Join(dir, "app.sock"))
	if err := os.WriteFile(cfgFile, []byte(haproxyCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", cfgFile)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	cfg := parseConfig(t, `
haproxy:
  lb: {socket: `+admin+`, interval: 50ms, rule: "all(f:www,b:be_app)"}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {haproxy: [lb]}}
`, nil)
	s, err := NewSet(cfg, Env{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	eventually(t, func() bool { return statusOf(s, KindHAProxy, "lb").State == OK }, "HAProxy is not up: %+v\n%s", statusOf(s, KindHAProxy, "lb"), &out)
	if st := statusOf(s, KindHAProxy, "lb"); st.Detail != "www OPEN, be_app UP (1/1 UP)" {
		t.Errorf("status %+v", st)
	}
	app.Close()
	eventually(t, func() bool { return statusOf(s, KindHAProxy, "lb").State == Failing }, "be_app still up: %+v", statusOf(s, KindHAProxy, "lb"))
	if st := statusOf(s, KindHAProxy, "lb"); st.Detail != "www OPEN, be_app DOWN (0/1 UP)" {
		t.Errorf("status %+v", st)
	}
	if p, _ := s.Priority("web"); !p.Fault || p.FaultReason != "lb failing (weight 0)" {
		t.Errorf("priority %+v", p)
	}
}
