package fake

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/vrrpd/vrrpd/netops"
)

// Routes is an in-memory netops.Routes: a kernel's routes and rules, each vrrpd's or
// someone else's, with netops.RouteManager's rules: a route is one per destination,
// table and metric, and only vrrpd's are removed. It is safe for concurrent use.
type Routes struct {
	mu     sync.Mutex
	routes map[routeKey]fakeRoute
	rules  []fakeRule
	// Fail, when set, is returned by the next calls that add.
	fail error
}

type routeKey struct {
	dst    netip.Prefix
	table  uint32
	metric uint32
}

type fakeRoute struct {
	route netops.Route
	ours  bool
}

type fakeRule struct {
	rule netops.Rule
	ours bool
}

var _ netops.Routes = (*Routes)(nil)

// NewRoutes returns an empty Routes.
func NewRoutes() *Routes { return &Routes{routes: map[routeKey]fakeRoute{}} }

func keyOfRoute(r netops.Route) routeKey {
	t := r.Table
	if t == 0 {
		t = 254
	}
	return routeKey{r.Dst.Masked(), t, r.Metric}
}

// AddRoute implements netops.Routes.
func (f *Routes) AddRoute(r netops.Route) error {
	if err := r.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return fmt.Errorf("fake: add route %v: %w", r, f.fail)
	}
	k := keyOfRoute(r)
	if have, ok := f.routes[k]; ok {
		if !have.ours {
			return fmt.Errorf("fake: add route %v: %w", r, netops.ErrNotOurs)
		}
		return nil
	}
	f.routes[k] = fakeRoute{r, true}
	return nil
}

// RemoveRoute implements netops.Routes.
func (f *Routes) RemoveRoute(r netops.Route) error {
	if err := r.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := keyOfRoute(r)
	if have, ok := f.routes[k]; ok && have.ours {
		delete(f.routes, k)
	}
	return nil
}

// AddRule implements netops.Routes.
func (f *Routes) AddRule(r netops.Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return fmt.Errorf("fake: add rule %v: %w", r, f.fail)
	}
	if slices.Contains(f.rules, fakeRule{r, true}) {
		return nil
	}
	f.rules = append(f.rules, fakeRule{r, true})
	return nil
}

// RemoveRule implements netops.Routes.
func (f *Routes) RemoveRule(r netops.Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = slices.DeleteFunc(f.rules, func(o fakeRule) bool { return o == fakeRule{r, true} })
	return nil
}

// AddForeignRoute puts a route of someone else's in the fake kernel.
func (f *Routes) AddForeignRoute(r netops.Route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[keyOfRoute(r)] = fakeRoute{r, false}
}

// AddForeignRule puts a rule of someone else's in the fake kernel.
func (f *Routes) AddForeignRule(r netops.Rule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, fakeRule{r, false})
}

// Route reports whether the fake kernel has a route to r's destination in its table
// with its metric, and whether it is vrrpd's.
func (f *Routes) Route(r netops.Route) (present, ours bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	have, ok := f.routes[keyOfRoute(r)]
	return ok, have.ours
}

// Rules counts the rules equal to r in the fake kernel: vrrpd's and someone else's.
func (f *Routes) Rules(r netops.Rule) (ours, others int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.rules {
		if o.rule == r {
			if o.ours {
				ours++
			} else {
				others++
			}
		}
	}
	return ours, others
}

// FailAdds makes every add fail with err until it is called with nil.
func (f *Routes) FailAdds(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// Ours returns vrrpd's routes and rules, as ip(8) writes them, sorted.
func (f *Routes) Ours() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.routes {
		if r.ours {
			out = append(out, r.route.String())
		}
	}
	for _, r := range f.rules {
		if r.ours {
			out = append(out, r.rule.String())
		}
	}
	slices.Sort(out)
	return out
}
