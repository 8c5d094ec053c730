package daemons

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a long-lived process of a test or benchmark. `ip netns exec` execs the
// program, so the process is the daemon itself (keepalived's parent, for keepalived).
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, once done is closed
}

// Start starts cmd and waits for it in the background.
func Start(cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited, once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig unless the process has exited.
func (p *Process) Signal(sig syscall.Signal) {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Wait reports whether the process exits within d.
func (p *Process) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// End sends SIGTERM, and SIGKILL if the process is still there after grace; it returns
// once the process has exited.
func (p *Process) End(grace time.Duration) {
	p.Signal(syscall.SIGTERM)
	if !p.Wait(grace) {
		p.Kill()
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Process) Kill() {
	p.Signal(syscall.SIGKILL)
	<-p.done
}

// VrrpdCommand runs vrrpd with the configuration at config, in namespace ns (`ip netns
// exec`).
func VrrpdCommand(ns, bin, config, logLevel string) *exec.Cmd {
	return exec.Command("ip", "netns", "exec", ns, bin, "run", "--config", config, "--log-level", logLevel)
}

// NiceVrrpdCommand is VrrpdCommand at nice value nice, as systemd's Nice= starts it.
func NiceVrrpdCommand(ns, bin, config, logLevel string, nice int) *exec.Cmd {
	return exec.Command("ip", "netns", "exec", ns, "nice", "-n", strconv.Itoa(nice), bin, "run", "--config", config, "--log-level", logLevel)
}

// The files keepalived writes in its directory, beside its configuration.
const (
	keepalivedPIDFile = "keepalived.pid"
	vrrpPIDFile       = "vrrp.pid"
)

// KeepalivedCommand runs keepalived's VRRP side in the foreground with the
// configuration at config, in namespace ns, logging to its standard output; its pid
// files are in dir.
func KeepalivedCommand(ns, config, dir string) *exec.Cmd {
	return exec.Command("ip", "netns", "exec", ns, "keepalived", "--vrrp", "--dont-fork", "--log-console", "--log-detail",
		"--no-syslog", "--use-file", config,
		"--pid", filepath.Join(dir, keepalivedPIDFile), "--vrrp_pid", filepath.Join(dir, vrrpPIDFile))
}

// KeepalivedChild returns keepalived's VRRP process, from its pid file in dir, once it
// is sure that the process is the one keepalived started with config: its command line
// names the file.
func KeepalivedChild(dir, config string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, vrrpPIDFile))
	if err != nil {
		return 0, fmt.Errorf("keepalived's VRRP process: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("keepalived's VRRP process: %s holds %q", vrrpPIDFile, b)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(config)) {
		return 0, fmt.Errorf("process %d of %s is not the keepalived of %s", pid, vrrpPIDFile, config)
	}
	return pid, nil
}

// KillKeepalived ends keepalived as a crash would: the parent is stopped first, so that
// it neither restarts its VRRP child nor, dying, makes it leave gracefully; then the
// child is killed, then the parent. It returns the child's ID, 0 if there was none, so
// that a caller that is a child subreaper can Reap it.
func KillKeepalived(parent *Process, dir, config string) int {
	parent.Signal(syscall.SIGSTOP)
	child, err := KeepalivedChild(dir, config)
	if err == nil {
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	parent.Kill()
	return child
}

// Reap waits, within d, until pid no longer exists, reaping it if it is a zombie that
// came to this process. keepalived takes a pid that still exists, even as a zombie, for
// a keepalived still running, and refuses to start again.
func Reap(pid int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil) // ECHILD when it is not ours
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still exists %v after SIGKILL", pid, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
