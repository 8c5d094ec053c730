package metrics

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parse reads the text exposition as Prometheus does.
func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// TestServe scrapes the endpoint: the metrics at their path, 404 elsewhere, and the
// same families as WriteText prints for vrrpd metrics.
func TestServe(t *testing.T) {
	reg, err := NewRegistry(twoInstances, "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := Listen("127.0.0.1:0", "/vrrpd/metrics", reg, log)
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
	if err := WriteText(&text, reg); err != nil {
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
	reg, err := NewRegistry(twoInstances, "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := Listen("127.0.0.1:0", "/metrics", reg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, addr := range []string{srv.Addr().String(), "192.0.2.77:9650"} {
		if s, err := Listen(addr, "/metrics", reg, log); err == nil {
			s.Close()
			t.Errorf("listened on %s", addr)
		}
	}
}
