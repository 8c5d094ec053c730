package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vrrpd/vrrpd/vrrp"
)

// VirtualRoute is a route added while the instance is master (`routes:`, keepalived's
// virtual_routes).
type VirtualRoute struct {
	To        netip.Prefix // 0.0.0.0/0 or ::/0 for default
	Via       netip.Addr   // invalid for none
	Interface string
	Source    netip.Addr // the preferred source; invalid for none
	Table     uint32     // 0: main
	Metric    uint32
	Type      string // "" (unicast), blackhole, unreachable, prohibit
	Scope     string // "" (global), link, host
	OnLink    bool
	Line      int
}

// VirtualRule is a policy rule added while the instance is master (`rules:`, keepalived's
// virtual_rules).
type VirtualRule struct {
	IPv6     bool
	From, To netip.Prefix // invalid for all
	Table    uint32
	Priority uint32 // 0: the kernel picks
	IIF, OIF string
	HasMark  bool
	Mark     uint32
	Mask     uint32 // 0: all bits
	Invert   bool
	Action   string // "" (lookup Table), blackhole, unreachable, prohibit
	Line     int
}

var (
	virtualRouteKeys = []string{"to", "via", "interface", "source", "table", "metric", "type", "scope", "onlink"}
	virtualRuleKeys  = []string{"from", "to", "table", "priority", "iif", "oif", "fwmark", "invert", "action"}
)

// Tables ip(8) knows by name.
var tableNames = map[string]uint32{"main": 254, "local": 255, "default": 253}

// table reads a routing table: a number 1..4294967295, or main, local or default.
func (p *parser) table(n *yaml.Node, path string) (uint32, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if t, ok := tableNames[n.Value]; ok {
			p.mark(path, n)
			return t, true
		}
		p.mark(path, n)
		p.errorf(path, "write the table's number (ip(8)'s names are in /etc/iproute2/rt_tables), or main, local or default",
			"%q is not a routing table", n.Value)
		return 0, false
	}
	v, ok := p.integer(n, path, 1, math.MaxUint32)
	return uint32(v), ok
}

// routePrefix reads a destination: an address with a prefix length, or default.
func (p *parser) routePrefix(n *yaml.Node, path string, defaultFamily vrrp.Family) (netip.Prefix, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return netip.Prefix{}, false
	}
	if s == "default" {
		if defaultFamily == vrrp.IPv6 {
			return netip.MustParsePrefix("::/0"), true
		}
		return netip.MustParsePrefix("0.0.0.0/0"), true
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			return netip.PrefixFrom(a, a.BitLen()), true
		}
		p.errorf(path, "write an address with a prefix length, such as 198.51.100.0/24, or default", "%q is not a destination", s)
		return netip.Prefix{}, false
	}
	if pfx != pfx.Masked() {
		p.errorf(path, "write "+pfx.Masked().String(), "%v has host bits set", pfx)
		return netip.Prefix{}, false
	}
	return pfx, true
}

// routes reads an instance's routes.
func (p *parser) routes(n *yaml.Node, path string, family vrrp.Family) []VirtualRoute {
	var out []VirtualRoute
	for i, it := range p.sequence(n, path) {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		r := VirtualRoute{Line: it.Line}
		m := p.mapping(it, ipath, virtualRouteKeys)
		if v := m.values["to"]; v != nil {
			r.To, _ = p.routePrefix(v, ipath+".to", family)
		} else {
			p.errorf(ipath+".to", "add to: 198.51.100.0/24 (or default)", "a route needs to")
		}
		if v := m.values["via"]; v != nil {
			r.Via, _ = p.addr(v, ipath+".via")
		}
		if v := m.values["interface"]; v != nil {
			r.Interface, _ = p.ifname(v, ipath+".interface")
		}
		if v := m.values["source"]; v != nil {
			r.Source, _ = p.addr(v, ipath+".source")
		}
		if v := m.values["table"]; v != nil {
			r.Table, _ = p.table(v, ipath+".table")
		}
		if v := m.values["metric"]; v != nil {
			metric, _ := p.integer(v, ipath+".metric", 0, math.MaxUint32)
			r.Metric = uint32(metric)
		}
		if v := m.values["type"]; v != nil {
			r.Type, _ = p.oneOf(v, ipath+".type", "unicast", "blackhole", "unreachable", "prohibit")
			if r.Type == "unicast" {
				r.Type = ""
			}
		}
		if v := m.values["scope"]; v != nil {
			r.Scope, _ = p.oneOf(v, ipath+".scope", "global", "link", "host")
			if r.Scope == "global" {
				r.Scope = ""
			}
		}
		if v := m.values["onlink"]; v != nil {
			r.OnLink, _ = p.boolean(v, ipath+".onlink")
		}
		out = append(out, r)
	}
	return out
}

// rules reads an instance's policy rules.
func (p *parser) rules(n *yaml.Node, path string, family vrrp.Family) []VirtualRule {
	var out []VirtualRule
	for i, it := range p.sequence(n, path) {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		r := VirtualRule{Line: it.Line}
		m := p.mapping(it, ipath, virtualRuleKeys)
		for _, f := range []struct {
			key string
			dst *netip.Prefix
		}{{"from", &r.From}, {"to", &r.To}} {
			if v := m.values[f.key]; v != nil {
				*f.dst, _ = p.routePrefix(v, ipath+"."+f.key, family)
			}
		}
		if v := m.values["table"]; v != nil {
			r.Table, _ = p.table(v, ipath+".table")
		}
		if v := m.values["priority"]; v != nil {
			prio, _ := p.integer(v, ipath+".priority", 1, math.MaxUint32)
			r.Priority = uint32(prio)
		}
		if v := m.values["iif"]; v != nil {
			r.IIF, _ = p.ifname(v, ipath+".iif")
		}
		if v := m.values["oif"]; v != nil {
			r.OIF, _ = p.ifname(v, ipath+".oif")
		}
		if v := m.values["fwmark"]; v != nil {
			r.Mark, r.Mask, r.HasMark = p.fwmark(v, ipath+".fwmark")
		}
		if v := m.values["invert"]; v != nil {
			r.Invert, _ = p.boolean(v, ipath+".invert")
		}
		if v := m.values["action"]; v != nil {
			r.Action, _ = p.oneOf(v, ipath+".action", "lookup", "blackhole", "unreachable", "prohibit")
			if r.Action == "lookup" {
				r.Action = ""
			}
		}
		switch {
		case r.From.IsValid():
			r.IPv6 = r.From.Addr().Is6()
		case r.To.IsValid():
			r.IPv6 = r.To.Addr().Is6()
		default:
			r.IPv6 = family == vrrp.IPv6
		}
		out = append(out, r)
	}
	return out
}

// fwmark reads a firewall mark: a number, or MARK/MASK in hex or decimal.
func (p *parser) fwmark(n *yaml.Node, path string) (mark, mask uint32, ok bool) {
	if !p.scalar(n, path, "a mark such as 0x10 or 0x10/0xff") {
		return 0, 0, false
	}
	m, k, hasMask := strings.Cut(n.Value, "/")
	mv, err1 := strconv.ParseUint(m, 0, 32)
	var kv uint64
	var err2 error
	if hasMask {
		kv, err2 = strconv.ParseUint(k, 0, 32)
	}
	if err1 != nil || err2 != nil {
		p.errorf(path, "write a mark such as 0x10 or 0x10/0xff", "%q is not a firewall mark", n.Value)
		return 0, 0, false
	}
	return uint32(mv), uint32(kv), true
}

// oneOf reads one of the words allowed.
func (p *parser) oneOf(n *yaml.Node, path string, allowed ...string) (string, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	p.errorf(path, "write "+strings.Join(allowed, ", "), "%q is not one of %s", s, strings.Join(allowed, ", "))
	return "", false
}

// validateRoutes checks the routes and rules of one instance.
func validateRoutes(r *reporter, in *Instance, path string) {
	for i, rt := range in.Routes {
		p := fmt.Sprintf("%s.routes[%d]", path, i)
		if !rt.To.IsValid() {
			continue
		}
		v6 := rt.To.Addr().Is6()
		for _, f := range []struct {
			key string
			a   netip.Addr
		}{{"via", rt.Via}, {"source", rt.Source}} {
			if f.a.IsValid() && f.a.Is6() != v6 {
				r.errorf(p+"."+f.key, "", "%v is not of the family of %v", f.a, rt.To)
			}
		}
		switch {
		case rt.Type != "" && (rt.Via.IsValid() || rt.Interface != ""):
			r.errorf(p+".type", "remove via and interface", "a %s route goes nowhere: it has no via or interface", rt.Type)
		case rt.Type == "" && !rt.Via.IsValid() && rt.Interface == "" && !r.failed(p):
			r.errorf(p, "add via: ADDRESS, interface: NAME, or both", "a route needs via or interface")
		}
		if rt.OnLink && !rt.Via.IsValid() {
			r.errorf(p+".onlink", "add via, or remove onlink", "onlink applies to a route via a gateway")
		}
	}
	for i, ru := range in.Rules {
		p := fmt.Sprintf("%s.rules[%d]", path, i)
		if ru.From.IsValid() && ru.To.IsValid() && ru.From.Addr().Is6() != ru.To.Addr().Is6() {
			r.errorf(p+".to", "", "%v and %v are of different families", ru.From, ru.To)
		}
		switch {
		case ru.Action == "" && ru.Table == 0 && !r.failed(p+".table") && !r.failed(p+".action"):
			r.errorf(p+".table", "add table: 100, or an action: blackhole, unreachable or prohibit", "a rule needs a table")
		case ru.Action != "" && ru.Table != 0:
			r.errorf(p+".table", "remove table", "a %s rule looks up no table", ru.Action)
		}
	}
}
