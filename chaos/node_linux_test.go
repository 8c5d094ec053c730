package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The two daemons a node can run.
const (
	vrrpdDaemon      = "vrrpd"
	keepalivedDaemon = "keepalived"
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

func joinPrefixes(ps []netip.Prefix, sep string) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, sep)
}

// vrrpdConfig is the node's vrrpd.yaml.
func (n *node) vrrpdConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s\nsocket: %s\nstate_file: %s\nscript_user: root\n", n.name, n.path("vrrpd.sock"), n.path("vips.json"))
	fmt.Fprintf(&b, "files:\n  lower: {path: %s}\n  fault: {path: %s}\n", n.path("lower"), n.path("fault"))
	b.WriteString("instances:\n")
	for _, in := range n.instances() {
		fmt.Fprintf(&b, "  - name: %s\n    interface: eth0\n    vrid: %d\n    priority: %d\n    version: 3\n    advert_interval: %v\n    preempt: true\n",
			in.name, in.vrid, n.priority, n.c.setup.Interval)
		if n.tracked {
			fmt.Fprintf(&b, "    track:\n      files: [{name: lower, weight: %d}, {name: fault, weight: 0}]\n", n.c.setup.Weight)
		}
		fmt.Fprintf(&b, "    vips: [%s]\n", joinPrefixes(in.vips, ", "))
	}
	return b.String()
}

// keepalivedConfig is the node's keepalived.conf, equivalent to vrrpdConfig.
func (n *node) keepalivedConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n}\n", n.name)
	fmt.Fprintf(&b, "track_file lower {\n  file \"%s\"\n  weight %d\n}\n", n.path("lower"), n.c.setup.Weight)
	fmt.Fprintf(&b, "track_file fault {\n  file \"%s\"\n  weight 0\n}\n", n.path("fault"))
	for _, in := range n.instances() {
		fmt.Fprintf(&b, "vrrp_instance %s {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  version 3\n  advert_int %s\n",
			in.name, in.vrid, n.priority, strconv.FormatFloat(n.c.setup.Interval.Seconds(), 'f', -1, 64))
		if n.tracked {
			fmt.Fprintf(&b, "  track_file {\n    lower weight %d\n    fault weight 0\n  }\n", n.c.setup.Weight)
		}
		fmt.Fprintf(&b, "  virtual_ipaddress {\n    %s\n  }\n}\n", joinPrefixes(in.vips, "\n    "))
	}
	return b.String()
}

func (n *node) configPath() string {
	if n.daemon == keepalivedDaemon {
		return n.path("keepalived.conf")
	}
	return n.path("vrrpd.yaml")
}

func (n *node) writeConfig() error {
	text := n.vrrpdConfig()
	if n.daemon == keepalivedDaemon {
		text = n.keepalivedConfig()
	}
	return os.WriteFile(n.configPath(), []byte(text), 0o644)
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
		return n.ns.Command("keepalived", "--vrrp", "--dont-fork", "--log-console", "--log-detail", "--no-syslog",
			"--use-file", n.configPath(), "--pid", n.path("keepalived.pid"), "--vrrp_pid", n.path("vrrp.pid"))
	}
	return n.ns.Command(n.c.vrrpd, "run", "--config", n.configPath(), "--log-level", "info")
}

// proc is a daemon process. `ip netns exec` execs the program, so the process is the
// daemon itself (keepalived's parent, for keepalived).
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	// expected is set before the harness signals the process to end.
	expected atomic.Bool
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *proc) signal(sig syscall.Signal) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(sig)
	}
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
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s on %s: %w", n.daemon, n.name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	n.proc = p
	n.c.rec.add(Event{Kind: DaemonUp, Node: n.idx})
	n.configured()
	go func() {
		err := cmd.Wait()
		e := Event{Kind: DaemonExited, Node: n.idx, Code: exitCode(err), Text: "expected"}
		if !p.expected.Load() {
			e.Text = fmt.Sprintf("unexpected (%v)", err)
		}
		n.c.rec.add(e)
		close(p.done)
	}()
	return nil
}

// running reports whether the daemon runs.
func (n *node) running() bool { return n.proc != nil && !n.proc.exited() }

// childPID returns keepalived's VRRP process, from its pid file, once it is sure that
// the process is this node's keepalived: its command line names the node's file.
func (n *node) childPID() (int, error) {
	b, err := os.ReadFile(n.path("vrrp.pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("vrrp.pid of %s: %q", n.name, b)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(n.configPath())) {
		return 0, fmt.Errorf("process %d of vrrp.pid is not the keepalived of %s", pid, n.name)
	}
	return pid, nil
}

// kill ends the daemon with SIGKILL, as a crash would.
func (n *node) kill() error {
	if !n.running() {
		return fmt.Errorf("kill %s: not running", n.name)
	}
	n.c.rec.add(Event{Kind: DaemonDown, Node: n.idx, Text: "kill"})
	return n.killAll()
}

// killAll kills what runs of the daemon. keepalived's parent is stopped first, so that it
// neither restarts its VRRP child nor, dying, makes it leave gracefully; then the child
// is killed, then the parent. The child is reaped before killAll returns: keepalived
// takes a pid that still exists, even as a zombie, for a keepalived still running and
// would refuse to start again. The test binary is a child subreaper (TestMain), so the
// orphan comes to it.
func (n *node) killAll() error {
	p := n.proc
	if p == nil {
		return nil
	}
	p.expected.Store(true)
	child := 0
	if n.daemon == keepalivedDaemon {
		p.signal(syscall.SIGSTOP)
		if pid, err := n.childPID(); err == nil {
			child = pid
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	p.signal(syscall.SIGKILL)
	<-p.done
	if child > 0 {
		return reap(child)
	}
	return nil
}

// reap waits, five seconds at most, until pid no longer exists, reaping it if it is a
// zombie that came to this process.
func reap(pid int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil) // ECHILD when it is not ours
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("keepalived's VRRP process %d still exists 5 s after SIGKILL", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// term stops the daemon with SIGTERM and waits for it.
func (n *node) term() error {
	if !n.running() {
		return fmt.Errorf("stop %s: not running", n.name)
	}
	n.c.rec.add(Event{Kind: DaemonDown, Node: n.idx, Text: "term"})
	p := n.proc
	p.expected.Store(true)
	p.signal(syscall.SIGTERM)
	if !p.wait(stopWait) {
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
	n.proc.signal(syscall.SIGHUP)
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
