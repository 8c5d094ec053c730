package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

// The control socket speaks JSON lines: the client sends one request, the server answers
// with one Status ("show") or a stream of Events ("events") until the client hangs up.

type request struct {
	Command string `json:"command"`
}

// Commands of the control protocol.
const (
	commandShow   = "show"
	commandEvents = "events"
)

// maxRequest bounds a request line: anything longer is not one of ours.
const maxRequest = 4096

// parseRequest decodes one request line, which anyone allowed to open the socket can
// send: it must be one JSON object naming a known command.
func parseRequest(line []byte) (request, error) {
	if len(line) > maxRequest {
		return request{}, fmt.Errorf("request of %d bytes, at most %d", len(line), maxRequest)
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return request{}, fmt.Errorf("bad request: %w", err)
	}
	if dec.More() {
		return request{}, errors.New("bad request: more than one JSON value")
	}
	switch req.Command {
	case commandShow, commandEvents:
		return req, nil
	}
	return request{}, fmt.Errorf("unknown command %q", req.Command)
}

// ControlServer serves `vrrpd show` and `vrrpd events` on a unix socket.
type ControlServer struct {
	d  *Daemon
	ln net.Listener
}

// ErrRunning is returned when another daemon answers on the control socket.
var ErrRunning = errors.New("another vrrpd answers on the control socket")

// Listen creates the control socket at path (mode 0660, in the configuration's
// socket_group when that group exists) and serves it until Close.
func Listen(d *Daemon, path string) (*ControlServer, error) {
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
	d.mu.Lock()
	group := d.cfg.SocketGroup
	d.mu.Unlock()
	if err := setSocketGroup(path, group); err != nil {
		ln.Close()
		return nil, err
	}
	s := &ControlServer{d: d, ln: ln}
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
func (s *ControlServer) Close() error { return s.ln.Close() }

func (s *ControlServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *ControlServer) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest+1)).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	req, err := parseRequest(line)
	if err != nil {
		writeJSON(c, map[string]string{"error": err.Error()})
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch req.Command {
	case commandShow:
		writeJSON(c, s.d.Status())
	case commandEvents:
		events, stop := s.d.Events()
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

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// dial connects to the daemon's control socket and sends a command.
func dial(ctx context.Context, path, command string) (net.Conn, error) {
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot reach vrrpd at %s (is it running?): %w", path, err)
	}
	if err := writeJSON(c, request{Command: command}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// QueryStatus asks the daemon listening on path for its status.
func QueryStatus(ctx context.Context, path string) (Status, error) {
	c, err := dial(ctx, path, "show")
	if err != nil {
		return Status{}, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	var st Status
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("status from %s: %w", path, err)
	}
	return st, nil
}

// FollowEvents streams the daemon's events to fn until ctx ends or the daemon goes.
func FollowEvents(ctx context.Context, path string, fn func(Event, json.RawMessage) error) error {
	c, err := dial(ctx, path, "events")
	if err != nil {
		return err
	}
	defer c.Close()
	go func() { <-ctx.Done(); c.Close() }()
	dec := json.NewDecoder(c)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("events from %s: %w", path, err)
		}
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("events from %s: %w", path, err)
		}
		if err := fn(e, raw); err != nil {
			return err
		}
	}
}
