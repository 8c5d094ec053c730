package tracker

import (
	"context"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
)

// TestInterfaceTrackerVeth follows a real veth link through a netops.Monitor in a
// namespace of its own: when its peer goes down the link loses its carrier, and the
// instance loses the weight; when the peer comes back, it gets it back.
func TestInterfaceTrackerVeth(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.NewNS(t, "trk")
	ns.IP("link", "add", "trk0", "type", "veth", "peer", "name", "trk1")
	ns.IP("link", "set", "trk0", "up")
	ns.IP("link", "set", "trk1", "up")
	var mon *netops.Monitor
	ns.MustDo(func() error {
		var err error
		mon, err = netops.NewMonitor(nil)
		return err
	})
	defer mon.Close()
	links, stop := mon.Subscribe()
	defer stop()

	cfg := parseConfig(t, `
instances:
  - {name: web, interface: trk0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {interfaces: [{name: trk0, weight: -50}]}}
`, nil)
	s, err := NewSet(cfg, Env{Links: links}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	prio := func() uint8 { p, _ := s.Priority("web"); return p.Priority }

	netnstest.Eventually(t, 5*time.Second, func() bool { return statusOf(s, KindInterface, "trk0").State == OK }, "trk0 is not up")
	ns.IP("link", "set", "trk1", "down")
	netnstest.Eventually(t, 5*time.Second, func() bool { return prio() == 100 }, "priority %d with the peer down", prio())
	if st := statusOf(s, KindInterface, "trk0"); st.State != Failing || st.Detail != "trk0 down" {
		t.Errorf("status %+v", st)
	}
	ns.IP("link", "set", "trk1", "up")
	netnstest.Eventually(t, 5*time.Second, func() bool { return prio() == 150 }, "priority %d with the peer up", prio())
	ns.IP("link", "del", "trk0")
	netnstest.Eventually(t, 5*time.Second, func() bool { return statusOf(s, KindInterface, "trk0").Detail == "trk0 deleted" }, "trk0 deleted")
}
