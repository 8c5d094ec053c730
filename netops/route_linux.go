package netops

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteManager adds and removes virtual routes and policy rules through netlink, in the
// network namespace it was created in. What is ours survives a crash twice over, as
// VIPs do: every route and rule carries RouteProtocol in the kernel, and is recorded
// in a state file. It removes only what is ours: the kernel matches the protocol on
// delete. It is safe for concurrent use.
type RouteManager struct {
	log       *slog.Logger
	statePath string

	mu     sync.Mutex
	h      *netlink.Handle // nil after Close
	routes map[string]Route
	rules  map[string]Rule
	// wanted are the routes and rules added and not removed since: CleanStale leaves
	// them.
	wanted map[string]bool
}

var _ Routes = (*RouteManager)(nil)

// NewRouteManager returns a manager of the routes and rules of the calling thread's
// network namespace, recorded in statePath (the daemon uses RouteStatePath of its VIP
// state file). A state file that cannot be read is set aside with a ".bad" suffix: the
// kernel's marks still say what is ours.
func NewRouteManager(statePath string, log *slog.Logger) (*RouteManager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(statePath), 0o755); err != nil {
		return nil, fmt.Errorf("netops: route state: %w", err)
	}
	routes, rules, err := ReadRouteState(statePath)
	if err != nil {
		bad := statePath + ".bad"
		if rerr := os.Rename(statePath, bad); rerr != nil {
			return nil, fmt.Errorf("%w (and it cannot be set aside: %w)", err, rerr)
		}
		log.Warn("route state file unreadable, set aside; the kernel's marks tell which routes and rules are ours",
			"error", err, "moved_to", bad)
		routes, rules = nil, nil
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netops: netlink handle: %w", err)
	}
	m := &RouteManager{log: log, statePath: statePath, h: h, routes: map[string]Route{}, rules: map[string]Rule{},
		wanted: map[string]bool{}}
	for _, r := range routes {
		m.routes[r.String()] = r
	}
	for _, r := range rules {
		m.rules[r.String()] = r
	}
	return m, nil
}

// AddRoute adds r; see Routes.
func (m *RouteManager) AddRoute(r Route) error {
	if err := r.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return fmt.Errorf("netops: add route %v: %w", r, net.ErrClosed)
	}
	k := r.String()
	_, recorded := m.routes[k]
	if !recorded {
		// Recorded before it is added, as VIPs are.
		m.routes[k] = r
		if err := m.save(); err != nil {
			delete(m.routes, k)
			return fmt.Errorf("netops: add route %v: %w", r, err)
		}
	}
	nr, err := m.kernelRoute(r)
	if err == nil {
		err = m.h.RouteAdd(nr)
	}
	if errors.Is(err, unix.EEXIST) {
		if ours, lerr := m.routeIsOurs(nr); lerr != nil {
			err = lerr
		} else if ours {
			err = nil
		} else {
			err = ErrNotOurs
		}
	}
	if err != nil {
		if !recorded {
			delete(m.routes, k)
			if serr := m.save(); serr != nil {
				m.log.Warn("route state not saved after a failed add", "route", k, "error", serr)
			}
		}
		return fmt.Errorf("netops: add route %v: %w", r, err)
	}
	m.wanted[k] = true
	return nil
}

// RemoveRoute removes r if it is ours; see Routes.
func (m *RouteManager) RemoveRoute(r Route) error {
	if err := r.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return fmt.Errorf("netops: remove route %v: %w", r, net.ErrClosed)
	}
	k := r.String()
	delete(m.wanted, k)
	if err := m.delRoute(r); err != nil {
		return fmt.Errorf("netops: remove route %v: %w", r, err)
	}
	delete(m.routes, k)
	if err := m.save(); err != nil {
		return fmt.Errorf("netops: remove route %v: %w", r, err)
	}
	return nil
}

// delRoute deletes r, ours only: the kernel matches the protocol. An absent route, or
// one whose interface went, is gone already. m.mu is held.
func (m *RouteManager) delRoute(r Route) error {
	nr, err := m.kernelRoute(r)
	if errors.Is(err, ErrNoInterface) {
		return nil
	}
	if err != nil {
		return err
	}
	err = m.h.RouteDel(nr)
	if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// routeIsOurs reports whether the kernel's route with nr's destination, table and
// metric carries our mark. m.mu is held.
func (m *RouteManager) routeIsOurs(nr *netlink.Route) (bool, error) {
	filter := &netlink.Route{Dst: nr.Dst, Table: nr.Table, Priority: nr.Priority}
	mask := netlink.RT_FILTER_DST | netlink.RT_FILTER_TABLE
	if nr.Priority != 0 {
		mask |= netlink.RT_FILTER_PRIORITY
	}
	found, err := m.h.RouteListFiltered(familyOfPrefix(nr.Dst), filter, mask)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(found, func(o netlink.Route) bool { return o.Protocol == RouteProtocol }), nil
}

// kernelRoute is r as netlink takes it, marked as ours. m.mu is held.
func (m *RouteManager) kernelRoute(r Route) (*netlink.Route, error) {
	nr := &netlink.Route{
		Dst:      ipNetOf(r.Dst),
		Protocol: RouteProtocol,
		Table:    int(r.Table),
		Priority: int(r.Metric),
		Family:   familyOfPrefix(ipNetOf(r.Dst)),
	}
	if nr.Table == 0 {
		nr.Table = unix.RT_TABLE_MAIN
	}
	if r.Gateway.IsValid() {
		nr.Gw = r.Gateway.AsSlice()
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Interface != "" {
		l, err := m.h.LinkByName(r.Interface)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("%w: %s", ErrNoInterface, r.Interface)
			}
			return nil, err
		}
		nr.LinkIndex = l.Attrs().Index
	}
	switch r.Type {
	case RouteBlackhole:
		nr.Type = unix.RTN_BLACKHOLE
	case RouteUnreachable:
		nr.Type = unix.RTN_UNREACHABLE
	case RouteProhibit:
		nr.Type = unix.RTN_PROHIBIT
	}
	switch r.Scope {
	case "link":
		nr.Scope = netlink.SCOPE_LINK
	case "host":
		nr.Scope = netlink.SCOPE_HOST
	}
	if r.OnLink {
		nr.Flags |= int(netlink.FLAG_ONLINK)
	}
	return nr, nil
}

func familyOfPrefix(p *net.IPNet) int {
	if p.IP.To4() != nil {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// AddRule adds r; see Routes.
func (m *RouteManager) AddRule(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return fmt.Errorf("netops: add rule %v: %w", r, net.ErrClosed)
	}
	k := r.String()
	_, recorded := m.rules[k]
	if !recorded {
		m.rules[k] = r
		if err := m.save(); err != nil {
			delete(m.rules, k)
			return fmt.Errorf("netops: add rule %v: %w", r, err)
		}
	}
	// The kernel gives a rule without a priority one of its own, and then takes the
	// same rule again as another: look first.
	nr := kernelRule(r)
	found, err := m.findRule(nr)
	if err == nil && !found {
		err = m.h.RuleAdd(nr)
	}
	if errors.Is(err, unix.EEXIST) {
		err = nil // ours: someone else's is another rule to the kernel, its protocol differs
	}
	if err != nil {
		if !recorded {
			delete(m.rules, k)
			if serr := m.save(); serr != nil {
				m.log.Warn("route state not saved after a failed add", "rule", k, "error", serr)
			}
		}
		return fmt.Errorf("netops: add rule %v: %w", r, err)
	}
	m.wanted[k] = true
	return nil
}

// RemoveRule removes r if it is ours; see Routes.
func (m *RouteManager) RemoveRule(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return fmt.Errorf("netops: remove rule %v: %w", r, net.ErrClosed)
	}
	k := r.String()
	delete(m.wanted, k)
	if err := m.delRule(kernelRule(r)); err != nil {
		return fmt.Errorf("netops: remove rule %v: %w", r, err)
	}
	delete(m.rules, k)
	if err := m.save(); err != nil {
		return fmt.Errorf("netops: remove rule %v: %w", r, err)
	}
	return nil
}

// findRule reports whether the kernel has a rule of ours that matches nr. m.mu is held.
func (m *RouteManager) findRule(nr *netlink.Rule) (bool, error) {
	rules, err := m.h.RuleListFiltered(nr.Family, &netlink.Rule{Protocol: RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(rules, func(o netlink.Rule) bool { return o.Protocol == RouteProtocol && sameRule(nr, &o) }), nil
}

// sameRule reports whether the kernel's rule k is the rule r asks for.
func sameRule(r, k *netlink.Rule) bool {
	mask := func(p *uint32) uint32 {
		if p == nil {
			return 0
		}
		return *p
	}
	return (r.Priority < 0 || r.Priority == k.Priority) && r.Family == k.Family && r.Table == k.Table &&
		ipNetString(r.Src) == ipNetString(k.Src) && ipNetString(r.Dst) == ipNetString(k.Dst) &&
		r.IifName == k.IifName && r.OifName == k.OifName && r.Mark == k.Mark && mask(r.Mask) == mask(k.Mask) &&
		r.Invert == k.Invert && (r.Type == 0 || r.Type == k.Type)
}

// delRule deletes nr, ours only: the kernel matches the protocol. m.mu is held.
func (m *RouteManager) delRule(nr *netlink.Rule) error {
	err := m.h.RuleDel(nr)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// kernelRule is r as netlink takes it, marked as ours.
func kernelRule(r Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Protocol = RouteProtocol
	nr.Family = netlink.FAMILY_V4
	if r.IPv6 {
		nr.Family = netlink.FAMILY_V6
	}
	nr.Priority = -1
	if r.Priority != 0 {
		nr.Priority = int(r.Priority)
	}
	if r.From.IsValid() {
		nr.Src = ipNetOf(r.From)
	}
	if r.To.IsValid() {
		nr.Dst = ipNetOf(r.To)
	}
	nr.IifName, nr.OifName = r.IIF, r.OIF
	if r.HasMark {
		nr.Mark = r.Mark
		mask := r.Mask
		if mask == 0 {
			mask = ^uint32(0)
		}
		nr.Mask = &mask
	}
	nr.Invert = r.Invert
	switch r.Action {
	case "":
		nr.Table = int(r.Table)
	case RuleBlackhole:
		nr.Type = unix.FR_ACT_BLACKHOLE
	case RuleUnreachable:
		nr.Type = unix.FR_ACT_UNREACHABLE
	case RuleProhibit:
		nr.Type = unix.FR_ACT_PROHIBIT
	}
	return nr
}

// CleanStale removes the routes and rules an earlier run left behind that this manager
// has not added itself: every route and rule of the namespace marked with
// RouteProtocol, and those the state file lists. It returns what it removed, as ip(8)
// writes them.
func (m *RouteManager) CleanStale() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil, fmt.Errorf("netops: clean stale routes: %w", net.ErrClosed)
	}
	var removed []string
	var errs []error
	routes, err := m.h.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		errs = append(errs, err)
	}
	for _, nr := range routes {
		if m.wantedRoute(nr) {
			continue
		}
		del := nr
		if err := m.h.RouteDel(&del); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("remove stale route %v: %w", nr.Dst, err))
			continue
		}
		s := m.routeString(nr)
		m.log.Warn("removed a route left behind by an earlier run", "route", s)
		removed = append(removed, s)
	}
	rules, err := m.h.RuleListFiltered(netlink.FAMILY_ALL, &netlink.Rule{Protocol: RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		errs = append(errs, err)
	}
	for _, nr := range rules {
		if nr.Protocol != RouteProtocol || m.wantedRule(nr) {
			continue
		}
		del := nr
		if err := m.delRule(&del); err != nil {
			errs = append(errs, fmt.Errorf("remove stale rule %v: %w", nr, err))
			continue
		}
		s := ruleString(nr)
		m.log.Warn("removed a policy rule left behind by an earlier run", "rule", s)
		removed = append(removed, s)
	}
	// The records left: where the kernel dropped the marks (it never does for routes;
	// rules before Linux 4.17). Each delete names the protocol, so that only ours go.
	for k, r := range m.routes {
		if m.wanted[k] {
			continue
		}
		if err := m.delRoute(r); err != nil {
			errs = append(errs, fmt.Errorf("remove stale route %v: %w", r, err))
			continue
		}
		delete(m.routes, k)
	}
	for k, r := range m.rules {
		if m.wanted[k] {
			continue
		}
		if err := m.delRule(kernelRule(r)); err != nil {
			errs = append(errs, fmt.Errorf("remove stale rule %v: %w", r, err))
			continue
		}
		delete(m.rules, k)
	}
	if err := m.save(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("netops: clean stale routes: %w", err)
	}
	return removed, nil
}

// wantedRoute reports whether a marked route of the kernel is one this manager added.
// m.mu is held.
func (m *RouteManager) wantedRoute(nr netlink.Route) bool {
	for k, r := range m.routes {
		if !m.wanted[k] {
			continue
		}
		kr, err := m.kernelRoute(r)
		// An IPv6 route added without a metric has the kernel's 1024.
		if err == nil && kr.Dst.String() == nr.Dst.String() && kr.Table == nr.Table && (kr.Priority == 0 || kr.Priority == nr.Priority) {
			return true
		}
	}
	return false
}

// wantedRule reports whether a marked rule of the kernel is one this manager added.
// m.mu is held.
func (m *RouteManager) wantedRule(nr netlink.Rule) bool {
	for k, r := range m.rules {
		if !m.wanted[k] {
			continue
		}
		if sameRule(kernelRule(r), &nr) {
			return true
		}
	}
	return false
}

// routeString writes a kernel's route as ip(8) would, as Route.String does. m.mu is
// held.
func (m *RouteManager) routeString(nr netlink.Route) string {
	var r Route
	if nr.Dst != nil {
		r.Dst = ipNetPrefix(nr.Dst)
	} else if nr.Family == netlink.FAMILY_V6 {
		r.Dst = netip.MustParsePrefix("::/0")
	} else {
		r.Dst = netip.MustParsePrefix("0.0.0.0/0")
	}
	r.Gateway, _ = netip.AddrFromSlice(nr.Gw)
	r.Gateway = r.Gateway.Unmap()
	r.Src, _ = netip.AddrFromSlice(nr.Src)
	r.Src = r.Src.Unmap()
	if nr.LinkIndex > 0 {
		if l, err := m.h.LinkByIndex(nr.LinkIndex); err == nil {
			r.Interface = l.Attrs().Name
		}
	}
	if nr.Table != unix.RT_TABLE_MAIN {
		r.Table = uint32(nr.Table)
	}
	r.Metric = uint32(nr.Priority)
	switch nr.Type {
	case unix.RTN_BLACKHOLE:
		r.Type = RouteBlackhole
	case unix.RTN_UNREACHABLE:
		r.Type = RouteUnreachable
	case unix.RTN_PROHIBIT:
		r.Type = RouteProhibit
	}
	return r.String()
}

// ruleString writes a kernel's rule as Rule.String does.
func ruleString(nr netlink.Rule) string {
	r := Rule{IPv6: nr.Family == netlink.FAMILY_V6, IIF: nr.IifName, OIF: nr.OifName, Invert: nr.Invert}
	if nr.Priority > 0 {
		r.Priority = uint32(nr.Priority)
	}
	if nr.Src != nil {
		r.From = ipNetPrefix(nr.Src)
	}
	if nr.Dst != nil {
		r.To = ipNetPrefix(nr.Dst)
	}
	if nr.Table > 0 {
		r.Table = uint32(nr.Table)
	}
	switch nr.Type {
	case unix.FR_ACT_BLACKHOLE:
		r.Action = RuleBlackhole
	case unix.FR_ACT_UNREACHABLE:
		r.Action = RuleUnreachable
	case unix.FR_ACT_PROHIBIT:
		r.Action = RuleProhibit
	}
	if nr.Mark != 0 || nr.Mask != nil {
		r.HasMark, r.Mark = true, nr.Mark
		if nr.Mask != nil {
			r.Mask = *nr.Mask
		}
	}
	return r.String()
}

func ipNetPrefix(n *net.IPNet) netip.Prefix {
	a, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones)
}

func ipNetString(n *net.IPNet) string {
	if n == nil {
		return ""
	}
	return n.String()
}

// Recorded returns the routes and rules the manager holds as vrrpd's, as ip(8)
// writes them.
func (m *RouteManager) Recorded() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.routes {
		out = append(out, k)
	}
	for k := range m.rules {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Close releases the netlink socket; it neither removes nor forgets anything.
func (m *RouteManager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		m.h.Close()
		m.h = nil
	}
	return nil
}

// save writes the state file atomically. m.mu is held.
func (m *RouteManager) save() error {
	routes := make([]Route, 0, len(m.routes))
	for _, r := range m.routes {
		routes = append(routes, r)
	}
	rules := make([]Rule, 0, len(m.rules))
	for _, r := range m.rules {
		rules = append(rules, r)
	}
	b, err := encodeRouteState(routes, rules)
	if err != nil {
		return fmt.Errorf("encode route state: %w", err)
	}
	if err := writeFileAtomic(m.statePath, b); err != nil {
		return fmt.Errorf("save route state: %w", err)
	}
	return nil
}

// ipNetOf is p as netlink takes it.
func ipNetOf(p netip.Prefix) *net.IPNet {
	a := p.Addr()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}
