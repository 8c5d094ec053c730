package daemon

import (
	"slices"
	"sync"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
)

// A master's virtual routes and rules follow its VIPs: added right after them, removed
// with them. routeHolders counts who holds each, as holders does for VIPs, so that one
// instance never removes a route another instance of this daemon holds.

// routeKey names a route or a rule as ip(8) writes it.
type routeKey string

// routeHolders records which instances hold each route and rule. Safe for concurrent
// use.
type routeHolders struct {
	mu sync.Mutex
	m  map[routeKey]map[*instance]bool
}

func (h *routeHolders) take(k routeKey, in *instance) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[routeKey]map[*instance]bool{}
	}
	if h.m[k] == nil {
		h.m[k] = map[*instance]bool{}
	}
	h.m[k][in] = true
}

// drop records that in lets k go, and reports whether nobody holds it any more.
func (h *routeHolders) drop(k routeKey, in *instance) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m[k], in)
	if len(h.m[k]) > 0 {
		return false
	}
	delete(h.m, k)
	return true
}

// routeSet is what an instance adds besides its VIPs.
type routeSet struct {
	routes []netops.Route
	rules  []netops.Rule
}

func (s routeSet) empty() bool { return len(s.routes) == 0 && len(s.rules) == 0 }

// routesOf returns the routes and rules of an instance's configuration.
func routesOf(in config.Instance) routeSet {
	var s routeSet
	for _, r := range in.Routes {
		s.routes = append(s.routes, netops.Route{Dst: r.To, Gateway: r.Via, Interface: r.Interface, Src: r.Source,
			Table: r.Table, Metric: r.Metric, Type: r.Type, Scope: r.Scope, OnLink: r.OnLink})
	}
	for _, r := range in.Rules {
		s.rules = append(s.rules, netops.Rule{IPv6: r.IPv6, Priority: r.Priority, From: r.From, To: r.To, IIF: r.IIF, OIF: r.OIF,
			HasMark: r.HasMark, Mark: r.Mark, Mask: r.Mask, Invert: r.Invert, Table: r.Table, Action: r.Action})
	}
	return s
}

// minus returns what s has and o has not.
func (s routeSet) minus(o routeSet) routeSet {
	var d routeSet
	for _, r := range s.routes {
		if !slices.Contains(o.routes, r) {
			d.routes = append(d.routes, r)
		}
	}
	for _, r := range s.rules {
		if !slices.Contains(o.rules, r) {
			d.rules = append(d.rules, r)
		}
	}
	return d
}

// addRoutes adds s, logging and counting what cannot be added: the master keeps its
// VIPs, as keepalived's does.
func (in *instance) addRoutes(s routeSet) {
	if s.empty() {
		return
	}
	rt := in.d.sys.Routes
	if rt == nil {
		in.routeErrors++
		in.log.Error("cannot add routes or rules: this system has none")
		return
	}
	for _, r := range s.routes {
		in.d.routeHolders.take(routeKey(r.String()), in)
		if err := rt.AddRoute(r); err != nil {
			in.routeErrors++
			in.log.Error("cannot add route", "route", r.String(), "error", err)
		}
	}
	for _, r := range s.rules {
		in.d.routeHolders.take(routeKey(r.String()), in)
		if err := rt.AddRule(r); err != nil {
			in.routeErrors++
			in.log.Error("cannot add rule", "rule", r.String(), "error", err)
		}
	}
}

// removeRoutes lets s go: each leaves the kernel unless another instance holds it.
// Rules go first: a rule may send traffic to a table whose routes go next.
func (in *instance) removeRoutes(s routeSet) {
	rt := in.d.sys.Routes
	if s.empty() || rt == nil {
		return
	}
	for _, r := range s.rules {
		if !in.d.routeHolders.drop(routeKey(r.String()), in) {
			continue
		}
		if err := rt.RemoveRule(r); err != nil {
			in.routeErrors++
			in.log.Error("cannot remove rule", "rule", r.String(), "error", err)
		}
	}
	for _, r := range s.routes {
		if !in.d.routeHolders.drop(routeKey(r.String()), in) {
			continue
		}
		if err := rt.RemoveRoute(r); err != nil {
			in.routeErrors++
			in.log.Error("cannot remove route", "route", r.String(), "error", err)
		}
	}
}

// reconfigureRoutes applies a reload's difference to a master's routes and rules: the
// new ones are added, those it no longer has removed, the others untouched.
func (in *instance) reconfigureRoutes(prev, next config.Instance) {
	before, after := routesOf(prev), routesOf(next)
	in.addRoutes(after.minus(before))
	in.removeRoutes(before.minus(after))
}

// routeStatus lists the instance's routes and rules, as ip(8) writes them.
func (in *instance) routeStatus() []string {
	s := routesOf(*in.cfg)
	var out []string
	for _, r := range s.routes {
		out = append(out, r.String())
	}
	for _, r := range s.rules {
		out = append(out, r.String())
	}
	return out
}
