package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// oddInstances is a status that puts the order and escaping of the samples to the
// test: instances sharing an interface with VRIDs that sort differently as text and
// as numbers, label values with quotes, backslashes, new lines and non-ASCII
// letters, VIPs and trackers out of order, a histogram with its buckets out of order
// and a bound twice, large counters and fractions of a second.
func oddInstances() control.Status {
	st := twoInstances()
	quoted := control.InstanceStatus{
		Name: `say "hi"`, Interface: "eth0", VRID: 100, Family: "IPv4", State: "FAULT",
		Transitions:  map[string]uint64{"FAULT": 3, "INIT": 1},
		BasePriority: 254, Priority: 0, Master: "", MasterPriority: 0,
		AdvertInterval: control.Duration(30 * time.Millisecond), MasterAdvertInterval: control.Duration(10 * time.Millisecond),
		SkewTime: control.Duration(1), MasterDownInterval: control.Duration(time.Duration(1<<62) + 1),
		VIPs: []control.VIPStatus{
			{Address: "198.51.100.9/24", Interface: "eth0", Present: true},
			{Address: "192.0.2.200/24", Interface: `br\lan`, Present: true},
			{Address: "192.0.2.200/24", Interface: "eth0"},
			{Address: "not an address", Interface: "eth0"},
		},
		AdvertsSent: 1 << 60, AdvertsReceived: 1<<53 + 1, Drops: map[string]uint64{"ttl": 12345678901, "vrid": 1},
		HookRuns:          map[string]uint64{"dropped": 2, "error": 3, "failed": 4},
		AdvertLatenessMax: control.Duration(123456789), SplitBrainsHealed: 7,
		Trackers: []control.TrackerStatus{
			{Kind: "script", Name: "z\nlast", Delta: 10},
			{Kind: "interface", Name: "eth1", Delta: -254, Fault: true},
			{Kind: "script", Name: `a\b`, Delta: 0},
		},
	}
	accented := control.InstanceStatus{
		Name: "zeta señal", Interface: "eth0", VRID: 5, Family: "IPv4", State: "INIT",
		VIPs: []control.VIPStatus{{Address: "192.0.2.5/32", Interface: "eth0"}},
	}
	other := control.InstanceStatus{
		Name: "web-b", Interface: "eth1", VRID: 51, Family: "IPv4", State: "BACKUP", Since: since.Add(1500 * time.Millisecond),
		Master: "192.0.2.2", MasterPriority: 200,
		VIPs: []control.VIPStatus{{Address: "2001:DB8:0::1/64", Interface: "eth1", Present: true}},
	}
	sameVRID := control.InstanceStatus{
		Name: "api6b", Interface: "eth0", VRID: 52, Family: "IPv6", State: "MASTER",
		Trackers: []control.TrackerStatus{{Kind: "file", Name: "drain", Fault: true}},
	}
	st.Instances = append(st.Instances, quoted, accented, other, sameVRID)
	st.Trackers = append(st.Trackers,
		control.Tracker{Kind: "interface", Name: "eth1", State: "unknown"},
		control.Tracker{Kind: "script", Name: `a\b`, State: "ok", Runs: &control.ScriptRuns{
			Results: map[string]uint64{"timeout": 9, "error": 1},
			Duration: control.Histogram{Count: 10, Sum: control.Duration(12345 * time.Millisecond), Buckets: []control.Bucket{
				{UpperBound: control.Duration(5 * time.Second), Count: 9},
				{UpperBound: control.Duration(5 * time.Millisecond), Count: 0},
				{UpperBound: control.Duration(250 * time.Microsecond), Count: 0},
				{UpperBound: control.Duration(5 * time.Second), Count: 8},
			}},
		}},
		control.Tracker{Kind: "script", Name: "z\nlast", State: "failing", Runs: &control.ScriptRuns{}},
	)
	st.Reloads.Loaded = since.Add(123456789)
	st.EventsDropped = 1 << 40
	return st
}

// referenceBuildInfo is vrrpd_build_info as vrrpd made it with client_golang, of
// version 1.2.3.
func referenceBuildInfo() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vrrpd_build_info",
		Help:        "Always 1, with the version of vrrpd and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": "1.2.3", "goversion": runtime.Version()},
	}, func() float64 { return 1 })
}

// referenceText is what client_golang made of st: the families gathered from the
// collector vrrpd used before and vrrpd_build_info, encoded by expfmt, with the error
// of the gathering.
func referenceText(t *testing.T, st control.Status) (string, error) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newReferenceCollector(func() control.Status { return st }), referenceBuildInfo())
	mfs, gatherErr := reg.Gather()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String(), gatherErr
}

// writtenText is what the exporter writes of st, without the runtime's and the
// process's families, with the series it left out.
func writtenText(t *testing.T, st control.Status) (string, []error) {
	t.Helper()
	e := exporterOf(t, func() control.Status { return st })
	v := newView(&st)
	var b bytes.Buffer
	if err := e.write(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String(), v.errs
}

// TestSameAsClientGolang: the text written straight from the status is, byte for byte,
// what client_golang's registry and expfmt made of it.
func TestSameAsClientGolang(t *testing.T) {
	tests := []struct {
		name string
		st   func() control.Status
	}{
		{"two instances", twoInstances},
		{"odd labels and values", oddInstances},
		{"no instances", func() control.Status { return control.Status{} }},
		{"a thousand instances", func() control.Status { return manyInstances(1000) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := referenceText(t, tt.st())
			if err != nil {
				t.Fatal(err)
			}
			got, errs := writtenText(t, tt.st())
			if len(errs) > 0 {
				t.Errorf("left out: %v", errs)
			}
			if got != want {
				t.Errorf("the text differs from client_golang's:\n%s", firstDifference(got, want))
			}
		})
	}
}

// TestWriteTextSameAsClientGolang: vrrpd metrics prints what it printed through
// client_golang, vrrpd_build_info in its place among the families.
func TestWriteTextSameAsClientGolang(t *testing.T) {
	st := oddInstances()
	want, err := referenceText(t, st)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := exporterOf(t, func() control.Status { return st }).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(want, "\nvrrpd_build_info{") {
		t.Fatalf("no vrrpd_build_info in:\n%s", want)
	}
	if got := b.String(); got != want {
		t.Errorf("the text differs from client_golang's:\n%s", firstDifference(got, want))
	}
}

// TestLeftOut: a series client_golang refuses (a label value that is not UTF-8, a
// series listed twice) is left out of a scrape, with an error, and the rest is the
// same; vrrpd metrics prints nothing but the error.
func TestLeftOut(t *testing.T) {
	st := oddInstances()
	bad := st.Instances[0]
	bad.Name = "bad\xff"
	twice := st.Instances[2]
	twice.Priority = 1 // the first one listed is kept
	vipTwice := st.Instances[3]
	vipTwice.VIPs = append(vipTwice.VIPs, vipTwice.VIPs[0])
	st.Instances = append(st.Instances[:3:3], vipTwice, bad, twice)
	st.Instances = append(st.Instances, oddInstances().Instances[4:]...)
	st.Trackers = append(st.Trackers, control.Tracker{Kind: "file", Name: "bad\xfe", State: "ok"})

	want, gatherErr := referenceText(t, st)
	if gatherErr == nil {
		t.Fatal("client_golang took the status whole")
	}
	got, errs := writtenText(t, st)
	if len(errs) != 4 {
		t.Errorf("%d errors, want 4: %v", len(errs), errs)
	}
	if got != want {
		t.Errorf("the text differs from client_golang's:\n%s", firstDifference(got, want))
	}
	var b bytes.Buffer
	err := exporterOf(t, func() control.Status { return st }).WriteText(&b)
	if err == nil || b.Len() > 0 {
		t.Errorf("WriteText: %v, and %d bytes", err, b.Len())
	}
}

// firstDifference shows the first line where got and want part.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "the same lines"
}

// TestPromtool: promtool, Prometheus's own linter, finds nothing wrong with what vrrpd
// metrics prints, nor with a scrape and its go_* and process_* families.
func TestPromtool(t *testing.T) {
	promtool := netnstest.RequireCommand(t, "promtool")
	printed := func(st control.Status) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			var b bytes.Buffer
			if err := exporterOf(t, func() control.Status { return st }).WriteText(&b); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
	}
	for name, text := range map[string]func(t *testing.T) []byte{
		"odd":      printed(oddInstances()),
		"thousand": printed(manyInstances(1000)),
		"scrape":   func(t *testing.T) []byte { return []byte(scrapeText(t, exporterOf(t, oddInstances))) },
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "scrape.prom")
			if err := os.WriteFile(file, text(t), 0o600); err != nil {
				t.Fatal(err)
			}
			in, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = in
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("promtool check metrics: %v\n%s", err, out)
			}
		})
	}
}
