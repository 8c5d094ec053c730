package rhi_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// svcFast is announced while a file tracker passes: inotify tells vrrpd at once, so
// that its figures have no polling in them.
const svcFast = "198.51.100.30"

// TestBenchBGP measures, against BIRD and FRR, VRRPD_BENCH_BGP times each (`make
// bench-bgp`; skipped otherwise):
//   - a file tracker fails -> the withdraw (an UPDATE) on the router's interface, and
//     -> the route through the node gone from the router's kernel table;
//   - the same from HAProxy's answer changing, polled every 20 ms;
//   - kill -9 -> the route gone from the router's kernel table.
//
// It prints the 50th and 99th percentiles. The kernel table is followed through
// netlink, the wire by tcpdump, both stamped by this machine's one clock.
func TestBenchBGP(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("VRRPD_BENCH_BGP"))
	if rounds <= 0 {
		t.Skip("a benchmark: set VRRPD_BENCH_BGP to the number of rounds (make bench-bgp)")
	}
	for _, kind := range []string{"bird", "frr"} {
		t.Run(kind, func(t *testing.T) { benchBGP(t, kind, rounds) })
	}
}

func benchBGP(t *testing.T, kind string, rounds int) {
	netnstest.RequireCommand(t, "tcpdump")
	l := newLab(t, kind, 2)
	n1 := l.nodes[0]
	gate := filepath.Join(l.dir, "gate")
	os.WriteFile(gate, []byte("0\n"), 0o644)
	l.top = fmt.Sprintf("files:\n  gate: {path: %s}\n", gate)
	l.extra = fmt.Sprintf("    - {name: fast, prefixes: [%s/32], when: files:gate}\n", svcFast)
	l.startRouter(routerOpts{hold: 9, retryAtOnce: true})
	for _, nd := range l.nodes {
		l.startNode(nd)
	}
	kernel := l.watchRoutes()
	wire := l.watchUpdates(n1.addr4)
	withN1 := func(hops []string) bool { return slices.Contains(hops, n1.addr4) }
	withoutN1 := func(hops []string) bool { return !slices.Contains(hops, n1.addr4) }
	l.waitNexthops(svcFast, 2, 20*time.Second)
	l.waitNexthops(svc4, 2, 20*time.Second)

	var fileWire, fileKernel, haWire, haKernel, kill []time.Duration
	for range rounds {
		kernel.drain()
		wire.drain()
		changed := time.Now()
		os.WriteFile(gate, []byte("-1\n"), 0o644)
		fileWire = append(fileWire, wire.next(t, changed).Sub(changed))
		fileKernel = append(fileKernel, kernel.wait(t, svcFast, withoutN1).Sub(changed))
		os.WriteFile(gate, []byte("0\n"), 0o644)
		kernel.wait(t, svcFast, withN1)

		kernel.drain()
		wire.drain()
		changed = n1.stats.set(statsDown)
		haWire = append(haWire, wire.next(t, changed).Sub(changed))
		haKernel = append(haKernel, kernel.wait(t, svc4, withoutN1).Sub(changed))
		n1.stats.set(statsUp)
		kernel.wait(t, svc4, withN1)
	}
	for range rounds {
		// A vrrpd killed within a second of its start takes about 100 ms more to exit
		// (the kernel tears down the memory it was setting up): kill one that runs.
		time.Sleep(time.Second)
		kernel.drain()
		killed := time.Now()
		n1.signal(syscall.SIGKILL)
		kill = append(kill, kernel.wait(t, svc4, withoutN1).Sub(killed))
		<-n1.done
		l.startNode(n1)
		kernel.wait(t, svc4, withN1)
		wire.drain()
	}
	report := func(what string, ds []time.Duration) {
		slices.Sort(ds)
		p := func(q float64) time.Duration { return ds[int(math.Ceil(q*float64(len(ds))))-1] }
		t.Logf("%s: %-60s p50 %6.1f ms   p99 %6.1f ms   (%d runs)", kind, what, ms(p(0.5)), ms(p(0.99)), len(ds))
	}
	report("file tracker fails -> UPDATE on the router's wire", fileWire)
	report("file tracker fails -> route gone from the router's kernel", fileKernel)
	report("HAProxy backend DOWN -> UPDATE on the router's wire", haWire)
	report("HAProxy backend DOWN -> route gone from the router's kernel", haKernel)
	report("kill -9 -> route gone from the router's kernel", kill)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// routeEvent is a change of the router's kernel route to dst, when it was received.
type routeEvent struct {
	at   time.Time
	dst  string
	hops []string
}

type routeWatch struct{ events chan routeEvent }

// watchRoutes follows the router's kernel routes through netlink.
func (l *lab) watchRoutes() *routeWatch {
	w := &routeWatch{events: make(chan routeEvent, 1024)}
	subscribe := func(h *netns.NsHandle, updates chan netlink.RouteUpdate, done chan struct{}) error {
		return netlink.RouteSubscribeWithOptions(updates, done, netlink.RouteSubscribeOptions{Namespace: h})
	}
	netnstest.Follow(l.t, l.router, 1024, subscribe, func(u netlink.RouteUpdate) {
		at := time.Now()
		if u.Dst == nil {
			return
		}
		ev := routeEvent{at: at, dst: u.Dst.IP.String()}
		if u.Type == unix.RTM_NEWROUTE {
			if u.Gw != nil {
				ev.hops = append(ev.hops, u.Gw.String())
			}
			for _, nh := range u.MultiPath {
				ev.hops = append(ev.hops, nh.Gw.String())
			}
		}
		select {
		case w.events <- ev:
		default:
		}
	})
	return w
}

func (w *routeWatch) drain() {
	for {
		select {
		case <-w.events:
		default:
			return
		}
	}
}

// wait returns when a change of dst's route satisfied ok.
func (w *routeWatch) wait(t *testing.T, dst string, ok func(hops []string) bool) time.Time {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-w.events:
			if ev.dst == dst && ok(ev.hops) {
				return ev.at
			}
		case <-timeout:
			t.Fatalf("no change of the route to %s in 20s", dst)
		}
	}
}

type updateWatch struct{ sent chan time.Time }

// watchUpdates captures, on the router's interface, the BGP segments from src that
// are longer than a KEEPALIVE (19 bytes): the UPDATEs.
func (l *lab) watchUpdates(src string) *updateWatch {
	w := &updateWatch{sent: make(chan time.Time, 1024)}
	cmd := l.router.Command("tcpdump", "-l", "-n", "-tt", "-i", "eth0",
		fmt.Sprintf("src host %s and tcp dst port 179 and tcp[tcpflags] & tcp-push != 0", src))
	out, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	errs, err := cmd.StderrPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("tcpdump: %v", err)
	}
	l.t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errs)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			i := slices.Index(f, "length")
			if len(f) == 0 || i < 0 || i+1 >= len(f) {
				continue
			}
			n, _ := strconv.Atoi(strings.TrimSuffix(f[i+1], ":"))
			s, us, _ := strings.Cut(f[0], ".")
			sec, err1 := strconv.ParseInt(s, 10, 64)
			usec, err2 := strconv.ParseInt(us, 10, 64)
			if err1 != nil || err2 != nil || n <= 19 {
				continue
			}
			at := time.Unix(sec, usec*1000)
			select {
			case w.sent <- at:
			default:
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		l.t.Fatal("tcpdump did not start")
	}
	return w
}

func (w *updateWatch) drain() {
	for {
		select {
		case <-w.sent:
		default:
			return
		}
	}
}

// next returns when the first UPDATE after since was seen.
func (w *updateWatch) next(t *testing.T, since time.Time) time.Time {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case at := <-w.sent:
			if !at.Before(since) {
				return at
			}
		case <-timeout:
			t.Fatal("no UPDATE on the wire in 10s")
		}
	}
}
