package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// Source is what the server needs of a daemon. Both methods are called from the
// server's goroutines, concurrently.
type Source interface {
	// Status returns a snapshot of the daemon.
	Status() Status
	// Events subscribes to the daemon's events until stop is called. A subscriber that
	// falls behind loses events rather than slowing the daemon.
	Events() (events <-chan Event, stop func())
}

// Options tune a Server; the zero value serves show and events.
type Options struct {
	// Group owns the socket (mode 0660) when it exists, so that its members may use it;
	// a group that does not exist leaves the socket its creator's.
	Group string
	// Metrics writes the Prometheus text exposition for `vrrpd metrics`, streamed to
	// the client as it is written; an error returned before it wrote anything is the
	// answer. Without it the command is answered with an error.
	Metrics func(w io.Writer) error
}

// Server serves the control protocol on a unix socket.
type Server struct {
	src  Source
	opts Options
	ln   net.Listener
}

// ErrRunning is returned when another daemon answers on the control socket.
var ErrRunning = errors.New("another vrrpd answers on the control socket")

// Listen creates the control socket at path, mode 0660 and in opts.Group when that
// group exists, and serves src on it until Close. A dead socket a crash left there is
// replaced; one a daemon answers on is refused with ErrRunning.
func Listen(path string, src Source, opts Options) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := removeDeadSocket(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := setSocketGroup(path, opts.Group); err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{src: src, opts: opts, ln: ln}
	go s.serve()
	return s, nil
}

// setSocketGroup gives the socket at path to group, so that its members may use it. A
// group that does not exist leaves it root's, silently: that is the default group on a
// machine where the package did not create it, since a group the file names must exist
// to pass config.Check.
func setSocketGroup(path, group string) error {
	if group == "" {
		return nil
	}
	g, err := user.LookupGroup(group)
	if errors.As(err, new(user.UnknownGroupError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: group %s: %w", group, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return fmt.Errorf("control socket: group %s has gid %q: %w", group, g.Gid, err)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		return fmt.Errorf("control socket: give it to group %s: %w", group, err)
	}
	return nil
}

// removeDeadSocket removes what is at path when it is a unix socket nobody answers on,
// which a crash leaves behind. Anything else there is left alone: a socket a daemon
// answers on is refused with ErrRunning, and a file that is not a socket is an error.
func removeDeadSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s: something other than a socket is there; move it away or set another socket path", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: %w", path, ErrRunning)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: %w", err)
	}
	return nil
}

// Close stops serving and removes the socket.
func (s *Server) Close() error { return s.ln.Close() }

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest+1)).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	req, err := parseRequest(line)
	if err != nil {
		_ = writeJSON(c, errorReply{err.Error()})
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch req.Command {
	case commandShow:
		_ = writeJSON(c, s.src.Status())
	case commandMetrics:
		if s.opts.Metrics == nil {
			_ = writeJSON(c, errorReply{"this daemon serves no metrics"})
			return
		}
		_ = writeMetrics(c, s.opts.Metrics)
	case commandEvents:
		events, stop := s.src.Events()
		defer stop()
		gone := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c); close(gone) }()
		for {
			select {
			case e := <-events:
				if err := writeJSON(c, e); err != nil {
					return
				}
			case <-gone:
				return
			}
		}
	}
}
