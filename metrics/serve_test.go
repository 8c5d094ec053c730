package metrics

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// scrape gets the handler's answer to a request with the Accept-Encoding enc.
func scrape(h http.Handler, enc string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/metrics", nil)
	if enc != "" {
		r.Header.Set("Accept-Encoding", enc)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestHandlerEncoding: the same text plain and gzipped, as the scraper asks, in the
// text format 0.0.4.
func TestHandlerEncoding(t *testing.T) {
	e := exporterOf(t, oddInstances)
	h := e.handler(slog.New(slog.DiscardHandler), time.Second)
	plain := scrape(h, "")
	if plain.Code != http.StatusOK || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("plain: %d, Content-Encoding %q", plain.Code, plain.Header().Get("Content-Encoding"))
	}
	if ct := plain.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	scraped := parse(t, bytes.NewReader(plain.Body.Bytes()))
	if scraped["go_goroutines"] == nil || scraped["vrrpd_build_info"] == nil || len(scraped["vrrpd_instance_state"].GetMetric()) != 6*4 {
		t.Errorf("a scrape lacks families: %d of them", len(scraped))
	}
	gz := scrape(h, "br;q=1.0, gzip;q=0.8")
	if gz.Code != http.StatusOK || gz.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %d, Content-Encoding %q", gz.Code, gz.Header().Get("Content-Encoding"))
	}
	r, err := gzip.NewReader(gz.Body)
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
	if got, want := vrrpd(unzipped), vrrpd(plain.Body.Bytes()); got != want || len(want) < 1000 {
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

// TestHandlerBounds: a status that does not come within the timeout is a 503, and so
// is a scrape beyond the four served at once.
func TestHandlerBounds(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, maxScrapes)
	stuck := func() control.Status {
		entered <- struct{}{}
		<-release
		return twoInstances()
	}
	e := exporterOf(t, stuck)
	h := e.handler(slog.New(slog.DiscardHandler), time.Hour)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range maxScrapes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequestWithContext(ctx, "GET", "/metrics", nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
		<-entered
	}
	if w := scrape(h, ""); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "Limit of concurrent requests reached (4)") {
		t.Errorf("a fifth scrape: %d %s", w.Code, w.Body)
	}
	cancel()
	wg.Wait()

	short := exporterOf(t, stuck).handler(slog.New(slog.DiscardHandler), 50*time.Millisecond)
	w := scrape(short, "")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "Exceeded configured timeout of 50ms") {
		t.Errorf("a status that does not come: %d %s", w.Code, w.Body)
	}
}
