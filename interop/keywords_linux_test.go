//go:build linux

package interop

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// keepalived's instance keywords that touch the wire, beside keepalived: a multicast
// group of their own (mcast_dst_ip, vrrpd's group).

// TestInteropGroup elects with both sides on another group, vrrpd first master then the
// peer, IPv4 and IPv6: neither drops nor complains, and the adverts on the bridge go to
// the group, not the RFC's.
func TestInteropGroup(t *testing.T) {
	netnstest.Require(t)
	for _, c := range []column{{peer: keepalived, version: 3, family: 4}, {peer: keepalived, version: 3, family: 6}} {
		for _, first := range []string{"vrrpd", "peer"} {
			t.Run(c.id()+"/"+first+"-master", func(t *testing.T) {
				t.Parallel()
				b := newBed(t, c, 1)
				group := netip.MustParseAddr("224.0.0.118")
				if c.family == 6 {
					group = netip.MustParseAddr("ff02::118")
				}
				m := router(b.g)
				if first == "peer" {
					m = b.p
				}
				o := b.peerOf(m)
				ms, os := b.side(150, b.fast()), b.side(100, b.fast())
				ms.group, os.group = group, group
				b.elect(m, ms, o, os)
				b.steady(m, mdi(os, ms.interval)+time.Second)
				if m == router(b.p) {
					if st := b.g.mustStatus(); st.Master != b.p.source().String() {
						t.Errorf("vrrpd follows %q, want %s", st.Master, b.p.source())
					}
				}
				// What the master sends goes to the group.
				out, err := b.lan.Switch.Exec("timeout", "2", "tcpdump", "-c", "3", "-ni", m.base().port, "ip proto 112 or ip6 proto 112")
				if !strings.Contains(out, "> "+group.String()+": VRRP") {
					t.Errorf("%s's adverts do not go to %v (%v):\n%s", m.name(), group, err, out)
				}
				// The backup takes over when the master goes, on the group too.
				m.stop()
				b.expectMaster(o, mdi(os, ms.interval)+3*time.Second)
				finishWithoutWire(b)
			})
		}
	}
}
