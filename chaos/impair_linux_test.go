package chaos

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestImpairments proves that the faults of the switch do what they say, on a LAN
// without daemons: the client's UDP probes to a node's own addresses are delayed by
// twice the relay's delay (there and back), lost in the proportion the nftables rule
// gives, or not answered at all behind a cut; and all get through again after the
// repair.
func TestImpairments(t *testing.T) {
	c := newNetwork(t, []string{vrrpdDaemon, vrrpdDaemon}, true)
	n := c.nodes[0]
	conns := map[bool]net.PacketConn{}
	for _, v6 := range []bool{false, true} {
		network := map[bool]string{false: "udp4", true: "udp6"}[v6]
		c.client.MustDo(func() (err error) {
			conns[v6], err = net.ListenPacket(network, ":0")
			return err
		})
		t.Cleanup(func() { conns[v6].Close() })
	}
	// probe sends count probes to a, one at a time, each given wait for its answer, and
	// returns the round trips of those answered.
	probe := func(a netip.Addr, count int, wait time.Duration) []time.Duration {
		t.Helper()
		pc := conns[a.Is6()]
		dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 7))
		buf := make([]byte, 64)
		var rtts []time.Duration
		for i := range count {
			start := time.Now()
			if _, err := pc.WriteTo([]byte{byte(i), 0, 0, 0, 0, 0, 0, 0}, dst); err != nil {
				t.Fatal(err)
			}
			_ = pc.SetReadDeadline(start.Add(wait))
			for {
				k, _, err := pc.ReadFrom(buf)
				if err != nil {
					break // lost
				}
				if k > 8 && buf[0] == byte(i) {
					rtts = append(rtts, time.Since(start))
					break
				}
			}
		}
		slices.Sort(rtts)
		return rtts
	}
	median := func(rtts []time.Duration) time.Duration { return rtts[len(rtts)/2] }
	all := func(when string) {
		t.Helper()
		for _, a := range []netip.Addr{n.addr4, n.addr6} {
			if rtts := probe(a, 20, time.Second); len(rtts) != 20 || median(rtts) > 20*time.Millisecond {
				t.Fatalf("%s: %d of 20 probes of %v answered, in %v", when, len(rtts), a, rtts)
			}
		}
	}
	all("before any fault")

	const delay = 100 * time.Millisecond
	if err := c.delay(n, delay); err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{n.addr4, n.addr6} {
		// The frames wait twice: there and back.
		rtts := probe(a, 10, time.Second)
		t.Logf("delay %v: %d of 10 probes of %v answered, in %v", delay, len(rtts), a, rtts)
		if len(rtts) < 9 || rtts[0] < 2*delay || median(rtts) > 2*delay+100*time.Millisecond {
			t.Errorf("delay %v: %d of 10 probes of %v answered, in %v; want about %v", delay, len(rtts), a, rtts, 2*delay)
		}
	}
	if err := c.undelay(n); err != nil {
		t.Fatal(err)
	}
	all("after the delay")

	c.rules[n.idx] = []string{`iifname "p1" numgen random mod 100 < 50 drop`, `oifname "p1" numgen random mod 100 < 50 drop`}
	if err := c.nftables(); err != nil {
		t.Fatal(err)
	}
	// 50 % each way: a quarter of the round trips get through.
	got := len(probe(n.addr4, 200, 50*time.Millisecond))
	t.Logf("loss 50 %% each way: %d of 200 probes answered", got)
	if got < 25 || got > 80 {
		t.Errorf("loss 50 %% each way: %d of 200 probes answered, want about 50", got)
	}

	c.rules[n.idx] = []string{`iifname "p1" drop`, `oifname "p1" drop`}
	if err := c.nftables(); err != nil {
		t.Fatal(err)
	}
	if got := len(probe(n.addr4, 5, 200*time.Millisecond)); got != 0 {
		t.Errorf("cut: %d of 5 probes answered", got)
	}
	delete(c.rules, n.idx)
	if err := c.nftables(); err != nil {
		t.Fatal(err)
	}
	all("after the cut")

	if err := c.ip(n, "link", "set", "eth0", "down"); err != nil {
		t.Fatal(err)
	}
	if got := len(probe(n.addr4, 3, 200*time.Millisecond)); got != 0 {
		t.Errorf("link down: %d of 3 probes answered", got)
	}
	if err := c.ip(n, "link", "set", "eth0", "up"); err != nil {
		t.Fatal(err)
	}
	netnstest.Eventually(t, 5*time.Second, func() bool { return len(probe(n.addr6, 1, 200*time.Millisecond)) == 1 },
		"%v unreachable after the link came back", n.addr6)
	all("after the link came back")
}
