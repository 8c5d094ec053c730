package tracker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// dirWatch is an inotify watch of one directory for files written, moved in or out,
// and removed.
type dirWatch struct {
	f    *os.File
	buf  []byte
	once sync.Once
}

// errDirGone is returned by next when the watched directory was removed or moved.
var errDirGone = errors.New("the directory was removed or moved")

func watchDir(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	const mask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	// Non-blocking, the descriptor goes to the runtime's poller: next waits without
	// holding a thread, and close wakes it.
	return &dirWatch{f: os.NewFile(uintptr(fd), "inotify"), buf: make([]byte, 64*1024)}, nil
}

// next waits for events and returns the names of the files they are about; an error
// once the watch is closed or the directory is gone.
func (w *dirWatch) next() ([]string, error) {
	n, err := w.f.Read(w.buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		mask := binary.NativeEndian.Uint32(w.buf[off+4:])
		size := int(binary.NativeEndian.Uint32(w.buf[off+12:]))
		name := w.buf[off+unix.SizeofInotifyEvent : min(off+unix.SizeofInotifyEvent+size, n)]
		off += unix.SizeofInotifyEvent + size
		if mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
			return names, errDirGone
		}
		if mask&unix.IN_ISDIR == 0 {
			names = append(names, string(bytes.TrimRight(name, "\x00")))
		}
	}
	return names, nil
}

func (w *dirWatch) close() {
	w.once.Do(func() { w.f.Close() })
}
