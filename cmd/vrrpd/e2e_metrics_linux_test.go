package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// httpIn returns an HTTP client whose connections are made in the namespace ns.
func httpIn(ns *netnstest.NS) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// scrape reads a node's metrics endpoint as Prometheus does.
func scrape(t *testing.T, hc *http.Client, target string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := hc.Get("http://" + target + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", target, resp.Status)
	}
	return parseExposition(t, resp.Body)
}

func parseExposition(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return mfs
}

// sample returns the value of the series of family name whose labels include want;
// ok is false when there is none.
func sample(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// mustSample is sample that fails the test when there is no such series.
func mustSample(t *testing.T, who string, mfs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := sample(mfs, name, labels)
	if !ok {
		t.Fatalf("%s: no %s%v", who, name, labels)
	}
	return v
}

// promQuery asks a Prometheus server for an instant vector: each sample's labels and
// value.
func promQuery(hc *http.Client, server, query string) ([]map[string]string, error) {
	resp, err := hc.Get("http://" + server + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", query, r.Error)
	}
	var out []map[string]string
	for _, s := range r.Data.Result {
		m := s.Metric
		m["__value__"] = fmt.Sprint(s.Value[1])
		out = append(out, m)
	}
	return out, nil
}

// startPrometheus runs the Debian prometheus server in ns, scraping targets every
// second with the alerting rules of deploy/prometheus, and returns its address.
func startPrometheus(t *testing.T, ns *netnstest.NS, targets ...string) string {
	t.Helper()
	bin := netnstest.RequireCommand(t, "prometheus")
	dir := t.TempDir()
	rules, err := filepath.Abs("../../deploy/prometheus/vrrpd.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = `"` + tg + `"`
	}
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: vrrpd
    static_configs: [{targets: [%s]}]
`, rules, strings.Join(quoted, ", "))
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	const addr = "127.0.0.1:9090"
	out := &netnstest.Buffer{}
	cmd := ns.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = out, out
	netnstest.Start(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus log:\n%s", out)
		}
	})
	hc := httpIn(ns)
	netnstest.Eventually(t, 20*time.Second, func() bool {
		resp, err := hc.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "prometheus did not become ready:\n%s", out)
	return addr
}

// TestE2EMetrics scrapes two nodes' metrics endpoints, and has a real Prometheus server
// scrape them too, before and after a failover: the state shows on both nodes, and
// Prometheus finds one master, the other node after the failover. The alerting rules
// load and evaluate in that server. vrrpd metrics prints the same vrrpd_* families, and
// a real transition event has the fields of the example in docs/operations.md.
func TestE2EMetrics(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	// A timeout well above what /bin/true takes on a loaded machine: the test is about
	// metrics, not about a check that fails.
	const check = "scripts:\n  chk: {exec: [/bin/true], interval: 100ms, timeout: 10s}\n"
	cfg := func(nd *e2eNode, prio int) string {
		return check + fmt.Sprintf("metrics: {listen: \"192.0.2.%d:9650\"}\ninstances:\n", map[*e2eNode]int{a: 1, b: 2}[nd]) +
			instanceYAML("web", 51, prio, "100ms", vip+"/24") + "    track: {scripts: [{name: chk, weight: -10}]}\n"
	}
	a.writeFile(cfg(a, 150))
	b.writeFile(cfg(b, 100))
	a.start()
	b.start()
	a.waitState("web", "MASTER", 10*time.Second)
	b.waitState("web", "BACKUP", 5*time.Second)
	c.onlyOn(vip, a)

	hc := httpIn(c.client)
	targets := map[*e2eNode]string{a: "192.0.2.1:9650", b: "192.0.2.2:9650"}
	web := map[string]string{"vrrp_instance": "web", "interface": "eth0", "vrid": "51", "family": "IPv4"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range web {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	// states scrapes each node until it reports want as its state of web.
	states := func(want map[*e2eNode]string) map[*e2eNode]map[string]*dto.MetricFamily {
		t.Helper()
		got := map[*e2eNode]map[string]*dto.MetricFamily{}
		for nd, state := range want {
			netnstest.Eventually(t, 5*time.Second, func() bool {
				got[nd] = scrape(t, hc, targets[nd])
				v, _ := sample(got[nd], "vrrpd_instance_state", with("state", state))
				return v == 1
			}, "%s's metrics do not say %s", nd.name, state)
			for _, other := range []string{"INIT", "BACKUP", "MASTER", "FAULT"} {
				if v := mustSample(t, nd.name, got[nd], "vrrpd_instance_state", with("state", other)); other != state && v != 0 {
					t.Errorf("%s: vrrpd_instance_state{state=%q} is %v besides %s", nd.name, other, v, state)
				}
			}
		}
		return got
	}

	before := states(map[*e2eNode]string{a: "MASTER", b: "BACKUP"})
	ma, mb := before[a], before[b]
	for _, tc := range []struct {
		who   string
		mfs   map[string]*dto.MetricFamily
		name  string
		label map[string]string
		ok    func(float64) bool
		want  string
	}{
		{"lb1", ma, "vrrpd_instance_adverts_sent_total", web, func(v float64) bool { return v > 0 }, "> 0"},
		{"lb2", mb, "vrrpd_instance_adverts_received_total", web, func(v float64) bool { return v > 0 }, "> 0"},
		{"lb1", ma, "vrrpd_instance_vip_present", with("vip", vip, "vip_interface", "eth0"), func(v float64) bool { return v == 1 }, "1"},
		{"lb2", mb, "vrrpd_instance_vip_present", with("vip", vip, "vip_interface", "eth0"), func(v float64) bool { return v == 0 }, "0"},
		{"lb1", ma, "vrrpd_instance_transitions_total", with("to", "MASTER"), func(v float64) bool { return v == 1 }, "1"},
		{"lb1", ma, "vrrpd_instance_garp_sent_total", web, func(v float64) bool { return v >= 1 }, ">= 1"},
		{"lb1", ma, "vrrpd_instance_priority", web, func(v float64) bool { return v == 150 }, "150"},
		{"lb2", mb, "vrrpd_instance_master_priority", web, func(v float64) bool { return v == 150 }, "150"},
		{"lb2", mb, "vrrpd_instance_master_down_interval_seconds", web, func(v float64) bool { return v > 0.36 && v < 0.37 }, "0.361 s"},
		{"lb1", ma, "vrrpd_instance_tracker_priority_delta", with("kind", "script", "tracker", "chk"), func(v float64) bool { return v == 0 }, "0"},
		{"lb1", ma, "vrrpd_tracker_state", map[string]string{"kind": "script", "tracker": "chk", "state": "ok"}, func(v float64) bool { return v == 1 }, "1"},
		{"lb1", ma, "vrrpd_script_runs_total", map[string]string{"script": "chk", "result": "ok"}, func(v float64) bool { return v >= 1 }, ">= 1"},
		{"lb1", ma, "vrrpd_script_duration_seconds", map[string]string{"script": "chk"}, func(v float64) bool { return v >= 1 }, ">= 1 run"},
		{"lb1", ma, "vrrpd_config_last_reload_successful", nil, func(v float64) bool { return v == 1 }, "1"},
		{"lb1", ma, "vrrpd_build_info", nil, func(v float64) bool { return v == 1 }, "1"},
		{"lb1", ma, "process_start_time_seconds", nil, func(v float64) bool { return v > 0 }, "> 0"},
		{"lb1", ma, "go_goroutines", nil, func(v float64) bool { return v > 0 }, "> 0"},
	} {
		if v := mustSample(t, tc.who, tc.mfs, tc.name, tc.label); !tc.ok(v) {
			t.Errorf("%s: %s%v = %v, want %s", tc.who, tc.name, tc.label, v, tc.want)
		}
	}
	for _, nd := range []*e2eNode{a, b} {
		mfs := before[nd]
		for name, mf := range mfs {
			if !strings.HasPrefix(name, "vrrpd_instance_adverts_dropped_total") {
				continue
			}
			for _, m := range mf.GetMetric() {
				if v := m.GetCounter().GetValue(); v > 0 {
					t.Logf("%s drops %v: %v", nd.name, m.GetLabel(), v)
				}
			}
		}
	}

	// vrrpd metrics prints the same vrrpd_* families from the control socket.
	var text, errOut bytes.Buffer
	if code := run([]string{"metrics", "--socket", a.socket()}, &text, &errOut); code != 0 {
		t.Fatalf("vrrpd metrics: exit %d: %s", code, errOut.String())
	}
	printed := parseExposition(t, &text)
	for name := range ma {
		if strings.HasPrefix(name, "vrrpd_") && printed[name] == nil {
			t.Errorf("vrrpd metrics leaves out %s", name)
		}
	}
	if v := mustSample(t, "vrrpd metrics", printed, "vrrpd_instance_state", with("state", "MASTER")); v != 1 {
		t.Errorf("vrrpd metrics: lb1 is not MASTER: %v", v)
	}

	// The real Prometheus server, with the alerting rules, finds one master: lb1.
	prom := startPrometheus(t, c.client, targets[a], targets[b])
	masterIs := func(target string) {
		t.Helper()
		var last []map[string]string
		var lastErr error
		netnstest.Eventually(t, 15*time.Second, func() bool {
			n, err := promQuery(hc, prom, `count(vrrpd_instance_state{state="MASTER"} == 1) == 1`)
			if err != nil || len(n) != 1 {
				last, lastErr = n, err
				return false
			}
			last, lastErr = promQuery(hc, prom, `vrrpd_instance_state{state="MASTER",vrrp_instance="web"} == 1`)
			return lastErr == nil && len(last) == 1 && last[0]["instance"] == target
		}, "prometheus does not find one master, %s: %v %v", target, last, lastErr)
	}
	masterIs(targets[a])
	t.Logf("prometheus: one master, %s", targets[a])

	// Real transition events, followed from lb2 across the failover and the failback:
	// the follower has subscribed long before the failback at least.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eventLines := make(chan string, 16)
	go func() {
		_ = control.FollowEvents(ctx, b.socket(), func(e control.Event, raw json.RawMessage) error {
			if e.Type == "transition" {
				eventLines <- string(raw)
			}
			return nil
		})
	}()

	// The failover: lb1 reloads at a priority below lb2's, which preempts.
	reloadedBefore := mustSample(t, "lb1", ma, "vrrpd_config_last_reload_success_timestamp_seconds", nil)
	a.writeFile(cfg(a, 50))
	a.reload()
	after := states(map[*e2eNode]string{a: "BACKUP", b: "MASTER"})
	for _, tc := range []struct {
		who   string
		mfs   map[string]*dto.MetricFamily
		name  string
		label map[string]string
		want  float64
	}{
		{"lb2", after[b], "vrrpd_instance_transitions_total", with("to", "MASTER"), 1},
		{"lb1", after[a], "vrrpd_instance_transitions_total", with("to", "BACKUP"), 2},
		{"lb1", after[a], "vrrpd_instance_base_priority", web, 50},
		{"lb1", after[a], "vrrpd_config_reloads_total", map[string]string{"result": "success"}, 1},
		{"lb1", after[a], "vrrpd_config_last_reload_successful", nil, 1},
		{"lb2", after[b], "vrrpd_instance_vip_present", with("vip", vip, "vip_interface", "eth0"), 1},
	} {
		if v := mustSample(t, tc.who, tc.mfs, tc.name, tc.label); v != tc.want {
			t.Errorf("%s: %s%v = %v, want %v", tc.who, tc.name, tc.label, v, tc.want)
		}
	}
	if v := mustSample(t, "lb1", after[a], "vrrpd_config_last_reload_success_timestamp_seconds", nil); v <= reloadedBefore {
		t.Errorf("lb1: the reload's time %v is not after the start's %v", v, reloadedBefore)
	}
	masterIs(targets[b])
	t.Logf("prometheus: one master, %s, after the failover", targets[b])

	// The failback: lb1 at 150 again preempts.
	a.writeFile(cfg(a, 150))
	a.reload()
	states(map[*e2eNode]string{a: "MASTER", b: "BACKUP"})
	masterIs(targets[a])

	// The rules loaded, and each has been evaluated without error in the real server.
	var loaded, unhealthy []string
	evaluated := func() bool {
		loaded, unhealthy = nil, nil
		resp, err := hc.Get("http://" + prom + "/api/v1/rules")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var rules struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, LastError string
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&rules); err != nil {
			return false
		}
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				loaded = append(loaded, r.Name)
				if r.Health != "ok" {
					unhealthy = append(unhealthy, r.Name+": "+r.Health+" "+r.LastError)
				}
			}
		}
		return len(loaded) > 0 && len(unhealthy) == 0
	}
	for deadline := time.Now().Add(10 * time.Second); !evaluated() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if len(loaded) == 0 || len(unhealthy) > 0 {
		t.Errorf("the rules prometheus loaded: %v; not evaluated, or in error: %v", loaded, unhealthy)
	}
	if !slices.Contains(loaded, "VrrpdTwoMasters") || !slices.Contains(loaded, "VrrpdNoMaster") {
		t.Errorf("the rules prometheus loaded: %v", loaded)
	}
	firing, err := promQuery(hc, prom, `ALERTS{alertstate="firing"}`)
	if err != nil || len(firing) > 0 {
		t.Errorf("alerts firing on a healthy pair: %v %v", firing, err)
	}

	// The event has the fields of the example in docs/operations.md, in its order.
	select {
	case line := <-eventLines:
		checkEventLikeDoc(t, line)
	case <-ctx.Done():
		t.Error("no transition event from lb2")
	}
}

// TestE2EMetricsListenRefused: a metrics address vrrpd cannot listen on stops it at
// start, before any instance runs: exit 1, the error in the log, no VIP added.
func TestE2EMetricsListenRefused(t *testing.T) {
	c := newCluster(t, 1)
	a := c.nodes[0]
	// 192.0.2.99 is not an address of the node.
	a.writeFile("metrics: {listen: \"192.0.2.99:9650\"}\ninstances:\n" + instanceYAML("web", 51, 255, "100ms", vip+"/24"))
	out, code := a.runOnce("run", "--config", a.config())
	if code != 1 || !strings.Contains(out, "cannot start") || !strings.Contains(out, "metrics: listen tcp 192.0.2.99:9650") {
		t.Fatalf("exit %d, want 1 with the listen error:\n%s", code, out)
	}
	if a.hasVIP(vip) || strings.Contains(out, "state changed") {
		t.Fatalf("an instance ran:\n%s", out)
	}
}
