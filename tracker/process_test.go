package tracker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vrrpd/vrrpd/config"
)

// fakeProc is a directory laid out as /proc for the processes a test makes up.
type fakeProc string

// add makes process pid with a name, a state (R, S, Z...) and arguments.
func (p fakeProc) add(t *testing.T, pid int, comm string, state byte, args ...string) {
	t.Helper()
	dir := filepath.Join(string(p), strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := fmt.Sprintf("%d (%s) %c 1 %d %d 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 300 1000 100\n", pid, comm, state, pid, pid)
	cmdline := ""
	for _, a := range args {
		cmdline += a + "\x00"
	}
	for name, content := range map[string]string{"stat": stat, "cmdline": cmdline} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (p fakeProc) remove(t *testing.T, pid int) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(string(p), strconv.Itoa(pid))); err != nil {
		t.Fatal(err)
	}
}

func TestScanProcesses(t *testing.T) {
	proc := fakeProc(t.TempDir())
	proc.add(t, 100, "haproxy", 'S', "/usr/sbin/haproxy", "-Ws", "-f", "/etc/haproxy/haproxy.cfg")
	proc.add(t, 101, "haproxy", 'S', "/usr/sbin/haproxy", "-Ws", "-f", "/etc/haproxy/haproxy.cfg")
	proc.add(t, 102, "haproxy", 'Z')                                     // a zombie does not run
	proc.add(t, 103, "haproxy-wrapper", 'S', "/usr/bin/haproxy-wrapper") // another name
	proc.add(t, 104, "kworker/0:1", 'I')                                 // a kernel thread: no command line
	proc.add(t, 105, "a name (with) p", 'R', "/opt/bin/a name (with) parens")
	proc.add(t, 106, "python3", 'S', "python3", "/opt/check-haproxy.py")
	proc.add(t, os.Getpid(), "vrrpd", 'S', "/usr/sbin/vrrpd", "run", "-c", "/etc/vrrpd/haproxy.yaml") // never itself
	if err := os.WriteFile(filepath.Join(string(proc), "uptime"), []byte("1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    config.Process
		want string
	}{
		{"by name", config.Process{Match: "haproxy"}, "[100 101]"},
		{"by a name longer than comm keeps", config.Process{Match: "a name (with) parens"}, "[105]"},
		{"not by a prefix of the name", config.Process{Match: "haprox"}, "[]"},
		{"not by a longer name with the same 15 bytes", config.Process{Match: "haproxy-wrapper2"}, "[]"},
		{"by command line", config.Process{Match: "haproxy", Cmdline: true}, "[100 101 103 106]"},
		{"by arguments", config.Process{Match: "-f /etc/haproxy/haproxy.cfg", Cmdline: true}, "[100 101]"},
		{"nothing", config.Process{Match: "nginx"}, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pids, err := scanProcesses(string(proc), tt.p, os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(pids); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := scanProcesses(filepath.Join(string(proc), "missing"), config.Process{Match: "x"}, 0); err == nil {
		t.Error("no error for a missing /proc")
	}
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		in    string
		comm  string
		state byte
		ok    bool
	}{
		{"1 (systemd) S 0 1 1", "systemd", 'S', true},
		{"42 (a) b) (c) Z 1", "a) b) (c", 'Z', true},
		{"42 (x)", "", 0, false},
		{"garbage", "", 0, false},
	} {
		comm, state, ok := parseStat([]byte(tt.in))
		if comm != tt.comm || state != tt.state || ok != tt.ok {
			t.Errorf("parseStat(%q) = %q %c %v", tt.in, comm, state, ok)
		}
	}
}

// TestProcessTracker: the quorum (min and max) and the delay, with a fake /proc and a
// fake clock. New processes are seen at the next rescan.
func TestProcessTracker(t *testing.T) {
	proc := fakeProc(t.TempDir())
	proc.add(t, 100, "haproxy", 'S', "haproxy")
	c := newFakeClock()
	env := c.env()
	env.ProcRoot = string(proc)
	cfg := parseConfig(t, `
processes:
  haproxy: {min: 2, max: 3}
  nginx: {match: nginx, delay: 2s}
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 150
    vips: [192.0.2.100/24]
    track: {processes: [{name: haproxy, weight: -30}, {name: nginx, weight: 20}]}
`, nil)
	s, err := NewSet(cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Calls()
	s.Start(context.Background())
	defer s.Close()
	c.WaitCalls(t, n+2) // each tracker waits for its next scan

	check := func(name string, state State, detail string) {
		t.Helper()
		if st := statusOf(s, KindProcess, name); st.State != state || st.Detail != detail {
			t.Fatalf("%s: %v %q, want %v %q", name, st.State, st.Detail, state, detail)
		}
	}
	check("haproxy", Failing, "1 haproxy process (quorum 2..3): 100")
	check("nginx", Failing, "0 nginx processes (quorum 1)")
	if up := nextUpdate(t, s); up.Priority.Explanation != "priority 150 -> 120: haproxy failing (-30)" {
		t.Fatalf("first update %+v", up.Priority)
	}

	proc.add(t, 101, "haproxy", 'S', "haproxy")
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+4)
	check("haproxy", OK, "2 haproxy processes (quorum 2..3): 100, 101")
	proc.add(t, 102, "haproxy", 'S', "haproxy")
	proc.add(t, 103, "haproxy", 'S', "haproxy")
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+6)
	check("haproxy", Failing, "4 haproxy processes (quorum 2..3): 100, 101, 102, 103")
	proc.add(t, 103, "haproxy", 'Z')
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+8)
	check("haproxy", OK, "3 haproxy processes (quorum 2..3): 100, 101, 102")

	// nginx starts: the change waits for the delay, through two rescans.
	proc.add(t, 200, "nginx", 'S', "nginx")
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+10)
	check("nginx", Failing, "1 nginx process (quorum 1): 200; counts after delay 2s")
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+12)
	check("nginx", Failing, "1 nginx process (quorum 1): 200; counts after delay 2s")
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+14)
	check("nginx", OK, "1 nginx process (quorum 1): 200")
	eventually(t, func() bool {
		p, _ := s.Priority("web")
		return p.Explanation == "priority 150 -> 170: nginx ok (+20)"
	}, "priority with nginx up")

	// A stop shorter than the delay is not seen.
	proc.remove(t, 200)
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+16)
	check("nginx", OK, "0 nginx processes (quorum 1); counts after delay 2s")
	proc.add(t, 201, "nginx", 'S', "nginx")
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+18)
	check("nginx", OK, "1 nginx process (quorum 1): 201")
	c.AdvanceAndWait(t, processRescan)
	c.WaitCalls(t, n+20)
	check("nginx", OK, "1 nginx process (quorum 1): 201")
}

func TestProcessDescribe(t *testing.T) {
	for _, tt := range []struct {
		p    config.Process
		pids []int
		want string
	}{
		{config.Process{Match: "haproxy", Min: 1}, []int{1, 2}, "2 haproxy processes (quorum 1): 1, 2"},
		{config.Process{Match: "haproxy", Min: 1}, nil, "0 haproxy processes (quorum 1)"},
		{config.Process{Match: "haproxy -f", Cmdline: true, Min: 1, Max: 1}, []int{7}, `1 process matching "haproxy -f" (quorum 1..1): 7`},
		{config.Process{Match: "worker", Max: 2}, []int{1, 2, 3, 4, 5, 6}, "6 worker processes (at most 2): 1, 2, 3, 4, 5, …"},
	} {
		pt := &procTracker{cfg: tt.p}
		if got := pt.describe(tt.pids); got != tt.want {
			t.Errorf("describe = %q, want %q", got, tt.want)
		}
	}
}

// TestAnyGone: without pidfds, the matched processes are checked for an exit between
// scans.
func TestAnyGone(t *testing.T) {
	proc := fakeProc(t.TempDir())
	proc.add(t, 100, "haproxy", 'S', "haproxy")
	proc.add(t, 101, "haproxy", 'S', "haproxy")
	pt := &procTracker{root: string(proc), pids: []int{100, 101}}
	if pt.anyGone() {
		t.Fatal("gone while both run")
	}
	proc.add(t, 101, "haproxy", 'Z')
	if !pt.anyGone() {
		t.Fatal("a zombie is not seen gone")
	}
	proc.remove(t, 101)
	if !pt.anyGone() {
		t.Fatal("a reaped process is not seen gone")
	}
}
