package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/internal/systemdtest"
)

var vip = netip.MustParseAddr("192.0.2.100")

// lb1's configuration: the master, at priority 200 (150 without its stand-in for
// haproxy, a sleep run by another user), with the default socket and state file in the
// unit's RuntimeDirectory.
const lb1Config = `node: lb1
processes:
  standin: {match: sleep}
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 200
    advert_interval: 100ms
    garp: {repeat: 1, delay: 0s}
    vips: [192.0.2.100/24]
    promote_secondaries: true
    track:
      processes: [{name: standin, weight: -50}]
`

// The stand-in for haproxy: a process of another user, which vrrpd's process tracker
// must see through ProtectProc=invisible.
const standIn = `[Unit]
Description=a process of another user, for vrrpd's process tracker

[Service]
User=nobody
ExecStart=/bin/sleep 600
`

// A probe of what ProtectProc=invisible shows a root process without CAP_SYS_PTRACE,
// as vrrpd is, but in group %i: it lists /proc into proc-%i.txt.
const procProbe = `[Service]
Type=oneshot
ProtectProc=invisible
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
Group=%i
ExecStart=/bin/ls /proc
StandardOutput=truncate:` + systemdtest.Root + `/proc-%i.txt
`

// peerMasterDown is the peer's Master_Down_Interval: 3 adverts of 100 ms and the skew
// time of priority 100, (256-100)/256 of one. A restart that outlasts it hands the VIP
// to the peer.
const peerMasterDown = 3*100*time.Millisecond + (256-100)*100*time.Millisecond/256

// restarts is how many times TestSystemdUnit kills vrrpd.
const restarts = 5

// TestSystemdUnit runs the shipped unit, with its sandboxing, under a real systemd
// (systemdtest): lb1's vrrpd is master of 192.0.2.100, and lb2 runs a second vrrpd, not
// under systemd, as its backup at priority 100 with 100 ms adverts. It checks that the
// process tracker sees another user's process through ProtectProc=invisible, that the
// watchdog does not kill a healthy vrrpd, that after a SIGKILL ExecStopPost removes the
// VIP before systemd restarts vrrpd, and that a stop hands over to the peer. With -v it
// prints how long a restart takes, against the peer's Master_Down_Interval (about
// 361 ms); `make systemd-figures` prints just those.
func TestSystemdUnit(t *testing.T) {
	systemdtest.Require(t)
	lan := netnstest.NewLAN(t)
	lb1 := lan.Node("lb1", "02:00:00:00:01:01", "192.0.2.1/24")
	lb2 := lan.Node("lb2", "02:00:00:00:01:02", "192.0.2.2/24")
	vips := watchVIP(t, map[string]*netnstest.NS{"lb1": lb1, "lb2": lb2})

	m := systemdtest.Start(t, lb1)
	bin := buildVrrpd(t, m.Dir)
	inside := func(name string) string { return path.Join(systemdtest.Root, name) }
	if err := os.WriteFile(filepath.Join(m.Dir, "vrrpd.yaml"), []byte(lb1Config), 0o644); err != nil {
		t.Fatal(err)
	}
	m.InstallUnit("vrrpd.service", unitText(t, inside("vrrpd"), inside("vrrpd.yaml")))
	m.InstallUnit("haproxy-standin.service", standIn)
	m.InstallUnit("proc-probe@.service", procProbe)
	peer := startPeer(t, lb2, bin)
	// vrrpd sets it through ProtectKernelTunables: the unit leaves the interfaces'
	// network sysctls writable.
	if out, err := lb1.Exec("sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=0"); err != nil {
		t.Fatalf("sysctl: %v: %s", err, out)
	}

	m.Systemctl("start", "haproxy-standin.service")
	m.Systemctl("start", "vrrpd.service")
	show := func() (control.InstanceStatus, error) {
		out, err := m.Exec(inside("vrrpd"), "show", "--json")
		if err != nil {
			return control.InstanceStatus{}, fmt.Errorf("vrrpd show: %w: %s", err, out)
		}
		return webOf(out)
	}
	waitRoles(t, show, peer)
	started := m.Monotonic("vrrpd.service", "ActiveEnterTimestampMonotonic")
	pid := m.HostPID("vrrpd.service")

	t.Run("InterfaceSysctlsWritable", func(t *testing.T) {
		out, err := lb1.Exec("sysctl", "-n", "net.ipv4.conf.eth0.promote_secondaries")
		if err != nil || strings.TrimSpace(out) != "1" {
			t.Fatalf("promote_secondaries on eth0 is %q (%v), want 1 set by vrrpd under the unit", out, err)
		}
	})

	t.Run("ProcessTrackerSeesOtherUsers", func(t *testing.T) {
		// The setting is in force: vrrpd's /proc hides the processes of other users...
		if opts := procMountOptions(t, pid); !slices.Contains(opts, "hidepid=invisible") {
			t.Fatalf("vrrpd's /proc is mounted with %v, not hidepid=invisible", opts)
		}
		standin := m.HostPID("haproxy-standin.service")
		if uid := statusField(t, standin, "Uid"); !strings.HasPrefix(uid, "65534\t") {
			t.Fatalf("the stand-in runs as uid %q, not nobody", uid)
		}
		// ...except from those with CAP_SYS_PTRACE, which vrrpd has not, and the
		// members of the group named by hidepid's gid= option, by default 0, which
		// vrrpd (root) is. A probe shows both sides.
		standinPID := m.Show("haproxy-standin.service", "MainPID")["MainPID"]
		m.Systemctl("start", "proc-probe@root.service", "proc-probe@nogroup.service")
		for group, want := range map[string]bool{"root": true, "nogroup": false} {
			b, err := os.ReadFile(filepath.Join(m.Dir, "proc-"+group+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(strings.Fields(string(b)), standinPID); got != want {
				t.Fatalf("ProtectProc=invisible: the stand-in (PID %s) in the /proc of group %s: %v, want %v:\n%s", standinPID, group, got, want, b)
			}
		}
		// The tracker counts the stand-in, by its PID in the manager.
		tracker := func() control.TrackerStatus {
			st, err := show()
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range st.Trackers {
				if tr.Name == "standin" {
					return tr
				}
			}
			t.Fatalf("no standin tracker in %+v", st.Trackers)
			return control.TrackerStatus{}
		}
		if tr := tracker(); tr.State != "ok" || !strings.HasSuffix(tr.Detail, ": "+standinPID) {
			t.Fatalf("standin tracker %s (%s), want ok with PID %s", tr.State, tr.Detail, standinPID)
		}
		// And it sees it go.
		m.Systemctl("stop", "haproxy-standin.service")
		netnstest.Eventually(t, 3*time.Second, func() bool { return tracker().State == "failing" },
			"the tracker still counts the stopped stand-in: %+v", tracker())
		m.Systemctl("start", "haproxy-standin.service")
		netnstest.Eventually(t, 3*time.Second, func() bool { return tracker().State == "ok" },
			"the tracker does not see the restarted stand-in: %+v", tracker())
	})

	t.Run("Watchdog", func(t *testing.T) {
		// WatchdogSec=10s: a vrrpd that stopped pinging would be killed and restarted
		// within 10 s; 25 s running on, with a ping in the last 10, shows it pings.
		if got := m.Show("vrrpd.service", "WatchdogUSec")["WatchdogUSec"]; got != "10s" {
			t.Fatalf("WatchdogUSec=%s, want 10s", got)
		}
		for m.Now()-started < 25*time.Second {
			p := m.Show("vrrpd.service", "ActiveState", "NRestarts")
			if p["ActiveState"] != "active" || p["NRestarts"] != "0" || m.HostPID("vrrpd.service") != pid {
				t.Fatalf("vrrpd did not run on: %v\n%s", p, m.Systemctl("status", "--no-pager", "vrrpd.service"))
			}
			time.Sleep(time.Second)
		}
		ping := m.Monotonic("vrrpd.service", "WatchdogTimestampMonotonic")
		if ping < started+15*time.Second || m.Now()-ping > 10*time.Second {
			t.Fatalf("last watchdog ping %v after start, %v ago", ping-started, m.Now()-ping)
		}
	})

	t.Run("RestartAfterSIGKILL", func(t *testing.T) {
		var gone, ready []time.Duration
		for i := range restarts {
			r := killAndWait(t, m, vips, show, peer)
			t.Logf("restart %d: VIP gone %v, new main process %v, READY=1 %v, peer master %v, lb1 master again %v",
				i+1, ms(r.gone), ms(r.mainStart), ms(r.ready), ms(r.peerMaster), ms(r.back))
			gone, ready = append(gone, r.gone), append(ready, r.ready)
		}
		t.Logf("after SIGKILL (%d restarts): stale VIP gone in %v median, %v worst; vrrpd READY=1 in %v median, %v worst; the peer's Master_Down_Interval is %v",
			restarts, ms(median(gone)), ms(slices.Max(gone)), ms(median(ready)), ms(slices.Max(ready)), ms(peerMasterDown))
	})

	t.Run("StopHandsOver", func(t *testing.T) {
		m.Systemctl("stop", "vrrpd.service")
		if lb1.HasAddress("eth0", vip) {
			t.Fatal("the stopped vrrpd left its VIP")
		}
		netnstest.Eventually(t, 2*time.Second, func() bool {
			st, err := peer()
			return err == nil && st.State == "MASTER"
		}, "the peer did not take over")
	})
}

// restart is what followed one SIGKILL, each time since the kill: the VIP left lb1,
// systemd started vrrpd again, vrrpd said READY=1, the peer took the VIP (0 if it did
// not), and lb1 was master again with the VIP.
type restart struct {
	gone, mainStart, ready, peerMaster, back time.Duration
}

// killAndWait kills lb1's vrrpd with SIGKILL and waits until both nodes are back in
// their roles.
func killAndWait(t *testing.T, m *systemdtest.Manager, vips *vipLog, show, peer func() (control.InstanceStatus, error)) restart {
	t.Helper()
	// Five starts in ten seconds is systemd's default start limit; each restart here is
	// one, and the test's are closer together than crashes would be.
	m.Systemctl("reset-failed", "vrrpd.service")
	pid := m.HostPID("vrrpd.service")
	if pid == 0 {
		t.Fatal("vrrpd has no main process")
	}
	killed, mono := time.Now(), m.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var r restart
	netnstest.Eventually(t, 5*time.Second, func() bool {
		r.ready = m.Monotonic("vrrpd.service", "ActiveEnterTimestampMonotonic") - mono
		return r.ready > 0
	}, "vrrpd was not restarted:\n%s", lazy(func() string { return m.Systemctl("status", "--no-pager", "vrrpd.service") }))
	r.mainStart = m.Monotonic("vrrpd.service", "ExecMainStartTimestampMonotonic") - mono
	waitRoles(t, show, peer)

	var ok bool
	if r.gone, ok = vips.first(killed, "lb1", false); !ok {
		t.Fatal("the killed vrrpd's VIP stayed on lb1")
	}
	// ExecStopPost runs before the restart: the VIP is gone before the next vrrpd runs.
	if r.gone > r.mainStart {
		t.Errorf("the VIP left lb1 %v after the kill, after the next vrrpd started (%v)", r.gone, r.mainStart)
	}
	netnstest.Eventually(t, time.Second, func() bool {
		r.back, ok = vips.first(killed, "lb1", true)
		return ok
	}, "lb1 is master, but no VIP was added")
	r.peerMaster, _ = vips.first(killed, "lb2", true)
	return r
}

// waitRoles waits until lb1 is master with the VIP and the peer its backup.
func waitRoles(t *testing.T, show, peer func() (control.InstanceStatus, error)) {
	t.Helper()
	var a, b control.InstanceStatus
	netnstest.Eventually(t, 5*time.Second, func() bool {
		var err1, err2 error
		a, err1 = show()
		b, err2 = peer()
		return err1 == nil && err2 == nil && a.State == "MASTER" && b.State == "BACKUP" &&
			len(a.VIPs) == 1 && a.VIPs[0].Present
	}, "lb1 %s, lb2 %s; want MASTER with its VIP and BACKUP",
		lazy(func() string { return a.State }), lazy(func() string { return b.State }))
}

// lazy is a message part worked out when the message is printed.
type lazy func() string

func (l lazy) String() string { return l() }

// startPeer runs lb2's vrrpd, the backup, directly in its namespace, and returns how to
// read its instance.
func startPeer(t *testing.T, ns *netnstest.NS, bin string) func() (control.InstanceStatus, error) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vrrpd.yaml")
	sock := filepath.Join(dir, "vrrpd.sock")
	text := fmt.Sprintf(`node: lb2
socket: %s
state_file: %s
script_user: root
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 100
    advert_interval: 100ms
    garp: {repeat: 1, delay: 0s}
    vips: [192.0.2.100/24]
`, sock, filepath.Join(dir, "vips.json"))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &netnstest.Buffer{}
	cmd := ns.Command(bin, "run", "--config", cfg)
	cmd.Stdout, cmd.Stderr = out, out
	netnstest.Start(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lb2's vrrpd:\n%s", out)
		}
	})
	return func() (control.InstanceStatus, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := control.QueryStatus(ctx, sock)
		if err != nil {
			return control.InstanceStatus{}, err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return control.InstanceStatus{}, err
		}
		return webOf(string(b))
	}
}

// webOf returns the instance web from `vrrpd show --json`.
func webOf(js string) (control.InstanceStatus, error) {
	var st control.Status
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		return control.InstanceStatus{}, fmt.Errorf("vrrpd show --json: %w: %s", err, js)
	}
	for _, in := range st.Instances {
		if in.Name == "web" {
			return in, nil
		}
	}
	return control.InstanceStatus{}, fmt.Errorf("no instance web in %s", js)
}

// vipLog records when the VIP comes and goes on each node, as the kernel reports it.
type vipLog struct {
	mu     sync.Mutex
	events []vipEvent
}

type vipEvent struct {
	at    time.Time
	node  string
	added bool
}

// watchVIP subscribes to the address changes of each namespace until the test ends.
func watchVIP(t *testing.T, nodes map[string]*netnstest.NS) *vipLog {
	t.Helper()
	l := &vipLog{}
	for name, ns := range nodes {
		netnstest.FollowAddresses(t, ns, func(u netlink.AddrUpdate) {
			if a, ok := netip.AddrFromSlice(u.LinkAddress.IP); ok && a.Unmap() == vip {
				l.mu.Lock()
				l.events = append(l.events, vipEvent{time.Now(), name, u.NewAddr})
				l.mu.Unlock()
			}
		})
	}
	return l
}

// first returns how long after since the VIP was first added to (or removed from)
// node.
func (l *vipLog) first(since time.Time, node string, added bool) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.node == node && e.added == added && !e.at.Before(since) {
			return e.at.Sub(since), true
		}
	}
	return 0, false
}

// procMountOptions returns the options of the /proc a process sees.
func procMountOptions(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if f := strings.Fields(pre); ok && len(f) >= 5 && f[4] == "/proc" {
			if g := strings.Fields(post); len(g) == 3 {
				return strings.Split(g[2], ",")
			}
		}
	}
	t.Fatalf("no /proc in %d's mounts", pid)
	return nil
}

// statusField returns a field of /proc/PID/status.
func statusField(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return ""
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// ms rounds a duration to the millisecond, for the figures.
func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
