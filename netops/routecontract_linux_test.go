package netops_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
)

// routeNode is a namespace with eth0 for the route cases, and a RouteManager in it.
func routeNode(t *testing.T) (*netnstest.NS, *netops.RouteManager, string) {
	ns := netnstest.NewLAN(t).Node("r", "", contract.NodeV4.String(), contract.NodeV6.String())
	state := filepath.Join(t.TempDir(), "routes.json")
	var m *netops.RouteManager
	ns.MustDo(func() (err error) {
		m, err = netops.NewRouteManager(state, nil)
		return err
	})
	t.Cleanup(func() { m.Close() })
	return ns, m, state
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// TestRoutesContractRouteManager runs the contract netops/fake's Routes also passes
// against the kernel, each case in a namespace of its own.
func TestRoutesContractRouteManager(t *testing.T) {
	netnstest.Require(t)
	contract.RoutesCases(t, func(t *testing.T) contract.RoutesEnv {
		ns, m, _ := routeNode(t)
		table := func(t uint32) int {
			if t == 0 {
				return unix.RT_TABLE_MAIN
			}
			return int(t)
		}
		route := func(r netops.Route) (present, ours bool) {
			ns.MustDo(func() error {
				found, err := netlink.RouteListFiltered(family(r.Dst), &netlink.Route{Dst: ipNet(r.Dst), Table: table(r.Table)},
					netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
				for _, f := range found {
					// IPv6 routes without a metric get the kernel's 1024.
					if f.Priority == int(r.Metric) || r.Metric == 0 {
						present, ours = true, f.Protocol == netops.RouteProtocol
					}
				}
				return err
			})
			return present, ours
		}
		rules := func(r netops.Rule) (ours, others int) {
			fam := netlink.FAMILY_V4
			if r.IPv6 {
				fam = netlink.FAMILY_V6
			}
			ns.MustDo(func() error {
				list, err := netlink.RuleList(fam)
				for _, k := range list {
					if (r.From.IsValid() && (k.Src == nil || k.Src.String() != r.From.String())) ||
						(r.To.IsValid() && (k.Dst == nil || k.Dst.String() != r.To.String())) || k.Table != int(r.Table) && r.Action == "" {
						continue
					}
					if r.Priority != 0 && k.Priority != int(r.Priority) {
						continue
					}
					if k.Protocol == netops.RouteProtocol {
						ours++
					} else {
						others++
					}
				}
				return err
			})
			return ours, others
		}
		return contract.RoutesEnv{
			Routes: m, Route: route, Rules: rules,
			AddForeignRoute: func(r netops.Route) {
				ns.IP(append([]string{"route", "add"}, strings.Fields(r.String())...)...)
			},
			AddForeignRule: func(r netops.Rule) {
				args := []string{"-4", "rule", "add", "from", r.From.String(), "lookup", "100", "priority", "1000"}
				ns.IP(args...)
			},
		}
	})
}

// TestRouteManagerLeftovers: what a run left behind, marked in the kernel or recorded in
// the state file, is removed by the next run's CleanStale; someone else's is not.
func TestRouteManagerLeftovers(t *testing.T) {
	netnstest.Require(t)
	ns, m, state := routeNode(t)
	r := netops.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.254"), Table: 100}
	rule := netops.Rule{From: netip.MustParsePrefix("192.0.2.0/24"), Table: 100, Priority: 1000}
	if err := m.AddRoute(r); err != nil {
		t.Fatal(err)
	}
	if err := m.AddRule(rule); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(b), "198.51.100.0/24") || !strings.Contains(string(b), "192.0.2.0/24") {
		t.Fatalf("state file %s (%v)", b, err)
	}
	ns.IP("route", "add", "203.0.113.0/24", "via", "192.0.2.254") // someone else's
	m.Close()                                                     // a crash: nothing removed

	_, next, _ := func() (*netnstest.NS, *netops.RouteManager, string) {
		var m2 *netops.RouteManager
		ns.MustDo(func() (err error) {
			m2, err = netops.NewRouteManager(state, nil)
			return err
		})
		t.Cleanup(func() { m2.Close() })
		return ns, m2, state
	}()
	removed, err := next.CleanStale()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Fatalf("removed %q, want the route and the rule", removed)
	}
	out := ns.IP("route", "show", "table", "all", "proto", "112")
	if strings.TrimSpace(out) != "" {
		t.Fatalf("marked routes left:\n%s", out)
	}
	if out := ns.IP("-d", "rule", "show"); strings.Contains(out, "proto 112") {
		t.Fatalf("marked rules left:\n%s", out)
	}
	if out := ns.IP("route", "show", "203.0.113.0/24"); !strings.Contains(out, "203.0.113.0/24") {
		t.Fatal("someone else's route was removed")
	}
	if rec := next.Recorded(); len(rec) != 0 {
		t.Fatalf("still recorded: %q", rec)
	}
	// What this run added itself stays: a route without a metric, IPv6, whose kernel
	// metric is 1024, too.
	v6 := netops.Route{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Gateway: netip.MustParseAddr("2001:db8::fe"), Interface: "eth0"}
	for _, r := range []netops.Route{r, v6} {
		if err := next.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := next.AddRule(rule); err != nil {
		t.Fatal(err)
	}
	if removed, err := next.CleanStale(); err != nil || len(removed) != 0 {
		t.Fatalf("CleanStale removed %q (%v) of this run's own", removed, err)
	}
}
