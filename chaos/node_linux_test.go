package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/daemons"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The two daemons a node can run.
const (
	vrrpdDaemon      = string(daemons.Vrrpd)
	keepalivedDaemon = string(daemons.Keepalived)
)

// VRIDs of the two instances: one per address family.
const (
	vrid4 = 51
	vrid6 = 52
)

// Bounds of the harness's waits on a daemon.
const (
	stopWait      = 20 * time.Second // a graceful stop, as the systemd unit allows
	secondRunWait = 5 * time.Second  // a second daemon that does not give up is killed then
)

// node is a namespace on the LAN with its daemon, its checks and its configuration.
type node struct {
	t      *testing.T
	c      *cluster
	idx    int
	name   string
	daemon string
	ns     *netnstest.NS
	port   string // its port on the bridge
	dir    string
	addr4  netip.Addr
	addr6  netip.Addr

	// The configuration in force.
	priority int
	vips     []netip.Prefix
	tracked  bool

	proc *proc
	log  *daemonLog
}

// own reports whether a is one of the node's own addresses rather than a VIP.
func (n *node) own(a netip.Addr) bool {
	return a == n.addr4 || a == n.addr6 || a.IsLinkLocalUnicast() || a.IsLoopback()
}

func (n *node) path(name string) string { return filepath.Join(n.dir, name) }

// vipsOf returns the node's VIPs of one family.
func (n *node) vipsOf(v6 bool) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range n.vips {
		if v.Addr().Is6() == v6 {
			out = append(out, v)
		}
	}
	return out
}

// instance is one virtual router of a node: one per address family.
type instance struct {
	name string
	vrid int
	vips []netip.Prefix
}

// instances returns the node's instances: IPv4 always, IPv6 when it has IPv6 VIPs.
func (n *node) instances() []instance {
	out := []instance{{"v4", vrid4, n.vipsOf(false)}}
	if v6 := n.vipsOf(true); len(v6) > 0 {
		out = append(out, instance{"v6", vrid6, v6})
	}
	return out
}

// config describes the node's configuration in force, for either daemon.
func (n *node) config() *daemons.Node {
	cfg := &daemons.Node{Name: n.name, Socket: n.path("vrrpd.sock"), StateFile: n.path("vips.json"),
		Files: []daemons.File{{Name: "lower", Path: n.path("lower")}, {Name: "fault", Path: n.path("fault")}}}
	for _, in := range n.instances() {
		di := daemons.Instance{Name: in.name, Interface: "eth0", VRID: in.vrid, Priority: n.priority, Version: 3,
			Interval: n.c.setup.Interval, VIPs: in.vips}
		if n.tracked {
			di.Track = []daemons.Track{{File: "lower", Weight: n.c.setup.Weight}, {File: "fault", Weight: 0}}
		}
		cfg.Instances = append(cfg.Instances, di)
	}
	return cfg
}

func (n *node) configPath() string {
	if n.daemon == keepalivedDaemon {
		return n.path("keepalived.conf")
	}
	return n.path("vrrpd.yaml")
}

func (n *node) writeConfig() error {
	return os.WriteFile(n.configPath(), []byte(n.config().Config(daemons.Kind(n.daemon))), 0o644)
}

// configured records the configuration in force.
func (n *node) configured() {
	var vips []netip.Addr
	for _, v := range n.vips {
		vips = append(vips, v.Addr())
	}
	n.c.rec.add(Event{Kind: Configured, Node: n.idx, Priority: n.priority, Addrs: vips, Tracked: n.tracked})
}

// command returns the daemon's command line, in the node's namespace.
func (n *node) command() *exec.Cmd {
	if n.daemon == keepalivedDaemon {
		// Every path is the node's own: pid files, configuration; no syslog.
		return daemons.KeepalivedCommand(n.ns.Name, n.configPath(), n.dir)
	}
	return daemons.VrrpdCommand(n.ns.Name, n.c.vrrpd, n.configPath(), "info")
}

// proc is a daemon process.
type proc struct {
	*daemons.Process
	// expected is set before the harness signals the process to end.
	expected atomic.Bool
}

// exitCode returns the status of an exited process, -1 if a signal ended it.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// start writes the configuration and starts the daemon. It does not wait for it: the
// timeline tells what it does.
func (n *node) start() error {
	if err := n.writeConfig(); err != nil {
		return err
	}
	cmd := n.command()
	cmd.Stdout, cmd.Stderr = n.log, n.log
	dp, err := daemons.Start(cmd)
	if err != nil {
		return fmt.Errorf("start %s on %s: %w", n.daemon, n.name, err)
	}
	p := &proc{Process: dp}
	n.proc = p
	n.c.rec.add(Event{Kind: DaemonUp, Node: n.idx})
	n.configured()
	go func() {
		err := p.Err()
		e := Event{Kind: DaemonExited, Node: n.idx, Code: exitCode(err), Text: "expected"}
		if !p.expected.Load() {
			e.Text = fmt.Sprintf("unexpected (%v)", err)
		}
		n.c.rec.add(e)
	}()
	return nil
}

// running reports whether the daemon runs.
func (n *node) running() bool { return n.proc != nil && !n.proc.Exited() }

// childPID returns keepalived's VRRP process, from its pid file, once it is sure that
// the process is this node's keepalived.
func (n *node) childPID() (int, error) { return daemons.KeepalivedChild(n.dir, n.configPath()) }

// kill ends the daemon with SIGKILL, as a crash would.
func (n *node) kill() error {
	if !n.running() {
		return fmt.Errorf("kill %s: not running", n.name)
	}
	n.c.rec.add(Event{Kind: DaemonDown, Node: n.idx, Text: "kill"})
	return n.killAll()
}

// killAll kills what runs of the daemon: keepalived as daemons.KillKeepalived does. Its
// VRRP child is reaped before killAll returns, since keepalived refuses to start again
// while the pid of its pid file exists: the test binary is a child subreaper
// (TestMain), so the orphan comes to it.
func (n *node) killAll() error {
	p := n.proc
	if p == nil {
		return nil
	}
	p.expected.Store(true)
	if n.daemon != keepalivedDaemon {
		p.Kill()
		return nil
	}
	if child := daemons.KillKeepalived(p.Process, n.dir, n.configPath()); child > 0 {
		return daemons.Reap(child, 5*time.Second)
	}
	return nil
}

// term stops the daemon with SIGTERM and waits for it.
func (n *node) term() error {
	if !n.running() {
		return fmt.Errorf("stop %s: not running", n.name)
	}
	n.c.rec.add(Event{Kind: DaemonDown, Node: n.idx, Text: "term"})
	p := n.proc
	p.expected.Store(true)
	p.Signal(syscall.SIGTERM)
	if !p.Wait(stopWait) {
		n.c.rec.add(Event{Kind: DaemonProblem, Node: n.idx, Text: fmt.Sprintf("did not stop within %v of SIGTERM: killed", stopWait)})
		return n.killAll()
	}
	return nil
}

// reload writes the configuration and sends SIGHUP.
func (n *node) reload() error {
	if !n.running() {
		return fmt.Errorf("reload %s: not running", n.name)
	}
	if err := n.writeConfig(); err != nil {
		return err
	}
	n.proc.Signal(syscall.SIGHUP)
	n.configured()
	return nil
}

// setCheck makes one of the node's tracked files say failing (1) or passing (0).
func (n *node) setCheck(which string, failing bool) error {
	value := "0\n"
	if failing {
		value = "1\n"
		n.c.rec.add(Event{Kind: CheckFailing, Node: n.idx, Text: which})
	}
	if err := os.WriteFile(n.path(which), []byte(value), 0o644); err != nil {
		return err
	}
	if !failing {
		n.c.rec.add(Event{Kind: CheckPassing, Node: n.idx, Text: which})
	}
	return nil
}

// secondRun starts a second daemon with the node's configuration, as an operator who
// forgot the first would, and records how it ended and what it changed besides
// addresses (the timeline has those).
func (n *node) secondRun() {
	e := Event{Kind: SecondRunDone, Node: n.idx}
	var changed []string
	before := n.secondRunState()
	out := &daemonLog{rec: n.c.rec, node: n.idx, notable: n.log.notable, strip: n.log.strip}
	cmd := n.command()
	cmd.Stdout, cmd.Stderr = out, out
	e.At = time.Now()
	if err := cmd.Start(); err != nil {
		n.c.rec.harnessProblem("second %s on %s: %v", n.daemon, n.name, err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		e.Until, e.Code = time.Now(), exitCode(err)
	case <-time.After(secondRunWait):
		_ = cmd.Process.Kill()
		<-done
		e.Until, e.Code = time.Now(), -1
		if n.daemon == keepalivedDaemon {
			changed = append(changed, "a second keepalived ran")
		}
	}
	if after := n.secondRunState(); after != before {
		changed = append(changed, fmt.Sprintf("before: %s; after: %s", before, after))
	}
	if !n.running() {
		changed = append(changed, "the first daemon is gone")
	}
	e.Text = strings.Join(changed, "; ")
	n.c.rec.add(e)
}

// secondRunState describes what a second daemon must leave alone besides addresses:
// for vrrpd its state file and control socket, for keepalived its pid files.
func (n *node) secondRunState() string {
	read := func(name string) string {
		b, err := os.ReadFile(n.path(name))
		if err != nil {
			return name + ": " + err.Error()
		}
		return name + ": " + strings.Join(strings.Fields(string(b)), " ")
	}
	if n.daemon == keepalivedDaemon {
		return read("keepalived.pid") + ", " + read("vrrp.pid")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sock := "control socket answers"
	if _, err := control.QueryStatus(ctx, n.path("vrrpd.sock")); err != nil {
		sock = "control socket: " + err.Error()
	}
	return read("vips.json") + ", " + sock
}

// view records what a vrrpd says of its instances, for the excerpts.
func (n *node) view() {
	if n.daemon != vrrpdDaemon || !n.running() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := control.QueryStatus(ctx, n.path("vrrpd.sock"))
	if err != nil {
		n.c.rec.add(Event{Kind: Note, Node: n.idx, Text: "vrrpd show: " + err.Error()})
		return
	}
	var parts []string
	for _, in := range st.Instances {
		s := fmt.Sprintf("%s %s priority %d", in.Name, in.State, in.Priority)
		if in.PriorityReason != "" {
			s += " (" + in.PriorityReason + ")"
		}
		parts = append(parts, s)
	}
	n.c.rec.add(Event{Kind: Note, Node: n.idx, Text: "vrrpd show: " + strings.Join(parts, "; ")})
}
