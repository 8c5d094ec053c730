package process

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/vrrpd/vrrpd/rhi"
)

// NewSpeaker makes the speaker Serve drives, logging to log and telling onPeer of every
// change of a session's state.
type NewSpeaker func(log *slog.Logger, onPeer func(rhi.PeerStatus)) rhi.Speaker

// maxLine bounds a request: the longest is a set of peers, a few hundred bytes each.
const maxLine = 1 << 20

// ErrSilent is Serve's error when vrrpd has said nothing for longer than it may.
var ErrSilent = errors.New("vrrpd said nothing for " + silence.String() + ": hung, or stopped")

// Serve is vrrpd-bgp: it answers the requests read from r, in order, with the speaker
// newSpeaker makes, and writes the answers, the peers' changes and the log records at
// level or above to w. It returns nil when r ends, and ErrSilent when r has been silent
// too long, at once and without closing the sessions: the caller exits, and the kernel
// closes them, as if the speaker had died with vrrpd.
func Serve(r io.Reader, w io.Writer, level slog.Level, newSpeaker NewSpeaker) error {
	out := newWriter(w)
	defer out.close()
	log := slog.New(&logHandler{out: out, level: level})
	speaker := newSpeaker(log, func(p rhi.PeerStatus) { out.send(message{Peer: &p}) })
	lines := make(chan []byte)
	errs := make(chan error, 1)
	go func() {
		in := bufio.NewScanner(r)
		in.Buffer(nil, maxLine)
		for in.Scan() {
			lines <- bytes.Clone(in.Bytes())
		}
		errs <- in.Err()
	}()
	quiet := time.NewTimer(silence)
	defer quiet.Stop()
	for {
		select {
		case line := <-lines:
			quiet.Reset(silence)
			var req request
			if err := json.Unmarshal(line, &req); err != nil {
				return fmt.Errorf("read request: %w", err)
			}
			if req.Op == opAlive {
				continue
			}
			if err := out.send(answer(speaker, req)); err != nil {
				return fmt.Errorf("answer: %w", err)
			}
			quiet.Reset(silence) // the time the answer took was not vrrpd's silence
		case err := <-errs:
			if err != nil {
				return fmt.Errorf("read request: %w", err)
			}
			return nil
		case <-quiet.C:
			return ErrSilent
		}
	}
}

// answer carries out req.
func answer(s rhi.Speaker, req request) message {
	ctx := context.Background()
	m := message{ID: req.ID}
	var err error
	switch {
	case req.Op == opStart && req.Global != nil:
		err = s.Start(ctx, *req.Global)
	case req.Op == opSetPeers:
		err = s.SetPeers(ctx, req.Peers)
	case req.Op == opAnnounce && req.Attrs != nil:
		err = s.Announce(ctx, req.Prefix, *req.Attrs)
	case req.Op == opWithdraw:
		err = s.Withdraw(ctx, req.Prefix)
	case req.Op == opPeers:
		m.Peers = s.Peers()
	case req.Op == opStop:
		err = s.Stop(ctx)
	default:
		err = fmt.Errorf("unknown request %q", req.Op)
	}
	if err != nil {
		m.Error = err.Error()
	}
	return m
}

// writer writes whole lines, from a goroutine of its own: answers, peers' changes and
// log records come from different goroutines, and none of them may wait on a vrrpd
// that does not read. Past queueLen lines waiting, vrrpd is taken for hung.
type writer struct {
	lines chan []byte
	stop  chan struct{}
	done  chan struct{}
	err   error // the write that failed, once done is closed
}

// queueLen bounds the lines waiting for vrrpd to read them.
const queueLen = 1024

// errBehind is send's error when vrrpd has not read what was sent.
var errBehind = errors.New("vrrpd does not read what vrrpd-bgp sends")

func newWriter(w io.Writer) *writer {
	wr := &writer{lines: make(chan []byte, queueLen), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(wr.done)
		for {
			select {
			case b := <-wr.lines:
				if _, err := w.Write(b); err != nil {
					wr.err = err
					return
				}
			case <-wr.stop:
				// What is queued still goes, while it can: the answer to vrrpd's
				// last request among it.
				for {
					select {
					case b := <-wr.lines:
						if _, err := w.Write(b); err != nil {
							return
						}
					default:
						return
					}
				}
			}
		}
	}()
	return wr
}

func (w *writer) send(m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	select {
	case <-w.done:
		return w.err
	default:
	}
	select {
	case w.lines <- append(b, '\n'):
		return nil
	default:
		return errBehind
	}
}

// close ends the writing goroutine once it has written what is queued; it does not
// wait for it: Serve is returning, and the process exits.
func (w *writer) close() { close(w.stop) }

// logHandler sends the records to vrrpd, which logs them again.
type logHandler struct {
	out   *writer
	level slog.Level
	attrs []string // from WithAttrs, with the groups' names in front of their keys
	group string
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	rec := &logRecord{Time: r.Time, Level: r.Level, Message: r.Message, Attrs: slices.Clone(h.attrs)}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs = appendAttr(rec.Attrs, h.group, a)
		return true
	})
	return h.out.send(message{Log: rec})
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, h.group, a)
	}
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// appendAttr appends a's key and value as text, a group's members one by one.
func appendAttr(kv []string, group string, a slog.Attr) []string {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			group += a.Key + "."
		}
		for _, m := range v.Group() {
			kv = appendAttr(kv, group, m)
		}
		return kv
	}
	if a.Key == "" {
		return kv
	}
	return append(kv, group+a.Key, v.String())
}
