package tracker

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// pidWatcher holds a pidfd for each process it watches and signals exited, without
// blocking, when one of them exits. It is used by one goroutine.
type pidWatcher struct {
	enabled bool // pidfds are wanted (the real /proc) and the kernel has them
	exited  chan<- struct{}
	files   map[int]*os.File
	wg      sync.WaitGroup
}

func newPidWatcher(enabled bool, exited chan<- struct{}) *pidWatcher {
	return &pidWatcher{enabled: enabled, exited: exited, files: make(map[int]*os.File)}
}

// works reports whether exits are seen through pidfds.
func (w *pidWatcher) works() bool { return w.enabled }

// watch makes pids the processes watched.
func (w *pidWatcher) watch(pids []int) {
	if !w.enabled {
		return
	}
	keep := make(map[int]bool, len(pids))
	for _, pid := range pids {
		keep[pid] = true
	}
	for pid, f := range w.files {
		if !keep[pid] {
			f.Close()
			delete(w.files, pid)
		}
	}
	for _, pid := range pids {
		if w.files[pid] != nil {
			continue
		}
		fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
		if errors.Is(err, unix.EINVAL) {
			// PIDFD_NONBLOCK came with Linux 5.10; the file status flag does the same.
			if fd, err = unix.PidfdOpen(pid, 0); err == nil {
				err = unix.SetNonblock(fd, true)
				if err != nil {
					unix.Close(fd)
				}
			}
		}
		switch {
		case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM):
			w.enabled = false // no pidfds here (or a seccomp filter refuses them)
			w.closeAll()
			return
		case err != nil:
			w.signal() // it exited between the scan and now: scan again
			continue
		}
		// A non-blocking descriptor goes to the runtime's poller, so that a
		// goroutine waits for it without holding a thread, and Close wakes it.
		f := os.NewFile(uintptr(fd), "pidfd")
		rc, err := f.SyscallConn()
		if err != nil {
			f.Close()
			w.signal()
			continue
		}
		w.files[pid] = f
		w.wg.Go(func() {
			// The function runs first at once, then each time the poller says the
			// descriptor is readable, which a pidfd is once its process exited.
			err := rc.Read(func(fd uintptr) bool {
				fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				n, err := unix.Poll(fds, 0)
				return err != nil || n > 0
			})
			if err == nil {
				w.signal()
			}
		})
	}
}

func (w *pidWatcher) signal() {
	select {
	case w.exited <- struct{}{}:
	default:
	}
}

func (w *pidWatcher) closeAll() {
	for pid, f := range w.files {
		f.Close()
		delete(w.files, pid)
	}
}

// close stops watching and waits for the watching goroutines.
func (w *pidWatcher) close() {
	w.closeAll()
	w.wg.Wait()
}
