package contract

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/vrrpd/vrrpd/netops"
)

// RoutesEnv is a fresh netops.Routes of a node whose eth0 has NodeV4 and NodeV6, and
// ways to see its kernel from outside it.
type RoutesEnv struct {
	Routes netops.Routes
	// Route reports whether the kernel has a route to r's destination in r's table with
	// r's metric, and whether it carries vrrpd's mark.
	Route func(r netops.Route) (present, ours bool)
	// Rules counts the kernel's rules that match r: vrrpd's, and others.
	Rules func(r netops.Rule) (ours, others int)
	// AddForeignRoute and AddForeignRule put someone else's route or rule in the kernel.
	AddForeignRoute func(r netops.Route)
	AddForeignRule  func(r netops.Rule)
}

// The routes and rules of the cases: documentation addresses, via the node's subnets.
var (
	routeV4 = netops.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.254"), Interface: "eth0"}
	routeV6 = netops.Route{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Gateway: netip.MustParseAddr("2001:db8::fe"), Interface: "eth0"}
	// In a table of its own, with a metric and a source.
	routeTable  = netops.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.254"), Table: 100, Metric: 10}
	routeHole   = netops.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Type: netops.RouteBlackhole}
	ruleFrom    = netops.Rule{From: netip.MustParsePrefix("192.0.2.0/24"), Table: 100, Priority: 1000}
	ruleNoPrio  = netops.Rule{To: netip.MustParsePrefix("198.51.100.0/24"), Table: 101}
	ruleV6      = netops.Rule{IPv6: true, From: netip.MustParsePrefix("2001:db8::/64"), Table: 100, Priority: 1001}
	ruleBlocked = netops.Rule{From: netip.MustParsePrefix("203.0.113.0/24"), Action: netops.RuleProhibit, Priority: 1002}
)

// RoutesCases runs the Routes contract; env returns a fresh environment for each case.
func RoutesCases(t *testing.T, env func(t *testing.T) RoutesEnv) {
	for _, r := range []netops.Route{routeV4, routeV6, routeTable, routeHole} {
		t.Run("route "+r.String()+" added and removed, twice each", func(t *testing.T) {
			e := env(t)
			for range 2 {
				if err := e.Routes.AddRoute(r); err != nil {
					t.Fatal(err)
				}
			}
			if present, ours := e.Route(r); !present || !ours {
				t.Fatalf("after add: present %v, ours %v", present, ours)
			}
			for range 2 {
				if err := e.Routes.RemoveRoute(r); err != nil {
					t.Fatal(err)
				}
			}
			if present, _ := e.Route(r); present {
				t.Fatal("still there after remove")
			}
		})
	}
	t.Run("someone else's route is neither replaced nor removed", func(t *testing.T) {
		e := env(t)
		e.AddForeignRoute(routeV4)
		if err := e.Routes.AddRoute(routeV4); !errors.Is(err, netops.ErrNotOurs) {
			t.Fatalf("add over someone else's route: %v, want ErrNotOurs", err)
		}
		if err := e.Routes.RemoveRoute(routeV4); err != nil {
			t.Fatal(err)
		}
		if present, ours := e.Route(routeV4); !present || ours {
			t.Fatalf("someone else's route: present %v, ours %v", present, ours)
		}
	})
	for _, r := range []netops.Rule{ruleFrom, ruleNoPrio, ruleV6, ruleBlocked} {
		t.Run("rule "+r.String()+" added once, and removed", func(t *testing.T) {
			e := env(t)
			for range 2 {
				if err := e.Routes.AddRule(r); err != nil {
					t.Fatal(err)
				}
			}
			if ours, _ := e.Rules(r); ours != 1 {
				t.Fatalf("%d rules of ours after adding twice, want 1", ours)
			}
			for range 2 {
				if err := e.Routes.RemoveRule(r); err != nil {
					t.Fatal(err)
				}
			}
			if ours, _ := e.Rules(r); ours != 0 {
				t.Fatalf("%d rules of ours after remove", ours)
			}
		})
	}
	t.Run("someone else's rule stays", func(t *testing.T) {
		e := env(t)
		e.AddForeignRule(ruleFrom)
		if err := e.Routes.AddRule(ruleFrom); err != nil {
			t.Fatal(err)
		}
		if err := e.Routes.RemoveRule(ruleFrom); err != nil {
			t.Fatal(err)
		}
		if ours, others := e.Rules(ruleFrom); ours != 0 || others != 1 {
			t.Fatalf("after remove: %d of ours, %d of others; want 0 and 1", ours, others)
		}
	})
}
