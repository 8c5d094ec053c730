package systemdtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// Root is where the manager sees Manager.Dir.
const Root = "/run/systemdtest"

// systemd is the service manager's binary, as Debian installs it.
const systemd = "/usr/lib/systemd/systemd"

// target is the unit the manager starts at boot: empty, so that nothing else runs.
const target = "systemdtest.target"

// standIns are the targets that services depend on by default (DefaultDependencies=)
// or that vrrpd's unit names; empty, they are reached at once.
var standIns = []string{"sysinit.target", "basic.target", "network.target", "network-online.target", "shutdown.target", target}

// boot runs as PID 1 of the new namespaces, with the test's directory and the console
// as arguments, and becomes systemd. Mounts are made private first, so that none
// reaches the host; the host's cgroup file systems go, since systemd remounts the
// ones it finds (a remount changes the file system for every namespace), and a
// cgroup2 whose root is the manager's own cgroup takes their place.
const boot = `set -eu
dir=$1 console=$2
mount --make-rprivate /
mount -t proc proc /proc
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
if mountpoint -q /sys/fs/cgroup; then umount -R /sys/fs/cgroup; fi
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for d in /etc /usr /var; do mount --bind $d $d; mount -o remount,bind,ro $d; done
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir ` + Root + `
mount --bind "$dir" ` + Root + `
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mount --bind "$console" /dev/console
# The manager's settings: in a file, since a daemon-reload forgets the command line's.
mkdir /run/systemd /run/systemd/system.conf.d
cat >/run/systemd/system.conf.d/systemdtest.conf <<END
[Manager]
LogTarget=console
LogColor=no
LogTime=yes
ShowStatus=no
DefaultStandardOutput=tty
DefaultStandardError=tty
END
exec ` + systemd + ` --system --unit=` + target + `
`

// Require skips t unless the machine can run Start: root, the commands it uses and
// systemd; under CI their absence fails the test. A kernel without cgroup2 or cgroup
// namespaces skips it even under CI, naming what is missing.
func Require(t testing.TB) {
	t.Helper()
	netnstest.Require(t)
	for _, name := range []string{"systemctl", "nsenter", "unshare", "mount", "umount", "mountpoint"} {
		netnstest.RequireCommand(t, name)
	}
	if _, err := os.Stat(systemd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: install the systemd package", systemd)
		}
		t.Skipf("%s is missing: install the systemd package", systemd)
	}
	if _, err := cgroup2Mount(); err != nil {
		t.Skipf("the kernel cannot run a nested systemd: %v", err)
	}
	if _, err := os.Stat("/proc/self/ns/cgroup"); err != nil {
		t.Skip("the kernel has no cgroup namespaces (Linux 4.6 or later), which a nested systemd needs")
	}
}

// cgroup2Mount returns where the host mounts its cgroup2 hierarchy: /sys/fs/cgroup, or
// /sys/fs/cgroup/unified beside version 1 controllers.
func cgroup2Mount() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("read mounts: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		if len(f) >= 5 && strings.HasPrefix(post, "cgroup2 ") && f[3] == "/" {
			return f[4], nil
		}
	}
	return "", errors.New("no cgroup2 hierarchy is mounted (the kernel needs CONFIG_CGROUPS with cgroup2)")
}

// Manager is a systemd service manager that a test started.
type Manager struct {
	// Dir is the directory the manager sees as Root. Units go in its units/ folder
	// (InstallUnit); files the units use, anywhere in it.
	Dir string

	t      testing.TB
	pid    int    // systemd's PID in the test's PID namespace
	cgroup string // the manager's cgroup, as the host sees it
	log    *netnstest.Buffer
	exited chan struct{}
}

var counter atomic.Uint32

// Start boots a manager whose processes run in ns's network namespace and waits until
// it is running. The test's cleanup kills it and everything it started.
func Start(t testing.TB, ns *netnstest.NS) *Manager {
	t.Helper()
	m := &Manager{Dir: t.TempDir(), t: t, log: &netnstest.Buffer{}, exited: make(chan struct{})}
	if err := os.Mkdir(filepath.Join(m.Dir, "units"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range standIns {
		unit := fmt.Sprintf("[Unit]\nDescription=%s, a stand-in for tests\nDefaultDependencies=no\n", name)
		m.writeUnit(name, unit)
	}

	hierarchy, err := cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	m.cgroup = filepath.Join(hierarchy, fmt.Sprintf("systemdtest-%d-%d", os.Getpid(), counter.Add(1)))
	if err := os.Mkdir(m.cgroup, 0o755); err != nil {
		t.Fatalf("create the manager's cgroup: %v", err)
	}
	t.Cleanup(m.removeCgroup)
	cg, err := os.Open(m.cgroup)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()

	console, keep := m.console()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+ns.Name, "--",
		"unshare", "--cgroup", "--", "/bin/sh", "-c", boot, "boot", m.Dir, console)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "container=systemdtest", "SYSTEMD_UNIT_PATH=" + Root + "/units"}
	cmd.Stdout, cmd.Stderr = m.log, m.log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		UseCgroupFD: true,
		CgroupFD:    int(cg.Fd()),
		// Should the test binary die without its cleanup, the manager dies too.
		Pdeathsig: syscall.SIGKILL,
	}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the process ends: this one
		// lasts as long as the manager.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(m.exited)
	}()
	if err := <-started; err != nil {
		keep.Close()
		t.Fatalf("start systemd: %v", err)
	}
	m.pid = cmd.Process.Pid
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("systemd's console:\n%s", m.Log())
		}
		// PID 1 gone, the kernel kills every process of its namespace.
		_ = syscall.Kill(m.pid, syscall.SIGKILL)
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("systemd (PID %d) did not end", m.pid)
		}
		keep.Close()
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := m.Exec("systemctl", "is-system-running")
		state := strings.TrimSpace(out)
		if state == "running" {
			return m
		}
		select {
		case <-m.exited:
			t.Fatalf("systemd ended while starting:\n%s", m.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd is %q after 15 s:\n%s", state, m.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// console opens a pseudo-terminal, which the manager gets as /dev/console: it returns
// the terminal's path and the test's own handle on it, which keeps it open between
// the manager's writers. What is written there goes to Log.
func (m *Manager) console() (string, *os.File) {
	m.t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.t.Fatalf("open a pseudo-terminal: %v", err)
	}
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		m.t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		m.t.Fatalf("pseudo-terminal number: %v", err)
	}
	path := fmt.Sprintf("/dev/pts/%d", n)
	keep, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		m.t.Fatalf("open %s: %v", path, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(ptmx)
		for {
			line, err := r.ReadBytes('\n')
			m.log.Write(bytes.ReplaceAll(line, []byte("\r"), nil))
			if err != nil {
				return
			}
		}
	}()
	m.t.Cleanup(func() {
		ptmx.Close()
		<-done
	})
	return path, keep
}

// removeCgroup removes the manager's cgroups, innermost first, once their processes
// have ended.
func (m *Manager) removeCgroup() {
	var dirs []string
	_ = filepath.WalkDir(m.cgroup, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	slices.Reverse(dirs)
	deadline := time.Now().Add(5 * time.Second)
	for _, d := range dirs {
		for {
			err := os.Remove(d)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				m.t.Errorf("remove cgroup %s: %v", d, err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Log returns what the manager and its services wrote on the console so far.
func (m *Manager) Log() string { return m.log.String() }

// Exec runs a command inside the manager's namespaces (those of its PID 1), and returns
// its combined output.
func (m *Manager) Exec(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"-t", strconv.Itoa(m.pid), "-m", "-p", "-n", "-u", "-i", "-C", "--", name}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", all...).CombinedOutput()
	return string(out), err
}

// Systemctl runs systemctl in the manager and fails the test when it fails.
func (m *Manager) Systemctl(args ...string) string {
	m.t.Helper()
	out, err := m.Exec("systemctl", args...)
	if err != nil {
		m.t.Fatalf("systemctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// InstallUnit writes a unit file, or a drop-in when name is "UNIT.d/FILE.conf", and
// reloads the manager.
func (m *Manager) InstallUnit(name, text string) {
	m.t.Helper()
	m.writeUnit(name, text)
	m.Systemctl("daemon-reload")
}

func (m *Manager) writeUnit(name, text string) {
	m.t.Helper()
	path := filepath.Join(m.Dir, "units", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// Show returns properties of a unit (systemctl show).
func (m *Manager) Show(unit string, props ...string) map[string]string {
	m.t.Helper()
	args := []string{"show", unit}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	values := map[string]string{}
	for _, line := range strings.Split(m.Systemctl(args...), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			values[k] = v
		}
	}
	return values
}

// Monotonic returns a timestamp property of a unit (such as ActiveEnterTimestampMonotonic)
// on the clock that Now reads; zero when the event has not happened.
func (m *Manager) Monotonic(unit, prop string) time.Duration {
	m.t.Helper()
	v := m.Show(unit, prop)[prop]
	usec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		m.t.Fatalf("%s of %s: %q: %v", prop, unit, v, err)
	}
	return time.Duration(usec) * time.Microsecond
}

// Now reads CLOCK_MONOTONIC, the clock of systemd's monotonic timestamps: the manager
// has no time namespace of its own, so the test and systemd share it.
func (m *Manager) Now() time.Duration {
	m.t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		m.t.Fatalf("CLOCK_MONOTONIC: %v", err)
	}
	return time.Duration(ts.Nano())
}

// HostPID returns the PID, in the test's PID namespace, of a unit's main process; 0
// when it has none.
func (m *Manager) HostPID(unit string) int {
	m.t.Helper()
	props := m.Show(unit, "MainPID", "ControlGroup")
	main := props["MainPID"]
	if main == "0" || props["ControlGroup"] == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(m.cgroup, props["ControlGroup"], "cgroup.procs"))
	if err != nil {
		m.t.Fatalf("processes of %s: %v", unit, err)
	}
	for _, f := range strings.Fields(string(b)) {
		status, err := os.ReadFile(filepath.Join("/proc", f, "status"))
		if err != nil {
			continue // it ended
		}
		for _, line := range strings.Split(string(status), "\n") {
			// NSpid: 3056 272 — the PID in each namespace, the innermost last.
			if ids, ok := strings.CutPrefix(line, "NSpid:"); ok {
				if pids := strings.Fields(ids); len(pids) > 0 && pids[len(pids)-1] == main {
					pid, _ := strconv.Atoi(f)
					return pid
				}
			}
		}
	}
	return 0
}
