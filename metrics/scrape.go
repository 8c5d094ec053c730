package metrics

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/control"
)

const (
	// contentType is the text format 0.0.4's, which every Prometheus reads.
	contentType = "text/plain; version=0.0.4; charset=utf-8"
	// maxScrapes is how many scrapes may be served at once: more is not Prometheus.
	maxScrapes = 4
	// scrapeTimeout bounds a scrape, from the request to the last byte sent.
	scrapeTimeout = 10 * time.Second
)

// scraper answers the scrapes of an exporter: the text format 0.0.4 whatever the
// scraper accepts, gzipped when it accepts gzip. A series that cannot be exported is
// left out and logged; the rest is served, as client_golang's ContinueOnError does.
type scraper struct {
	e        *Exporter
	log      *slog.Logger
	timeout  time.Duration
	inFlight chan struct{}
	// Compressors at the speed level: a scrape compresses about eighteen times, at a
	// fifth of the default level's cost. Pooled, since each holds over a megabyte.
	gzips sync.Pool
}

func (e *Exporter) scraper(log *slog.Logger, timeout time.Duration) *scraper {
	return &scraper{
		e: e, log: log, timeout: timeout,
		inFlight: make(chan struct{}, maxScrapes),
		gzips: sync.Pool{New: func() any {
			w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
			return w
		}},
	}
}

// scrape answers a scrape on w: the header, then, unless head, the body as it is
// written: in chunks when chunked (HTTP/1.1), so that a body cut short (a deadline, a
// closing server) reads as an error rather than as fewer series; else ended by the
// connection's close. Nothing holds the whole of it: a scrape
// of a thousand instances is 320 kB gzipped, as Prometheus asks for it, but 5.7 MB
// plain.
func (s *scraper) scrape(ctx context.Context, gzipped, head, chunked bool, w io.Writer) error {
	select {
	case s.inFlight <- struct{}{}:
	default:
		r := textResponse(statusUnavailable, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", maxScrapes))
		return r.write(w, !head)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// The slot is given back when the status comes, not when the scrape gives up on
	// it: a daemon that does not answer holds at most maxScrapes of them.
	st, err := statusWithin(ctx, s.e.status, func() { <-s.inFlight })
	if err != nil {
		r := textResponse(statusUnavailable, fmt.Sprintf("Exceeded configured timeout of %v.", s.timeout))
		return r.write(w, !head)
	}
	v := newView(&st)
	if len(v.errs) > 0 {
		s.log.Error("metrics: series left out", "error", errors.Join(v.errs...))
	}
	v.rt, v.proc = readRuntime(), readProcess()
	if v.proc != nil {
		if errs := v.proc.errs(); len(errs) > 0 {
			// As client_golang's process collector: the families of what could not
			// be read are left out, the scrape goes on.
			s.log.Debug("metrics: process metrics left out", "error", errors.Join(errs...))
		}
	}

	resp := response{status: statusOK, contentType: contentType, vary: true, streamed: true, chunked: chunked}
	if gzipped {
		resp.encoding = "gzip"
	}
	if err := resp.write(w, false); err != nil || head {
		return err
	}
	var cw *chunkWriter
	if chunked {
		cw = &chunkWriter{w: w}
		w = cw
	}
	bw := bufio.NewWriterSize(w, streamBuffer)
	out := io.Writer(bw)
	var gz *gzip.Writer
	if gzipped {
		gz = s.gzips.Get().(*gzip.Writer)
		defer s.gzips.Put(gz)
		gz.Reset(bw)
		out = gz
	}
	err = s.e.write(out, v)
	if gz != nil && err == nil {
		err = gz.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && cw != nil {
		err = cw.end()
	}
	return err
}

// chunkWriter writes HTTP/1.1's chunked transfer coding (RFC 9112, 7.1): each Write a
// chunk, end the last one.
type chunkWriter struct {
	w    io.Writer
	size []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.size = append(strconv.AppendInt(c.size[:0], int64(len(p)), 16), "\r\n"...)
	bufs := net.Buffers{c.size, p, []byte("\r\n")}
	if _, err := bufs.WriteTo(c.w); err != nil {
		return 0, err
	}
	return len(p), nil
}

// end writes the last chunk, of size zero, and the empty trailer.
func (c *chunkWriter) end() error {
	_, err := io.WriteString(c.w, "0\r\n\r\n")
	return err
}

// streamBuffer is what a scrape gathers before each write to the connection.
const streamBuffer = 32 << 10

// statusWithin returns status() unless ctx ends first; then is called once status()
// has returned, whichever came first.
func statusWithin(ctx context.Context, status func() control.Status, then func()) (control.Status, error) {
	done := make(chan control.Status, 1)
	go func() {
		defer then()
		done <- status()
	}()
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
