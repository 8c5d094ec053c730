package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"
)

// maxConns bounds the connections open at once, a request read or answered on each:
// beyond it, a connection is closed at once. Prometheus opens one a scrape; a few
// servers scraping, a person with curl, and the rest is not a scraper.
const maxConns = 16

// limits bound how long a connection is kept; the tests shorten them.
type limits struct {
	header time.Duration // to read the request, from the connection's accept
	scrape time.Duration // from the request to the response's last byte
	grace  time.Duration // for the answers under way when the server closes
	linger time.Duration // to drain what a refused client still sends, see linger
}

var defaultLimits = limits{header: 5 * time.Second, scrape: scrapeTimeout, grace: time.Second, linger: 500 * time.Millisecond}

// Server serves the metrics over HTTP/1.1: one request a connection, GET or HEAD of
// the metrics' path, without a body. See the package documentation for why it is not
// net/http's.
type Server struct {
	ln     net.Listener
	path   string
	scr    *scraper
	log    *slog.Logger
	limits limits
	// ctx ends the scrapes still under way at the end of the grace.
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{} // closed by Close, to end the accept loop's back-off

	mu      sync.Mutex
	conns   map[net.Conn]bool // the open connections: true while answered
	closing bool
	wg      sync.WaitGroup // the accept loop and a goroutine a connection
}

// Listen listens on addr (host:port) and serves the exporter's metrics at path until
// Close. An address it cannot listen on is an error, at once.
func Listen(addr, path string, e *Exporter, log *slog.Logger) (*Server, error) {
	return listen(addr, path, e, log, defaultLimits)
}

func listen(addr, path string, e *Exporter, log *slog.Logger, l limits) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		ln: ln, path: path, scr: e.scraper(log, l.scrape), log: log, limits: l,
		ctx: ctx, cancel: cancel, stop: make(chan struct{}),
		conns: make(map[net.Conn]bool),
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops serving: it stops accepting, closes the connections whose request is
// not read yet, lets the scrapes under way finish for a second, then closes their
// connections too. It returns when every goroutine of the server has.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closing = true
	close(s.stop)
	err := s.ln.Close()
	for c, answered := range s.conns {
		if !answered {
			c.Close()
		}
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	grace := time.NewTimer(s.limits.grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.cancel()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// accept serves each connection in a goroutine of its own, up to maxConns.
func (s *Server) accept() {
	defer s.wg.Done()
	var backoff time.Duration
	var refusedLogged time.Time
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			// Out of file descriptors, most likely: some may be freed in a while, as
			// net/http waits for them.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("metrics: cannot accept a connection", "error", err, "retry_in", backoff)
			select {
			case <-s.stop:
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closing || len(s.conns) >= maxConns {
			full := !s.closing
			s.mu.Unlock()
			c.Close()
			if full && time.Since(refusedLogged) >= time.Minute {
				// Someone holds every connection: the scrapers are refused too.
				s.log.Warn("metrics: connections refused: all in use", "limit", maxConns, "from", c.RemoteAddr().String())
				refusedLogged = time.Now()
			}
			continue
		}
		s.conns[c] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// serve reads a request on c and answers it.
func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	// A bug in the exporter is worth a log line, not the daemon, as with net/http.
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("metrics: panic serving a scrape", "panic", v, "stack", string(debug.Stack()))
		}
	}()

	_ = c.SetReadDeadline(time.Now().Add(s.limits.header))
	req, err := readRequest(c)
	refused, isRefusal := errors.AsType[*refusal](err)
	if err != nil && !isRefusal {
		// Gone, or silent until the deadline: no one to answer.
		return
	}
	if !s.answering(c, true) {
		return
	}
	deadline := time.Now().Add(s.limits.scrape)
	// A scraper that reads too slowly is cut off at the deadline.
	_ = c.SetWriteDeadline(deadline)
	if isRefusal {
		resp := textResponse(refused.status, statusText(refused.status)+": "+refused.reason)
		err = resp.write(c, true)
	} else {
		ctx, cancel := context.WithDeadline(s.ctx, deadline)
		defer cancel()
		err = s.answer(ctx, req, c)
	}
	if err != nil {
		// Most likely the scraper went away: not worth more than a debug line.
		s.log.Debug("metrics: scrape not sent", "error", err)
		return
	}
	if s.answering(c, false) && isRefusal {
		s.linger(c)
	}
}

// answer answers a request read whole, on w.
func (s *Server) answer(ctx context.Context, req *request, w io.Writer) error {
	head := req.method == "HEAD"
	if req.path != s.path {
		resp := textResponse(statusNotFound, "404 page not found")
		return resp.write(w, !head)
	}
	if req.method != "GET" && !head {
		resp := textResponse(statusMethodNotAllowed, statusText(statusMethodNotAllowed))
		resp.allow = "GET, HEAD"
		return resp.write(w, true)
	}
	return s.scr.scrape(ctx, acceptsGzip(req.header.Values("Accept-Encoding")), head, req.version == "HTTP/1.1", w)
}

// answering marks c answered or not, for Close, which closes the connections not
// answered at once. It reports whether to go on: not once the server is closing,
// unless the answer has begun.
func (s *Server) answering(c net.Conn, answered bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = answered
	return true
}

// linger reads and drops what the client still sends after a refusal (a body, the
// rest of too long a header) for a while before the connection closes: closed with
// data unread, it would be reset, and the client could lose the answer before
// reading it.
func (s *Server) linger(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(s.limits.linger))
	_, _ = io.CopyN(io.Discard, c, 256<<10)
}
