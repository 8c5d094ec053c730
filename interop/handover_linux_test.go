//go:build linux

package interop

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/internal/probe"
)

// The hand-overs without a gap beside a peer: vrrpd's make_before_break when it stops,
// and fast_handover when the master's priority falls below the backup's, in either
// role. A client on the bridge probes the VIP every 3 ms and each node answers with its
// name, so that a gap is what a client would feel.

// probeEvery is how often the client probes the VIP.
const probeEvery = 3 * time.Millisecond

// captureSlack is how much later than the kernel's address events the capture on the
// bridge may stamp a frame.
const captureSlack = 5 * time.Millisecond

// maxLost is how many probes in a row a hand-over without a gap may lose: those sent
// between the new master's advert, at which the old one lets the VIP go, and its
// announcement reaching the client, 50 ms of them at most. A break before make costs a
// Skew_Time (0.12 s at 200 ms adverts) or a Master_Down_Interval.
const maxLost = 50 * time.Millisecond / probeEvery

// probing is the client's view of the VIP.
type probing struct {
	c       *probe.Client
	mu      sync.Mutex
	answers []probe.Answer
}

func (pg *probing) add(a probe.Answer) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.answers = append(pg.answers, a)
}

// servedBy reports whether the last five answers came from name, the last one recent.
func (pg *probing) servedBy(name string) bool {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	n := len(pg.answers)
	if n < 5 {
		return false
	}
	for _, a := range pg.answers[n-5:] {
		if a.From != name {
			return false
		}
	}
	return time.Since(pg.answers[n-1].Sent) < 100*time.Millisecond
}

// worstGap returns the longest run of lost probes sent after t0.
func (pg *probing) worstGap(t0 time.Time) probe.Gap {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	var worst probe.Gap
	for _, g := range probe.Gaps(pg.answers) {
		if g.After.Sent.After(t0) && g.Lost > worst.Lost {
			worst = g
		}
	}
	return worst
}

// startProbing puts a client on the bridge that probes the VIP, a responder on both
// nodes, and waits until the client is served by m.
func (b *bed) startProbing(m router) *probing {
	b.t.Helper()
	cl := b.client()
	for _, r := range b.routers() {
		resp, err := probe.Respond(r.base().ns.Do, r.name())
		if err != nil {
			b.t.Fatal(err)
		}
		b.t.Cleanup(func() { resp.Close() })
	}
	pg := &probing{}
	c, err := probe.Start(cl.Do, []netip.Addr{b.vip.Addr()}, probeEvery, pg.add)
	if err != nil {
		b.t.Fatal(err)
	}
	pg.c = c
	b.t.Cleanup(c.Stop)
	netnstest.Eventually(b.t, 5*time.Second, func() bool { return pg.servedBy(m.name()) }, "the client is not served by %s", m.name())
	return pg
}

// removals records when addresses leave the interfaces of a namespace, as the kernel
// says.
type removals struct {
	mu   sync.Mutex
	gone map[netip.Addr]time.Time // the first removal of each address
}

func (r *removals) first(a netip.Addr) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.gone[a]
	return at, ok
}

// watchRemovals subscribes to the address events of ns until the test ends.
func watchRemovals(t *testing.T, ns *netnstest.NS) *removals {
	t.Helper()
	r := &removals{gone: map[netip.Addr]time.Time{}}
	netnstest.FollowAddresses(t, ns, func(u netlink.AddrUpdate) {
		a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
		if !ok || u.NewAddr {
			return
		}
		r.mu.Lock()
		if _, seen := r.gone[a.Unmap()]; !seen {
			r.gone[a.Unmap()] = time.Now()
		}
		r.mu.Unlock()
	})
	return r
}

// makeBeforeBreak: vrrpd is master and stops. It sends priority 0 and keeps its VIP
// until the peer's first advert as master: the client, moved by the peer's
// announcements, loses no more than the probes in flight.
func makeBeforeBreak(b *bed) {
	gs, ps := b.side(150, b.fast()), b.side(100, b.fast())
	b.elect(b.g, gs, b.p, ps)
	pg := b.startProbing(b.g)
	gone := watchRemovals(b.t, b.g.ns)
	stopped := time.Now()
	b.g.stop() // returns once vrrpd has exited, after it released the VIP
	b.expectMaster(b.p, 5*time.Second)
	netnstest.Eventually(b.t, 5*time.Second, func() bool { return pg.servedBy(b.p.name()) }, "the client is not served by %s", b.p.name())
	first := b.wire.first(b.t, b.p, stopped, alive, time.Second, "advert")
	released, ok := gone.first(b.vip.Addr())
	if !ok {
		b.t.Fatalf("vrrpd stopped and its VIP %v never left its node", b.vip.Addr())
	}
	g := pg.worstGap(stopped)
	b.figure("client lost %d probes (%s); vrrpd released its VIP %s after %s's first advert",
		g.Lost, ms(pg.c.Outage(g)), ms(released.Sub(first.at)), b.p.name())
	// The capture stamps a frame when it reads it, a little after vrrpd heard it: a few
	// milliseconds of slack, against the Skew_Time (at least 0.12 s) by which releasing
	// at the stop would come early.
	if released.Before(first.at.Add(-captureSlack)) {
		b.t.Errorf("vrrpd released its VIP %v before %s's first advert as master", first.at.Sub(released), b.p.name())
	}
	if g.Lost > uint64(maxLost) {
		b.t.Errorf("the client lost %d probes in a row (%v) during the hand-over, want at most %d", g.Lost, pg.c.Outage(g), maxLost)
	}
}

// loweredPeer: the peer is master and its priority falls below vrrpd's (keepalived: a
// tracked file, weight -60; FRR: `vrrp N priority 90`). vrrpd takes over in its
// Skew_Time after the peer's first advert at the lower priority, not its
// Master_Down_Interval, and the peer steps down.
func loweredPeer(b *bed) {
	ps, gs := b.side(150, time.Second), b.side(100, time.Second)
	ps.lowerFile = true
	b.elect(b.p, ps, b.g, gs)
	b.steady(b.p, 1500*time.Millisecond)
	pg := b.startProbing(b.p)
	lowered := time.Now()
	b.lowerPeer()
	low := b.wire.first(b.t, b.p, lowered, func(a wireAdvert) bool { return alive(a) && a.adv.Priority < 100 }, 3*time.Second, "advert below 100")
	took, want := b.takeover(b.g, low.at, 5*time.Second).Sub(low.at), skew(gs, ps.interval)
	netnstest.Eventually(b.t, 5*time.Second, func() bool { return pg.servedBy(b.g.name()) }, "the client is not served by vrrpd")
	g := pg.worstGap(lowered)
	b.figure("%s advertised %d %s after the change; vrrpd took over %s after it (skew %s, MDI %s); client lost %d probes (%s)",
		b.p.name(), low.adv.Priority, ms(low.at.Sub(lowered)), secs(took), secs(want), secs(mdi(gs, ps.interval)), g.Lost, ms(pg.c.Outage(g)))
	if took > want+500*time.Millisecond {
		b.t.Errorf("vrrpd took over %v after the peer's advert at %d, want within its Skew_Time %v + 0.5 s", took, low.adv.Priority, want)
	}
	if g.Lost > uint64(maxLost) {
		b.t.Errorf("the client lost %d probes in a row (%v) during the hand-over, want at most %d", g.Lost, pg.c.Outage(g), maxLost)
	}
	b.steady(b.g, 2*time.Second)
}

// lowerPeer takes 60 off the peer's priority.
func (b *bed) lowerPeer() {
	b.t.Helper()
	switch p := b.p.(type) {
	case *keepalivedNode:
		p.setLower(true)
	case *frrNode:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		prio := p.config().priority - 60
		out, err := exec.CommandContext(ctx, "vtysh", "--vty_socket", p.dir, "-c", "configure terminal", "-c", "interface eth0",
			"-c", fmt.Sprintf("vrrp %d priority %d", vrid, prio)).CombinedOutput()
		if err != nil {
			b.t.Fatalf("vtysh: vrrp %d priority %d: %v: %s", vrid, prio, err, out)
		}
	}
}

// loweredVrrpd: vrrpd is master and a tracked file takes its priority below the
// peer's. vrrpd advertises the new priority at once; the peer, as RFC 5798 has it,
// discards an advert below its own priority and takes over after its
// Master_Down_Interval. vrrpd serves until then: no gap for the client.
func loweredVrrpd(b *bed) {
	gs, ps := b.side(150, b.fast()), b.side(100, b.fast())
	gs.lowerFile = true
	b.elect(b.g, gs, b.p, ps)
	pg := b.startProbing(b.g)
	lowered := time.Now()
	b.g.setLower(true)
	low := b.wire.first(b.t, b.g, lowered, func(a wireAdvert) bool { return alive(a) && a.adv.Priority < 100 }, time.Second, "advert below 100")
	if at := low.at.Sub(lowered); at > 100*time.Millisecond {
		b.t.Errorf("vrrpd advertised its lowered priority %v after the change, want at once", at)
	}
	took := b.takeover(b.p, low.at, mdi(ps, gs.interval)+5*time.Second).Sub(low.at)
	netnstest.Eventually(b.t, 5*time.Second, func() bool { return pg.servedBy(b.p.name()) }, "the client is not served by %s", b.p.name())
	g := pg.worstGap(lowered)
	b.figure("vrrpd advertised %d %s after the change; %s took over %s after it (its skew %s, MDI %s); client lost %d probes (%s)",
		low.adv.Priority, ms(low.at.Sub(lowered)), b.p.name(), secs(took), secs(skew(ps, gs.interval)), secs(mdi(ps, gs.interval)), g.Lost, ms(pg.c.Outage(g)))
	if took > mdi(ps, gs.interval)+time.Second {
		b.t.Errorf("%s took over %v after vrrpd's advert at %d, want within its Master_Down_Interval %v + 1 s", b.p.name(), took, low.adv.Priority, mdi(ps, gs.interval))
	}
	if g.Lost > uint64(maxLost) {
		b.t.Errorf("the client lost %d probes in a row (%v) during the hand-over, want at most %d", g.Lost, pg.c.Outage(g), maxLost)
	}
	b.steady(b.p, 2*time.Second)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
