package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// bfdDetection is the detection time of the sessions below: 3 x 100 ms both ways.
const bfdDetection = 300 * time.Millisecond

// bfdSlack is what a loaded machine may add to the detection time before vrrpd reports
// it: scheduling, and the poll of `vrrpd show`.
const bfdSlack = 500 * time.Millisecond

// bfdLab is a gateway running another BFD implementation and two vrrpd nodes on one
// bridge: a (priority 150) tracks its BFD session to the gateway with weight 0, b
// (priority 100) tracks nothing. Ports: p1 the gateway, p2 a, p3 b.
type bfdLab struct {
	t      *testing.T
	dir    string
	lan    *netnstest.LAN
	gw     *netnstest.NS
	a, b   *netnstest.NS
	gwLog  *netnstest.Buffer
	gwPort string // the gateway's switch port
}

func newBFDLab(t *testing.T) *bfdLab {
	netnstest.Require(t)
	l := &bfdLab{t: t, dir: t.TempDir(), lan: netnstest.NewLAN(t), gwLog: &netnstest.Buffer{}}
	l.gw = l.lan.Node("gw", "", "192.0.2.254/24", "2001:db8::fe/64")
	l.gwPort = "p1"
	l.a = l.lan.Node("a", "", "192.0.2.1/24", "2001:db8::1/64")
	l.b = l.lan.Node("b", "", "192.0.2.2/24", "2001:db8::2/64")
	return l
}

// startVrrpd runs vrrpd in ns with priority prio, tracking the BFD sessions of bfd (a
// YAML mapping, empty for none) with the track list track.
func (l *bfdLab) startVrrpd(ns *netnstest.NS, name string, prio int, bfd, track string) string {
	t := l.t
	dir := filepath.Join(l.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`node: %s
socket: %s/vrrpd.sock
state_file: %s/vips.json
%sinstances:
  - name: vi
    interface: eth0
    vrid: 51
    priority: %d
    advert_interval: 100ms
    vips: [192.0.2.100/24]
%s`, name, dir, dir, bfd, prio, track)
	path := filepath.Join(dir, "vrrpd.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &netnstest.Buffer{}
	cmd := ns.Command(vrrpdBinary(t), "run", "--config", path, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = out, out
	netnstest.Start(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vrrpd %s log:\n%s", name, out)
		}
	})
	return filepath.Join(dir, "vrrpd.sock")
}

func instanceStatus(socket string) (control.InstanceStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := control.QueryStatus(ctx, socket)
	if err != nil {
		return control.InstanceStatus{}, err
	}
	for _, in := range st.Instances {
		if in.Name == "vi" {
			return in, nil
		}
	}
	return control.InstanceStatus{}, fmt.Errorf("no instance vi")
}

// tracked returns the status of the BFD tracker name of vrrpd's instance.
func tracked(socket, name string) (control.TrackerStatus, string) {
	in, err := instanceStatus(socket)
	if err != nil {
		return control.TrackerStatus{}, "?"
	}
	for _, tr := range in.Trackers {
		if tr.Kind == "bfd" && tr.Name == name {
			return tr, in.State
		}
	}
	return control.TrackerStatus{}, in.State
}

func (l *bfdLab) waitTracker(socket, name, state, instance string, within time.Duration) control.TrackerStatus {
	l.t.Helper()
	var tr control.TrackerStatus
	var st string
	netnstest.Eventually(l.t, within, func() bool {
		tr, st = tracked(socket, name)
		return tr.State == state && (instance == "" || st == instance)
	}, "BFD tracker %s did not become %s with the instance %s; last: %+v, instance %s\ngateway log:\n%s", name, state, instance, tr, st, l.gwLog)
	return tr
}

func (l *bfdLab) waitState(socket, state string) {
	l.t.Helper()
	netnstest.Eventually(l.t, 15*time.Second, func() bool {
		in, err := instanceStatus(socket)
		return err == nil && in.State == state
	}, "instance did not become %s", state)
}

// cut takes the gateway's link on the switch down, or up again.
func (l *bfdLab) cut(down bool) {
	state := "up"
	if down {
		state = "down"
	}
	l.lan.Switch.IP("link", "set", l.gwPort, state)
}

// proveFailover checks the whole story against a gateway whose session is Up: the
// master a goes to FAULT within the detection time when the gateway's link goes down,
// b takes the VIP, and a takes it back when the link returns. peerDown tells whether
// the gateway's side says its session is down, which it must while the link is cut.
func (l *bfdLab) proveFailover(sockA, sockB, session string, peerDown func() bool) {
	t := l.t
	l.waitTracker(sockA, session, "ok", "MASTER", 30*time.Second)
	l.waitState(sockB, "BACKUP")

	cutAt := time.Now()
	l.cut(true)
	tr := l.waitTracker(sockA, session, "failing", "FAULT", 10*time.Second)
	d := tr.Since.Sub(cutAt)
	t.Logf("link cut: vrrpd's session %s down after %v (detection time %v): %s", session, d.Round(time.Millisecond), bfdDetection, tr.Detail)
	if d > bfdDetection+bfdSlack {
		t.Errorf("the session went down %v after the cut, want within %v and %v of slack", d, bfdDetection, bfdSlack)
	}
	if !strings.Contains(tr.Detail, "control detection time expired") {
		t.Errorf("tracker detail %q, want the detection time's diagnostic", tr.Detail)
	}
	l.waitState(sockB, "MASTER")
	// a keeps its VIP (make_before_break) until 20 ms after b's first advert.
	netnstest.Eventually(t, 2*time.Second, func() bool { return !l.a.HasAddress("eth0", vip100) },
		"after the cut: a still has the VIP 2 s after b became master")
	if !l.b.HasAddress("eth0", vip100) {
		t.Errorf("after the cut: b, master, has no VIP")
	}
	netnstest.Eventually(t, 10*time.Second, peerDown, "the gateway does not say its session is down:\n%s", l.gwLog)

	l.cut(false)
	l.waitTracker(sockA, session, "ok", "MASTER", 30*time.Second)
	l.waitState(sockB, "BACKUP")
}

var vip100 = netip.MustParseAddr("192.0.2.100")

// startFRR runs zebra and bfdd in the gateway's namespace, with peers to a over IPv4,
// IPv6 and IPv6 link-local at 100 ms x 3.
func (l *bfdLab) startFRR() string {
	t := l.t
	zebra := netnstest.RequireCommand(t, filepath.Join(frrDir, "zebra"))
	bfdd := netnstest.RequireCommand(t, filepath.Join(frrDir, "bfdd"))
	netnstest.RequireCommand(t, "vtysh")
	dir := filepath.Join(l.dir, "frr")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "hostname gw\n!\nbfd\n"
	lla, llgw := l.a.LinkLocal("eth0").String(), l.gw.LinkLocal("eth0").String()
	for _, p := range [][2]string{{"192.0.2.1", "192.0.2.254"}, {"2001:db8::1", "2001:db8::fe"}, {lla, llgw}} {
		conf += fmt.Sprintf(" peer %s local-address %s interface eth0\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n", p[0], p[1])
	}
	conf += "!\n"
	for name, c := range map[string]string{"zebra.conf": "hostname gw\n", "bfdd.conf": conf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	zsock := filepath.Join(dir, "zserv.api")
	common := []string{"-z", zsock, "--vty_socket", dir, "-u", "root", "-g", "frrvty", "-P", "0", "--log", "stdout"}
	z := l.gw.Command(zebra, append([]string{"-f", filepath.Join(dir, "zebra.conf"), "-i", filepath.Join(dir, "zebra.pid")}, common...)...)
	z.Stdout, z.Stderr = l.gwLog, l.gwLog
	netnstest.Start(t, z)
	netnstest.Eventually(t, 10*time.Second, func() bool { _, err := os.Stat(zsock); return err == nil }, "zebra did not start:\n%s", l.gwLog)
	b := l.gw.Command(bfdd, append([]string{"-f", filepath.Join(dir, "bfdd.conf"), "-i", filepath.Join(dir, "bfdd.pid")}, common...)...)
	b.Stdout, b.Stderr = l.gwLog, l.gwLog
	netnstest.Start(t, b)
	return dir
}

// frrPeers returns bfdd's view of its peers: status by peer address.
func frrPeers(t *testing.T, vtyDir string) map[string]string {
	out, err := exec.Command("vtysh", "--vty_socket", vtyDir, "-c", "show bfd peers json").Output()
	if err != nil {
		return nil
	}
	var peers []struct {
		Peer   string `json:"peer"`
		Status string `json:"status"`
	}
	if json.Unmarshal(out, &peers) != nil {
		return nil
	}
	m := map[string]string{}
	for _, p := range peers {
		m[p.Peer] = p.Status
	}
	return m
}

const vrrpdBFDToGateway = `bfd:
  gw4: {neighbor: 192.0.2.254, source: 192.0.2.1, interface: eth0, min_rx: 100ms, min_tx: 100ms, multiplier: 3}
  gw6: {neighbor: '2001:db8::fe', source: '2001:db8::1', interface: eth0, min_rx: 100ms, min_tx: 100ms, multiplier: 3}
  gwll: {neighbor: 'GWLL', interface: eth0, min_rx: 100ms, min_tx: 100ms, multiplier: 3}
`

// TestBFDAgainstFRR: vrrpd's BFD sessions to FRR's bfdd come Up over IPv4, IPv6 and
// IPv6 link-local (both sides say so); when the gateway's link goes down, the IPv4 session goes down
// within the detection time and the instance that tracks it with weight 0 goes to FAULT,
// so the VIP moves to the peer; with the link back, the session and the VIP return.
func TestBFDAgainstFRR(t *testing.T) {
	l := newBFDLab(t)
	vty := l.startFRR()
	sockA := l.startVrrpd(l.a, "a", 150, strings.Replace(vrrpdBFDToGateway, "GWLL", l.gw.LinkLocal("eth0").String(), 1),
		"    track: {bfd: [{name: gw4, weight: 0}, {name: gw6, weight: -10}, {name: gwll, weight: -10}]}\n")
	sockB := l.startVrrpd(l.b, "b", 100, "", "")
	l.waitTracker(sockA, "gw6", "ok", "", 30*time.Second)
	l.waitTracker(sockA, "gwll", "ok", "", 30*time.Second)
	lla := l.a.LinkLocal("eth0").String()
	netnstest.Eventually(t, 15*time.Second, func() bool {
		p := frrPeers(t, vty)
		return p["192.0.2.1"] == "up" && p["2001:db8::1"] == "up" && p[lla] == "up"
	}, "bfdd does not see the three sessions up: %v\n%s", frrPeers(t, vty), l.gwLog)
	out, err := exec.Command(vrrpdBinary(t), "show", "--detail", "--socket", sockA).CombinedOutput()
	if err != nil || !regexp.MustCompile(`track +bfd +gw6 +ok .*\(2001:db8::fe: Up\)`).Match(out) {
		t.Errorf("vrrpd show --detail does not show the session gw6 up (%v):\n%s", err, out)
	}
	l.proveFailover(sockA, sockB, "gw4", func() bool { return frrPeers(t, vty)["192.0.2.1"] == "down" })
	netnstest.Eventually(t, 15*time.Second, func() bool { return frrPeers(t, vty)["192.0.2.1"] == "up" },
		"bfdd does not see the session up again: %v", frrPeers(t, vty))
}

// keepalivedBFDState matches keepalived's log of a BFD session's state.
var keepalivedBFDState = regexp.MustCompile(`\(vrrpd\) Entering (\w+) state`)

// TestBFDAgainstKeepalived: the same against keepalived's own BFD process.
func TestBFDAgainstKeepalived(t *testing.T) {
	l := newBFDLab(t)
	netnstest.RequireCommand(t, "keepalived")
	dir := filepath.Join(l.dir, "keepalived")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := `bfd_instance vrrpd {
    neighbor_ip 192.0.2.1
    source_ip 192.0.2.254
    min_rx 100
    min_tx 100
    multiplier 3
}
`
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ka := l.gw.Command("keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--use-file", path,
		"--pid", filepath.Join(dir, "keepalived.pid"), "--bfd_pid", filepath.Join(dir, "bfd.pid"),
		"--vrrp_pid", filepath.Join(dir, "vrrp.pid"), "--checkers_pid", filepath.Join(dir, "checkers.pid"))
	ka.Stdout, ka.Stderr = l.gwLog, l.gwLog
	netnstest.Start(t, ka)
	sockA := l.startVrrpd(l.a, "a", 150, "bfd:\n  gw4: {neighbor: 192.0.2.254, source: 192.0.2.1, min_rx: 100ms, min_tx: 100ms, multiplier: 3}\n",
		"    track: {bfd: [{name: gw4, weight: 0}]}\n")
	sockB := l.startVrrpd(l.b, "b", 100, "", "")
	keepalivedState := func() string {
		if m := keepalivedBFDState.FindAllStringSubmatch(l.gwLog.String(), -1); len(m) > 0 {
			return m[len(m)-1][1]
		}
		return ""
	}
	l.waitTracker(sockA, "gw4", "ok", "MASTER", 30*time.Second)
	netnstest.Eventually(t, 10*time.Second, func() bool { return keepalivedState() == "Up" },
		"keepalived does not say its session is up:\n%s", l.gwLog)
	l.proveFailover(sockA, sockB, "gw4", func() bool { return keepalivedState() == "Down" })
	netnstest.Eventually(t, 10*time.Second, func() bool { return keepalivedState() == "Up" },
		"keepalived does not say its session is up again:\n%s", l.gwLog)
}
