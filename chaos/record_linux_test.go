package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/internal/probe"
)

// recorder is the timeline being recorded; safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

// add appends e, stamped now unless it has a time.
func (r *recorder) add(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// harnessProblem records something the harness could not do.
func (r *recorder) harnessProblem(format string, args ...any) {
	r.add(Event{Kind: HarnessProblem, Node: -1, Text: fmt.Sprintf(format, args...)})
}

// watchAddresses records every address the kernel of n adds or removes, but n's own, as
// it hears of them through a netlink subscription in n's namespace. It stops when the
// test ends.
func watchAddresses(t *testing.T, rec *recorder, n *node) {
	t.Helper()
	subscribe := func(h *netns.NsHandle, updates chan netlink.AddrUpdate, done chan struct{}) error {
		return netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{
			Namespace:         h,
			ListExisting:      true,
			ReceiveBufferSize: 1 << 20,
			ErrorCallback: func(err error) {
				rec.harnessProblem("address events of %s: %v", n.name, err)
			},
		})
	}
	netnstest.Follow(t, n.ns, 1024, subscribe, func(u netlink.AddrUpdate) {
		a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
		if !ok {
			return
		}
		a = a.Unmap()
		if n.own(a) {
			return
		}
		kind := AddrRemoved
		if u.NewAddr {
			kind = AddrAdded
		}
		rec.add(Event{Kind: kind, Node: n.idx, Addr: a})
	})
}

// watchStalls records, until the test ends, every time the harness could not run for
// longer than StallThreshold: it wakes every few milliseconds, and a late wake-up means
// the machine was busy elsewhere.
func watchStalls(t *testing.T, rec *recorder) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				now := time.Now()
				if now.Sub(last) > StallThreshold {
					rec.add(Event{Kind: Stall, Node: -1, At: last, Until: now})
				}
				last = now
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// respond answers every UDP datagram to the probe port of n, on any address, with n's
// name, until the test ends.
func respond(t *testing.T, n *node) {
	t.Helper()
	r, err := probe.Respond(n.ns.Do, n.name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
}

// Probing: the client sends a datagram to every VIP each probeEvery and records runs
// of answers: from one node, none more than probeGap after the previous.
const (
	probeEvery = 4 * time.Millisecond
	probeGap   = 30 * time.Millisecond
)

type prober struct {
	rec    *recorder
	nodes  map[string]int
	client *probe.Client
	mu     sync.Mutex
	runs   map[netip.Addr]*Event
}

// startProbing starts probing vips from the client until finish is called.
func startProbing(t *testing.T, rec *recorder, client *netnstest.NS, nodes []*node, vips []netip.Addr) *prober {
	t.Helper()
	p := &prober{rec: rec, nodes: map[string]int{}, runs: map[netip.Addr]*Event{}}
	for _, n := range nodes {
		p.nodes[n.name] = n.idx
	}
	c, err := probe.Start(client.Do, vips, probeEvery, func(a probe.Answer) { p.answer(a.VIP, a.From, a.At) })
	if err != nil {
		t.Fatal(err)
	}
	p.client = c
	t.Cleanup(p.finish)
	return p
}

func (p *prober) answer(vip netip.Addr, from string, at time.Time) {
	node, ok := p.nodes[from]
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.runs[vip]
	if r != nil && r.Node == node && at.Sub(r.Until) <= probeGap {
		r.Until = at
		r.Count++
		return
	}
	if r != nil {
		p.rec.add(*r)
	}
	p.runs[vip] = &Event{At: at, Until: at, Kind: Answers, Node: node, Addr: vip, Count: 1}
}

// finish stops probing and records the runs still open. It may be called more than
// once.
func (p *prober) finish() {
	p.client.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for vip, r := range p.runs {
		p.rec.add(*r)
		delete(p.runs, vip)
	}
}

// daemonLog keeps the tail of a daemon's output and records the lines that tell what
// it decided as notes.
type daemonLog struct {
	rec     *recorder
	node    int
	notable *regexp.Regexp
	strip   *regexp.Regexp

	mu      sync.Mutex
	partial []byte
	tail    []string
}

const logTail = 300

// Lines worth a note: state changes, priorities, reloads, complaints.
var (
	vrrpdNotable      = regexp.MustCompile(`msg="(state changed|effective priority|configuration reloaded|reload|tracker changed|stopping|removed|vrrpd started)|level=(WARN|ERROR)`)
	vrrpdStrip        = regexp.MustCompile(`^time=\S+ (level=INFO )?|node=\S+ `)
	keepalivedNotable = regexp.MustCompile(`(?i)entering|priority|reload|stopping|starting|fault|error|fail|remov|already running|track`)
	keepalivedStrip   = regexp.MustCompile(`^\w{3} \w{3} +\d+ [\d:.]+ \d{4}: `)
)

func (l *daemonLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.tail = append(l.tail, time.Now().Format("15:04:05.000 ")+line)
		if len(l.tail) > logTail {
			l.tail = l.tail[len(l.tail)-logTail:]
		}
		if l.notable.MatchString(line) {
			l.rec.add(Event{Kind: Note, Node: l.node, Text: l.strip.ReplaceAllString(line, "")})
		}
	}
	return len(b), nil
}

func (l *daemonLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n")
}

// run runs a command with a deadline and returns its combined output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}
