package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// errRunning is wrapped by lockStateDir's error when another vrrpd holds the lock.
var errRunning = errors.New("vrrpd is already running")

// lockFile is the name of the lock file in the state directory.
const lockFile = "vrrpd.pid"

// stateLock is the lock a running vrrpd holds on vrrpd.pid in its state directory. The
// kernel releases it when the process ends, however it ends, so a crash never leaves a
// lock that stops the next start.
type stateLock struct{ f *os.File }

// lockStateDir takes the lock of dir, creating both if missing, and writes our PID in
// it. It fails at once, wrapping errRunning and naming the holder's PID, when another
// process holds it.
func lockStateDir(dir string) (*stateLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			if pid, perr := strconv.Atoi(string(bytes.TrimSpace(b))); perr == nil && pid > 0 {
				return nil, fmt.Errorf("%w (pid %d)", errRunning, pid)
			}
			return nil, fmt.Errorf("%w (%s is locked)", errRunning, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &stateLock{f: f}, nil
}

// release empties the file and drops the lock. The file stays: removing it would let
// a process that opened it just before lock an unlinked file while a third locks a new
// one.
func (l *stateLock) release() {
	_ = l.f.Truncate(0)
	l.f.Close()
}
