package metrics

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vrrpd/vrrpd/control"
)

// parseText reads the text exposition as Prometheus does.
func parseText(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := parseText(r)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// TestServe scrapes the endpoint: the metrics at their path, 404 elsewhere, and the
// same families as WriteText prints for vrrpd metrics.
func TestServe(t *testing.T) {
	e := exporterOf(t, twoInstances)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := Listen("127.0.0.1:0", "/vrrpd/metrics", e, log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + srv.Addr().String()

	resp, err := http.Get(base + "/vrrpd/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	// Go's client asks for gzip, and unzips.
	if !resp.Uncompressed || !resp.Close || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("gzipped %v, closed %v, Vary %q", resp.Uncompressed, resp.Close, resp.Header.Get("Vary"))
	}
	scraped := parse(t, resp.Body)
	state := scraped["vrrpd_instance_state"]
	if state == nil || len(state.GetMetric()) != 8 {
		t.Fatalf("vrrpd_instance_state: %v", state)
	}

	var text bytes.Buffer
	if err := e.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	// The same vrrpd_* families, and no go_* or process_* ones, which node_exporter's
	// textfile collector would refuse.
	printed := parse(t, &text)
	for name := range scraped {
		if strings.HasPrefix(name, "vrrpd_") && printed[name] == nil {
			t.Errorf("WriteText leaves out %s", name)
		}
	}
	for name := range printed {
		if !strings.HasPrefix(name, "vrrpd_") || scraped[name] == nil {
			t.Errorf("WriteText prints %s", name)
		}
	}
	if scraped["go_goroutines"] == nil || scraped["process_start_time_seconds"] == nil {
		t.Error("a scrape has no go_goroutines or process_start_time_seconds")
	}

	other, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	other.Body.Close()
	if other.StatusCode != http.StatusNotFound {
		t.Errorf("another path: %s, want 404", other.Status)
	}
}

// TestListenRefused: an address the node cannot listen on is an error at once.
func TestListenRefused(t *testing.T) {
	e := exporterOf(t, twoInstances)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := Listen("127.0.0.1:0", "/metrics", e, log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, addr := range []string{srv.Addr().String(), "192.0.2.77:9650"} {
		if s, err := Listen(addr, "/metrics", e, log); err == nil {
			s.Close()
			t.Errorf("listened on %s", addr)
		}
	}
}

// scraped is a scraper's answer as a client reads it.
type scraped struct {
	status int
	header http.Header
	body   []byte
}

// scrape gets the scraper's answer to a request with the Accept-Encoding enc.
func scrape(s *scraper, enc string) scraped {
	var out bytes.Buffer
	if err := s.scrape(context.Background(), acceptsGzip([]string{enc}), false, true, &out); err != nil {
		return scraped{status: -1, body: []byte(err.Error())}
	}
	resp, err := http.ReadResponse(bufio.NewReader(&out), nil)
	if err != nil {
		return scraped{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return scraped{status: -1, body: []byte(err.Error())}
	}
	return scraped{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestScrapeEncoding: the same text plain and gzipped, as the scraper asks, in the
// text format 0.0.4.
func TestScrapeEncoding(t *testing.T) {
	e := exporterOf(t, oddInstances)
	s := e.scraper(slog.New(slog.DiscardHandler), time.Second)
	plain := scrape(s, "")
	if plain.status != 200 || plain.header.Get("Content-Encoding") != "" || plain.header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("plain: %d, header %v", plain.status, plain.header)
	}
	if ct := plain.header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	scraped := parse(t, bytes.NewReader(plain.body))
	if scraped["go_goroutines"] == nil || scraped["vrrpd_build_info"] == nil || len(scraped["vrrpd_instance_state"].GetMetric()) != 6*4 {
		t.Errorf("a scrape lacks families: %d of them", len(scraped))
	}
	gz := scrape(s, "br;q=1.0, gzip;q=0.8")
	if gz.status != 200 || gz.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %d, header %v", gz.status, gz.header)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz.body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	// The go_* and process_* values move between two scrapes; the rest stays.
	vrrpd := func(b []byte) string {
		var keep []string
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, "vrrpd_") {
				keep = append(keep, line)
			}
		}
		return strings.Join(keep, "")
	}
	if got, want := vrrpd(unzipped), vrrpd(plain.body); got != want || len(want) < 1000 {
		t.Errorf("gzipped and plain differ:\n%s", firstDifference(got, want))
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"identity"}, false},
		{[]string{"br, gzip"}, true},
		{[]string{"deflate", "gzip;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"*"}, false},
		{[]string{"x-gzip"}, false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestScrapeBounds: a status that does not come within the timeout is a 503, and so
// is a scrape beyond the four served at once.
func TestScrapeBounds(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, maxScrapes)
	stuck := func() control.Status {
		entered <- struct{}{}
		<-release
		return twoInstances()
	}
	e := exporterOf(t, stuck)
	s := e.scraper(slog.New(slog.DiscardHandler), time.Hour)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range maxScrapes {
		wg.Go(func() { s.scrape(ctx, false, false, true, io.Discard) })
		<-entered
	}
	if r := scrape(s, ""); r.status != 503 || !strings.Contains(string(r.body), "Limit of concurrent requests reached (4)") {
		t.Errorf("a fifth scrape: %d %s", r.status, r.body)
	}
	cancel()
	wg.Wait()

	short := exporterOf(t, stuck).scraper(slog.New(slog.DiscardHandler), 50*time.Millisecond)
	r := scrape(short, "")
	if r.status != 503 || !strings.Contains(string(r.body), "Exceeded configured timeout of 50ms") {
		t.Errorf("a status that does not come: %d %s", r.status, r.body)
	}
}

// exchange sends req as it is on a connection of its own to srv, and returns the
// response and the bytes after its header, read to the end of the connection.
func exchange(t *testing.T, srv *Server, req string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if len(req) > 100 {
		req = req[:100] + "..."
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v after %q", req, err, raw)
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("%q: no header in %q", req, raw)
	}
	// The header alone, as to a HEAD request: the test looks at the body itself.
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(append(head, "\r\n\r\n"...))), &http.Request{Method: "HEAD"})
	if err != nil {
		t.Fatalf("%q: %v in %q", req, err, raw)
	}
	if slices.Contains(resp.TransferEncoding, "chunked") && len(body) > 0 {
		// Whole chunks, the last one included: a body cut short is an error.
		if body, err = io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body))); err != nil {
			t.Fatalf("%q: chunks: %v", req, err)
		}
	}
	return resp, body
}

// TestServeRequests: the answers to requests right and wrong, sent as they are.
func TestServeRequests(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", "/metrics", exporterOf(t, twoInstances), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const host = "Host: node\r\n"
	tests := []struct {
		name, req string
		status    int
	}{
		{"get", "GET /metrics HTTP/1.1\r\n" + host + "\r\n", 200},
		{"query ignored", "GET /metrics?x=1&y HTTP/1.1\r\n" + host + "\r\n", 200},
		{"escaped", "GET /%6Detrics HTTP/1.1\r\n" + host + "\r\n", 200},
		{"HTTP/1.0 without Host", "GET /metrics HTTP/1.0\r\n\r\n", 200},
		{"no body", "GET /metrics HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", 200},
		{"head", "HEAD /metrics HTTP/1.1\r\n" + host + "\r\n", 200},
		{"another path", "GET /metrics/ HTTP/1.1\r\n" + host + "\r\n", 404},
		{"root", "GET / HTTP/1.1\r\n" + host + "\r\n", 404},
		{"post", "POST /metrics HTTP/1.1\r\n" + host + "\r\n", 405},
		{"options", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", 400},
		{"body", "POST /metrics HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello", 400},
		{"chunked body", "GET /metrics HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"bad length", "GET /metrics HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
		{"HTTP/0.9", "GET /metrics\r\n\r\n", 400},
		{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400},
		{"version case", "GET /metrics http/1.1\r\n" + host + "\r\n", 400},
		{"method", "G(T /metrics HTTP/1.1\r\n" + host + "\r\n", 400},
		{"two spaces", "GET  /metrics HTTP/1.1\r\n" + host + "\r\n", 400},
		{"bad escape", "GET /metrics%zz HTTP/1.1\r\n" + host + "\r\n", 400},
		{"no Host", "GET /metrics HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET /metrics HTTP/1.1\r\n" + host + host + "\r\n", 400},
		{"bad field", "GET /metrics HTTP/1.1\r\n" + host + "No colon\r\n\r\n", 400},
		{"control in value", "GET /metrics HTTP/1.1\r\n" + host + "A: b\x01c\r\n\r\n", 400},
		{"bad field name", "GET /metrics HTTP/1.1\r\n" + host + "A b: c\r\n\r\n", 400},
		{"large header", "GET /metrics HTTP/1.1\r\n" + host + "X-Big: " + strings.Repeat("x", 9<<10) + "\r\n\r\n", 431},
		{"many fields", "GET /metrics HTTP/1.1\r\n" + host + strings.Repeat("X-A: b\r\n", 9<<10/8) + "\r\n", 431},
		{"long line", "GET /" + strings.Repeat("x", 9<<10) + " HTTP/1.1\r\n" + host + "\r\n", 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := exchange(t, srv, tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %s, want %d: %s", resp.Status, tt.status, body)
			}
			// Connection: close reads as Close. A scrape's body is streamed, ended by the
			// close; a refusal's has its Content-Length.
			if !resp.Close || resp.Header.Get("Date") == "" {
				t.Errorf("Connection: close %v, Date %q", resp.Close, resp.Header.Get("Date"))
			}
			length := resp.Header.Get("Content-Length")
			if tt.status == 200 && length != "" {
				t.Errorf("a scrape with a Content-Length %s", length)
			}
			// Chunks to HTTP/1.1, so that a body cut short is seen; HTTP/1.0 has none.
			chunked := slices.Contains(resp.TransferEncoding, "chunked")
			if want := tt.status == 200 && strings.Contains(tt.req, "HTTP/1.1\r\n"); chunked != want {
				t.Errorf("chunked %v, want %v", chunked, want)
			}
			if strings.HasPrefix(tt.req, "HEAD ") {
				if len(body) != 0 {
					t.Errorf("HEAD: %d bytes", len(body))
				}
				return
			}
			if tt.status == 200 && len(body) < 1000 {
				t.Errorf("a scrape of %d bytes", len(body))
			}
			if n, err := strconv.Atoi(length); tt.status != 200 && (err != nil || n != len(body)) {
				t.Errorf("Content-Length %q, %d bytes", length, len(body))
			}
			switch tt.status {
			case 200:
				if resp.Header.Get("Content-Type") != contentType || resp.Header.Get("Content-Encoding") != "" {
					t.Errorf("Content-Type %q, Content-Encoding %q", resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"))
				}
				if mfs := parse(t, bytes.NewReader(body)); mfs["vrrpd_instance_state"] == nil {
					t.Errorf("no vrrpd_instance_state in %d families", len(mfs))
				}
			case 405:
				if a := resp.Header.Get("Allow"); a != "GET, HEAD" {
					t.Errorf("Allow %q", a)
				}
			}
		})
	}
}

// TestServeGzip: gzip when asked for, streamed to the connection's close.
func TestServeGzip(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", "/metrics", exporterOf(t, twoInstances), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, body := exchange(t, srv, "GET /metrics HTTP/1.1\r\nHost: node\r\nAccept-Encoding: identity;q=0.5, gzip\r\n\r\n")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Length") != "" {
		t.Fatalf("%s, Content-Encoding %q, Content-Length %q for %d bytes", resp.Status, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(body))
	}
	r, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if mfs := parse(t, r); mfs["vrrpd_instance_state"] == nil {
		t.Errorf("no vrrpd_instance_state in %d families", len(mfs))
	}
}

// closedWithin reports whether the server closes c, without a byte, within d.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(make([]byte, 1))
	return n == 0 && errors.Is(err, io.EOF)
}

// TestServeSilentClient: a client that sends no request, or half of one, is dropped
// at the header deadline; the connections beyond maxConns at once.
func TestServeSilentClient(t *testing.T) {
	l := defaultLimits
	l.header = 100 * time.Millisecond
	srv, err := listen("127.0.0.1:0", "/metrics", exporterOf(t, twoInstances), slog.New(slog.DiscardHandler), l)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, sent := range []string{"", "GET /metrics HTTP/1.1\r\nHost: node\r\n"} {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := io.WriteString(c, sent); err != nil {
			t.Fatal(err)
		}
		if !closedWithin(t, c, 10*time.Second) {
			t.Errorf("after %q: not closed", sent)
		} else if d := time.Since(start); d < l.header {
			t.Errorf("after %q: closed after %v, before the deadline", sent, d)
		}
		c.Close()
	}
}

// TestServeConnectionBound: the connections beyond maxConns are closed at once, and
// the others served.
func TestServeConnectionBound(t *testing.T) {
	l := defaultLimits
	l.header = time.Hour
	srv, err := listen("127.0.0.1:0", "/metrics", exporterOf(t, twoInstances), slog.New(slog.DiscardHandler), l)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range maxConns {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	extra, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedWithin(t, extra, 10*time.Second) {
		t.Fatal("a connection beyond the bound is kept")
	}
	// The first ones are still there.
	if _, err := io.WriteString(idle[0], "GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(idle[0]), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a connection within the bound: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestServeClose: Close closes a connection without a request at once, lets a scrape
// under way finish within the grace, and cuts off one that does not.
func TestServeClose(t *testing.T) {
	for _, finishes := range []bool{true, false} {
		release := make(chan struct{})
		entered := make(chan struct{}, 1)
		e := exporterOf(t, func() control.Status {
			entered <- struct{}{}
			<-release
			return twoInstances()
		})
		l := defaultLimits
		l.grace = 200 * time.Millisecond
		srv, err := listen("127.0.0.1:0", "/metrics", e, slog.New(slog.DiscardHandler), l)
		if err != nil {
			t.Fatal(err)
		}
		silent, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			status int
			err    error
		}
		got := make(chan result, 1)
		go func() {
			resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
			if err != nil {
				got <- result{err: err}
				return
			}
			defer resp.Body.Close()
			_, err = io.ReadAll(resp.Body)
			got <- result{resp.StatusCode, err}
		}()
		<-entered
		closed := make(chan error, 1)
		start := time.Now()
		go func() { closed <- srv.Close() }()
		if !closedWithin(t, silent, 5*time.Second) {
			t.Error("a connection without a request is not closed")
		}
		silent.Close()
		if finishes {
			close(release)
			if r := <-got; r.err != nil || r.status != 200 {
				t.Errorf("a scrape under way: %d %v", r.status, r.err)
			}
			if err := <-closed; err != nil {
				t.Error(err)
			}
			continue
		}
		if err := <-closed; err != nil {
			t.Error(err)
		}
		if d := time.Since(start); d < l.grace || d > 5*time.Second {
			t.Errorf("closed after %v, with a grace of %v", d, l.grace)
		}
		if r := <-got; r.err == nil && r.status == 200 {
			t.Error("a scrape stuck beyond the grace is served")
		}
		close(release)
	}
}
