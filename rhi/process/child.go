package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

const (
	// defaultCallTimeout is how long vrrpd-bgp may take to answer a request: one that
	// takes longer is hung, and is killed, to be started again.
	defaultCallTimeout = 10 * time.Second
	// writeTimeout bounds a write to vrrpd-bgp's input: a full pipe means that it has
	// stopped reading.
	writeTimeout = 2 * time.Second
	// exitTimeout is how long close waits for vrrpd-bgp to exit before it kills it.
	exitTimeout = 5 * time.Second
)

// child is one run of vrrpd-bgp.
type child struct {
	cmd   *exec.Cmd
	in    *os.File // the pipe to its input, with write deadlines
	since time.Time
	log   *slog.Logger
	// callTimeout is defaultCallTimeout but in tests.
	callTimeout time.Duration

	wmu    sync.Mutex // one line at a time
	closed bool       // the input is closed: close has begun

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan message
	done    chan struct{} // closed when vrrpd-bgp's output has ended
	err     error         // why it ended
	exited  chan struct{} // closed once the process is reaped
	waitErr error
}

// startChild starts vrrpd-bgp at path; received gets its messages that answer no
// request.
func startChild(path string, level slog.Level, received func(message), log *slog.Logger, callTimeout time.Duration) (*child, error) {
	cmd := exec.Command(path, "--log-level", level.String())
	cmd.Stderr = os.Stderr // a panic's trace goes where vrrpd's own would
	// A pipe of our own rather than StdinPipe's: its writes take deadlines.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	cmd.Stdin = r
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("process: %w", err)
	}
	err = cmd.Start()
	r.Close() // the child's end
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("process: start the BGP speaker: %w", err)
	}
	c := &child{cmd: cmd, in: w, since: time.Now(), log: log, callTimeout: callTimeout,
		pending: map[uint64]chan message{}, done: make(chan struct{}), exited: make(chan struct{})}
	go c.read(out, received)
	go c.beat()
	go c.reap()
	return c, nil
}

// read routes vrrpd-bgp's messages until its output ends. Output that is not a message
// ends it: the process is killed.
func (c *child) read(out io.Reader, received func(message)) {
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, maxLine)
	err := errors.New("vrrpd-bgp closed its output")
	for sc.Scan() {
		var m message
		if e := json.Unmarshal(sc.Bytes(), &m); e != nil {
			err = fmt.Errorf("vrrpd-bgp: %w", e)
			break
		}
		if m.ID == 0 {
			received(m)
			continue
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m // buffered, and its entry gone: never blocks
		}
	}
	if e := sc.Err(); e != nil {
		err = fmt.Errorf("vrrpd-bgp: %w", e)
	}
	// Its output is over, whatever it does now: a vrrpd-bgp that closed it and lives on
	// would keep its sessions with nobody to drive them.
	c.kill()
	c.mu.Lock()
	c.err = err
	close(c.done)
	c.mu.Unlock()
}

// reap waits for the process to exit, once its output has ended.
func (c *child) reap() {
	<-c.done
	err := c.cmd.Wait()
	c.in.Close()
	c.mu.Lock()
	c.waitErr = err
	c.mu.Unlock()
	close(c.exited)
}

// beat tells vrrpd-bgp that vrrpd is alive until it ends.
func (c *child) beat() {
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if err := c.write(request{Op: opAlive}); err != nil {
				return // write killed it: read tells why
			}
		}
	}
}

// write sends one line. A line that cannot be written within writeTimeout means a
// vrrpd-bgp that stopped reading: it is killed.
func (c *child) write(req request) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("process: %s: %w", req.Op, err)
	}
	if len(b) >= maxLine {
		return refused(fmt.Sprintf("%s: a request of %d bytes, over the %d vrrpd-bgp reads", req.Op, len(b), maxLine))
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return errClosed
	}
	_ = c.in.SetWriteDeadline(time.Now().Add(writeTimeout)) // a pipe takes deadlines
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		c.kill()
		return fmt.Errorf("write to vrrpd-bgp: %w", err)
	}
	return nil
}

// call sends req and waits for its answer, until ctx ends or c.callTimeout passes; a
// vrrpd-bgp that has not answered by then is hung, and is killed.
func (c *child) call(ctx context.Context, req request) (message, error) {
	ch := make(chan message, 1)
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return message{}, errClosed
	default:
	}
	c.nextID++
	req.ID = c.nextID
	c.pending[req.ID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
	}
	if err := c.write(req); err != nil {
		forget()
		return message{}, err
	}
	hung := time.NewTimer(c.callTimeout)
	defer hung.Stop()
	select {
	case m := <-ch:
		if m.Error != "" {
			return m, refused(m.Error)
		}
		return m, nil
	case <-c.done:
		return message{}, errClosed
	case <-ctx.Done():
		forget()
		return message{}, ctx.Err()
	case <-hung.C:
		forget()
		c.log.Error("BGP speaker vrrpd-bgp does not answer: killing it", "request", req.Op, "after", c.callTimeout.String())
		c.kill()
		return message{}, fmt.Errorf("vrrpd-bgp did not answer %s within %v", req.Op, c.callTimeout)
	}
}

// wait waits for vrrpd-bgp to exit, returning why.
func (c *child) wait() error {
	<-c.exited
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waitErr == nil {
		return c.err
	}
	return fmt.Errorf("%w (%v)", c.waitErr, c.err)
}

// close closes vrrpd-bgp's input, which ends it, and kills it if it has not exited
// when ctx ends or after exitTimeout. It returns once the process is reaped.
func (c *child) close(ctx context.Context) {
	c.wmu.Lock()
	c.closed = true
	c.in.Close()
	c.wmu.Unlock()
	t := time.NewTimer(exitTimeout)
	defer t.Stop()
	select {
	case <-c.exited:
		return
	case <-ctx.Done():
	case <-t.C:
	}
	c.kill()
	<-c.exited
}

// kill ends the process; its output then ends, and reap reaps it. Before the reap, a
// process that has exited is a zombie, which the signal leaves as it is.
func (c *child) kill() {
	_ = c.cmd.Process.Kill() // it may have exited: nothing to do then
}
