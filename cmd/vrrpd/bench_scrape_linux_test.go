package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// BenchmarkScrapeDaemon1000 scrapes a vrrpd that is master of a thousand instances:
// 250 VRIDs on each of four veth interfaces, IPv4 on two and IPv6 on the others, a
// VIP each, adverts every second. It reports what a scrape costs the daemon, from the
// kernel's accounting of its threads: CPU time net of what it spends meanwhile on
// its adverts, and its anonymous memory (RssAnon) before and after the scrapes. As
// root; `make bench-scrape` runs it ten scrapes at a time.
func BenchmarkScrapeDaemon1000(b *testing.B) {
	netnstest.Require(b)
	bin := plainVrrpd.Path(b)
	node, peer := netnstest.NewNS(b, "scr"), netnstest.NewNS(b, "scp")
	for i := range 4 {
		netnstest.Run(b, "ip", "link", "add", fmt.Sprintf("veth%d", i), "netns", node.Name,
			"type", "veth", "peer", "name", fmt.Sprintf("p%d", i), "netns", peer.Name)
		node.IP("link", "set", fmt.Sprintf("veth%d", i), "up")
		peer.IP("link", "set", fmt.Sprintf("p%d", i), "up")
	}
	node.IP("addr", "add", "192.0.2.254/24", "dev", "veth0")
	node.IP("addr", "add", "198.51.100.254/24", "dev", "veth1")

	dir := b.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "node: scale\nsocket: %s\nstate_file: %s\nmetrics: {listen: \"127.0.0.1:9650\"}\ninstances:\n",
		filepath.Join(dir, "vrrpd.sock"), filepath.Join(dir, "vips.state"))
	for i := range 4 {
		for vrid := 1; vrid <= 250; vrid++ {
			vip := [...]string{"192.0.2.%d/32", "198.51.100.%d/32", "2001:db8:2::%d/128", "2001:db8:3::%d/128"}[i]
			fmt.Fprintf(&cfg, "  - {name: vi_%d_%d, interface: veth%d, vrid: %d, advert_interval: 1s, vips: [%s]}\n",
				i, vrid, i, vrid, fmt.Sprintf(vip, vrid))
		}
	}
	file := filepath.Join(dir, "vrrpd.yaml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := node.Command(bin, "run", "--config", file, "--log-level", "warn")
	out := &netnstest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	netnstest.Start(b, cmd)
	pid := cmd.Process.Pid // ip netns exec becomes vrrpd

	// Every instance master, its VIP on its interface: counted from the kernel, so that
	// nothing asks the daemon for its status before the first scrape.
	netnstest.Eventually(b, 90*time.Second, func() bool {
		n := 0
		for i := range 4 {
			n += strings.Count(node.IP("addr", "show", "dev", fmt.Sprintf("veth%d", i)), "scope global")
		}
		return n == 1000+2 // and the two node addresses
	}, "the thousand instances did not all become master; vrrpd says:\n%s", out)

	hc := httpIn(node)
	hc.Timeout = 30 * time.Second
	// A scrape: over HTTP, plain or gzipped, or vrrpd metrics through the control
	// socket. It returns the text as it came, gzipped or not.
	scrape := func(b *testing.B, how string) []byte {
		b.Helper()
		if how == "vrrpd-metrics" {
			text, err := exec.Command(bin, "metrics", "--socket", filepath.Join(dir, "vrrpd.sock")).Output()
			if err != nil {
				b.Fatalf("vrrpd metrics: %v", err)
			}
			return text
		}
		req, err := http.NewRequest("GET", "http://127.0.0.1:9650/metrics", nil)
		if err != nil {
			b.Fatal(err)
		}
		// Set by hand, the transport leaves the body as it comes.
		req.Header.Set("Accept-Encoding", how)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("scrape: %s, %v", resp.Status, err)
		}
		return body
	}
	// allocated is how much the daemon has allocated, as a plain scrape says.
	allocated := func(b *testing.B) float64 {
		return allocBytesTotal(b, scrape(b, "identity"))
	}
	for _, how := range []string{"identity", "gzip", "vrrpd-metrics"} {
		b.Run(how, func(b *testing.B) {
			// The adverts' own cost, to take from the scrapes'.
			cpu0, idle0 := daemonCPU(b, pid), time.Now()
			time.Sleep(5 * time.Second)
			idleRate := float64(daemonCPU(b, pid)-cpu0) / float64(time.Since(idle0))
			rss0 := rssAnonKB(b, pid)
			// Two scrapes that read the allocations, back to back, say what one of them
			// allocates, to take from the count after the scrapes measured.
			a0 := allocated(b)
			a1 := allocated(b)
			var size int
			cpu0, ticks0, start := daemonCPU(b, pid), statTicks(b, pid), time.Now()
			for b.Loop() {
				size = len(scrape(b, how))
			}
			elapsed := time.Since(start)
			used, ticks := daemonCPU(b, pid)-cpu0, statTicks(b, pid)-ticks0
			rss1 := rssAnonKB(b, pid)
			net := float64(used) - idleRate*float64(elapsed)
			b.ReportMetric(net/float64(b.N)/1e6, "cpu-ms/scrape")
			// The same from /proc/PID/stat, to a tick (10 ms) over all the scrapes.
			b.ReportMetric((float64(time.Duration(ticks)*10*time.Millisecond)-idleRate*float64(elapsed))/float64(b.N)/1e6, "stat-cpu-ms/scrape")
			b.ReportMetric(idleRate*100, "idle-cpu-%")
			b.ReportMetric(float64(size), "bytes/scrape")
			a2 := allocated(b)
			b.ReportMetric((a2-a1-(a1-a0))/float64(b.N)/1e6, "alloc-MB/scrape")
			b.ReportMetric(float64(rss0)/1024, "rss-anon-MB-before")
			b.ReportMetric(float64(rss1)/1024, "rss-anon-MB-after")
		})
	}
}

// daemonCPU is the CPU time the threads of process pid have had, from the scheduler's
// accounting in nanoseconds (/proc/PID/task/*/schedstat) rather than /proc/PID/stat's
// ticks of 10 ms, too coarse for a few scrapes.
func daemonCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		b.Fatal(err)
	}
	var sum time.Duration
	for _, task := range tasks {
		s, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue // a thread that ended meanwhile
		}
		ns, err := strconv.ParseInt(strings.Fields(string(s))[0], 10, 64)
		if err != nil {
			b.Fatalf("schedstat of %d/%s: %v", pid, task.Name(), err)
		}
		sum += time.Duration(ns)
	}
	return sum
}

// statTicks is the CPU time of process pid in /proc/PID/stat, user and system, in the
// kernel's USER_HZ ticks: 100 a second.
func statTicks(b *testing.B, pid int) int64 {
	b.Helper()
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command, in parentheses, may hold spaces: the fields are counted after it.
	_, after, ok := strings.Cut(string(s), ") ")
	f := strings.Fields(after)
	if !ok || len(f) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	var ticks int64
	for _, v := range f[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return ticks
}

// rssAnonKB is the anonymous memory of process pid, in kB: its heap and stacks, not the
// binary's pages.
func rssAnonKB(b *testing.B, pid int) int {
	b.Helper()
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(s)) {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatalf("RssAnon: %v", err)
			}
			return n
		}
	}
	b.Fatal("no RssAnon")
	return 0
}

// allocBytesTotal reads go_memstats_alloc_bytes_total off a plain scrape.
func allocBytesTotal(b *testing.B, body []byte) float64 {
	b.Helper()
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "go_memstats_alloc_bytes_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				b.Fatal(err)
			}
			return f
		}
	}
	b.Fatal("no go_memstats_alloc_bytes_total in the scrape")
	return 0
}
