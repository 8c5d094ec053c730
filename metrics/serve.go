package metrics

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/control"
)

// Server serves the metrics over HTTP.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen listens on addr (host:port) and serves the exporter's metrics at path until
// Close. An address it cannot listen on is an error, at once.
func Listen(addr, path string, e *Exporter, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(path, e.handler(log, scrapeTimeout))
	s := &Server{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		ln:  ln, done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "error", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops serving, letting a scrape under way finish for a second.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

const (
	// contentType is the text format 0.0.4's, which every Prometheus reads.
	contentType = "text/plain; version=0.0.4; charset=utf-8"
	// maxScrapes is how many scrapes may be served at once: more is not Prometheus.
	maxScrapes = 4
	// scrapeTimeout bounds a scrape, from the request to the last byte sent.
	scrapeTimeout = 10 * time.Second
)

// handler serves a scrape: the text format 0.0.4 whatever the scraper accepts, gzipped
// when it accepts gzip, streamed as it is written. A series that cannot be exported is
// left out and logged; the rest is served, as client_golang's ContinueOnError does.
func (e *Exporter) handler(log *slog.Logger, timeout time.Duration) http.Handler {
	inFlight := make(chan struct{}, maxScrapes)
	// Compressors at the speed level: a scrape compresses about eighteen times, at a
	// fifth of the default level's cost. Pooled, since each holds over a megabyte.
	gzips := sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
		return w
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case inFlight <- struct{}{}:
			defer func() { <-inFlight }()
		default:
			http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", maxScrapes),
				http.StatusServiceUnavailable)
			return
		}
		deadline := time.Now().Add(timeout)
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		st, err := statusWithin(ctx, e.status)
		if err != nil {
			http.Error(w, fmt.Sprintf("Exceeded configured timeout of %v.", timeout), http.StatusServiceUnavailable)
			return
		}
		v := newView(&st)
		if len(v.errs) > 0 {
			log.Error("metrics: series left out", "error", errors.Join(v.errs...))
		}
		v.rt, v.proc = readRuntime(), readProcess()
		if v.proc != nil {
			if errs := v.proc.errs(); len(errs) > 0 {
				// As client_golang's process collector: the families of what could not
				// be read are left out, the scrape goes on.
				log.Debug("metrics: process metrics left out", "error", errors.Join(errs...))
			}
		}

		// A scraper that reads too slowly is cut off at the deadline.
		_ = http.NewResponseController(w).SetWriteDeadline(deadline)
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Add("Vary", "Accept-Encoding")
		var body io.Writer = w
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			gz := gzips.Get().(*gzip.Writer)
			gz.Reset(w)
			defer func() {
				if err := gz.Close(); err != nil {
					log.Debug("metrics: scrape not sent", "error", err)
				}
				gzips.Put(gz)
			}()
			body = gz
		}
		if err := e.write(body, v); err != nil {
			// Most likely the scraper went away: not worth more than a debug line.
			log.Debug("metrics: scrape not sent", "error", err)
		}
	})
}

// statusWithin returns status() unless ctx ends first.
func statusWithin(ctx context.Context, status func() control.Status) (control.Status, error) {
	done := make(chan control.Status, 1)
	go func() { done <- status() }()
	select {
	case st := <-done:
		return st, nil
	case <-ctx.Done():
		return control.Status{}, ctx.Err()
	}
}

// acceptsGzip reports whether the Accept-Encoding values name gzip with a weight
// above 0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			name, q, ok := strings.Cut(params, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
				return true
			}
			if w, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err != nil || w > 0 {
				return true
			}
		}
	}
	return false
}
