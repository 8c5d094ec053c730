package daemon

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
)

var (
	cfgRoute = config.VirtualRoute{To: netip.MustParsePrefix("198.51.100.0/24"), Via: netip.MustParseAddr("192.0.2.254")}
	cfgRule  = config.VirtualRule{From: netip.MustParsePrefix("192.0.2.100/32"), Table: 100, Priority: 100}
	nsRoute  = netops.Route{Dst: cfgRoute.To, Gateway: cfgRoute.Via}
	nsRule   = netops.Rule{From: cfgRule.From, Table: 100, Priority: 100}
)

func routedCfg(name string, prio uint8) config.Instance {
	in := instanceCfg(name, prio, "192.0.2.100/24")
	in.Routes, in.Rules = []config.VirtualRoute{cfgRoute}, []config.VirtualRule{cfgRule}
	return in
}

func hasRoutes(n *node) bool {
	present, ours := n.routes.Route(nsRoute)
	rules, _ := n.routes.Rules(nsRule)
	return present && ours && rules == 1
}

func noRoutes(n *node) bool { return len(n.routes.Ours()) == 0 }

func TestRoutesFollowMastership(t *testing.T) {
	l := newLAN(t)
	a := newNode(t, l, "a", "192.0.2.1", routedCfg("web", 150))
	b := newNode(t, l, "b", "192.0.2.2", routedCfg("web", 100))
	a.start(t)
	b.start(t)
	a.waitState(t, "web", "MASTER")
	b.waitState(t, "web", "BACKUP")
	if !hasRoutes(a) || !noRoutes(b) {
		t.Fatalf("a's %q, b's %q", a.routes.Ours(), b.routes.Ours())
	}
	if st := a.instance(t, "web"); !slices.Equal(st.Routes, []string{nsRoute.String(), nsRule.String()}) || st.RouteErrors != 0 {
		t.Fatalf("a's routes in status %q, errors %d", st.Routes, st.RouteErrors)
	}

	// a stops: it keeps them until b announces (make-before-break), then b has them.
	a.stop(t)
	b.waitState(t, "web", "MASTER")
	l.until("the routes to move", func() bool { return noRoutes(a) && hasRoutes(b) })

	// A reload of b: a new route is added, the rule goes, the route stays.
	other := config.VirtualRoute{To: netip.MustParsePrefix("203.0.113.0/24"), Type: "blackhole"}
	next := *b.cfg
	in := routedCfg("web", 100)
	in.Routes, in.Rules = []config.VirtualRoute{cfgRoute, other}, nil
	next.Instances = []config.Instance{in}
	if err := b.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	want := []string{nsRoute.String(), "blackhole 203.0.113.0/24"}
	if got := b.routes.Ours(); !slices.Equal(got, want) {
		t.Fatalf("after reload: %q, want %q", got, want)
	}
	b.stop(t)
	if got := b.routes.Ours(); len(got) != 0 {
		t.Fatalf("after stop: %q", got)
	}
}

func TestRouteSomeoneElseHasIsCounted(t *testing.T) {
	l := newLAN(t)
	a := newNode(t, l, "a", "192.0.2.1", routedCfg("web", 150))
	a.routes.AddForeignRoute(nsRoute)
	a.start(t)
	a.waitState(t, "web", "MASTER")
	if st := a.instance(t, "web"); st.RouteErrors != 1 {
		t.Fatalf("route errors %d, want 1", st.RouteErrors)
	}
	if rules, _ := a.routes.Rules(nsRule); rules != 1 {
		t.Fatal("the rule was not added after the route failed")
	}
	a.stop(t)
	if present, ours := a.routes.Route(nsRoute); !present || ours {
		t.Fatalf("someone else's route: present %v, ours %v", present, ours)
	}
	if err := a.routes.AddRoute(nsRoute); !errors.Is(err, netops.ErrNotOurs) {
		t.Fatalf("the fake lost someone else's route: %v", err)
	}
}

func TestRouteHeldByTwoInstances(t *testing.T) {
	l := newLAN(t)
	web, api := routedCfg("web", 150), routedCfg("api", 150)
	api.VRID = 52
	api.VIPs = []config.VIP{{Prefix: netip.MustParsePrefix("192.0.2.110/24")}}
	a := newNode(t, l, "a", "192.0.2.1", web, api)
	a.start(t)
	a.waitState(t, "web", "MASTER")
	a.waitState(t, "api", "MASTER")
	// web leaves: api still holds the route and the rule.
	next := *a.cfg
	next.Instances = []config.Instance{api}
	if err := a.d.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	l.until("web to go", func() bool { return len(a.d.Status().Instances) == 1 && !a.hasVIP("192.0.2.100") })
	l.run(100 * interval)
	if !hasRoutes(a) {
		t.Fatalf("the routes api holds went with web: %q", a.routes.Ours())
	}
}
