package chaos

import (
	"net"
	"net/netip"
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
	// probe sends count probes to a, one at a time, and returns how many were answered
	// and the longest round trip.
	probe := func(a netip.Addr, count int, wait time.Duration) (answered int, longest time.Duration) {
		t.Helper()
		pc := conns[a.Is6()]
		dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 7))
		buf := make([]byte, 64)
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
					answered++
					longest = max(longest, time.Since(start))
					break
				}
			}
		}
		return answered, longest
	}
	all := func(when string) {
		t.Helper()
		for _, a := range []netip.Addr{n.addr4, n.addr6} {
			if got, rtt := probe(a, 20, time.Second); got != 20 || rtt > 50*time.Millisecond {
				t.Fatalf("%s: %d of 20 probes of %v answered, the longest in %v", when, got, a, rtt)
			}
		}
	}
	all("before any fault")

	const delay = 100 * time.Millisecond
	if err := c.delay(n, delay); err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{n.addr4, n.addr6} {
		got, rtt := probe(a, 10, time.Second)
		t.Logf("delay %v: %d of 10 probes of %v answered, the longest in %v", delay, got, a, rtt)
		if got < 9 || rtt < 2*delay || rtt > 2*delay+200*time.Millisecond {
			t.Errorf("delay %v: %d of 10 probes of %v answered, the longest in %v; want about %v", delay, got, a, rtt, 2*delay)
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
	got, _ := probe(n.addr4, 200, 50*time.Millisecond)
	t.Logf("loss 50 %% each way: %d of 200 probes answered", got)
	if got < 25 || got > 80 {
		t.Errorf("loss 50 %% each way: %d of 200 probes answered, want about 50", got)
	}

	c.rules[n.idx] = []string{`iifname "p1" drop`, `oifname "p1" drop`}
	if err := c.nftables(); err != nil {
		t.Fatal(err)
	}
	if got, _ := probe(n.addr4, 5, 200*time.Millisecond); got != 0 {
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
	if got, _ := probe(n.addr4, 3, 200*time.Millisecond); got != 0 {
		t.Errorf("link down: %d of 3 probes answered", got)
	}
	if err := c.ip(n, "link", "set", "eth0", "up"); err != nil {
		t.Fatal(err)
	}
	netnstest.Eventually(t, 5*time.Second, func() bool { got, _ := probe(n.addr6, 1, 200*time.Millisecond); return got == 1 },
		"%v unreachable after the link came back", n.addr6)
	all("after the link came back")
}
