package keepalived

import (
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// outRoute is a virtual route, in vrrpd's keys.
type outRoute struct {
	pos        Pos
	to         netip.Prefix
	via, src   netip.Addr
	dev        string
	table      string // a number or main, local, default; "" for main
	metric     int
	typ, scope string
	onlink     bool
	hasMetric  bool
}

// outRule is a virtual policy rule, in vrrpd's keys.
type outRule struct {
	pos      Pos
	from, to netip.Prefix
	table    string
	priority int
	iif, oif string
	fwmark   string
	invert   bool
	action   string
}

// tableName reads a routing table as vrrpd takes it: a number, or main, local, default.
func tableName(s string) (string, bool) {
	switch s {
	case "main", "local", "default":
		return s, true
	}
	if v, err := strconv.ParseUint(s, 10, 32); err == nil && v > 0 {
		return s, true
	}
	return "", false
}

// routePrefix reads a destination: an address, with or without a prefix length, or
// default.
func routePrefix(s string, family int) (netip.Prefix, bool) {
	if s == "default" || s == "all" {
		if family == 6 {
			return netip.MustParsePrefix("::/0"), true
		}
		return netip.MustParsePrefix("0.0.0.0/0"), true
	}
	if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Zone() == "" {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// virtualRoutes reads a virtual_routes block, one route a line.
func (r *instanceReader) virtualRoutes(n *node) {
	for _, c := range n.children {
		if rt, ok := r.virtualRoute(c); ok {
			r.out.routes = append(r.out.routes, rt)
		}
	}
}

// virtualRoute reads one line of virtual_routes, as ip route add takes it; it notes
// and skips a line with an option vrrpd does not set.
func (r *instanceReader) virtualRoute(c *node) (outRoute, bool) {
	cv := r.cv
	rt := outRoute{pos: c.pos}
	words := c.words
	skip := func(format string, args ...any) (outRoute, bool) {
		cv.rep.skip(c.pos, "virtual_routes "+strings.Join(words, " "), format, args...)
		return outRoute{}, false
	}
	i := 0
	switch words[0] {
	case "blackhole", "unreachable", "prohibit":
		rt.typ = words[0]
		i++
	case "unicast":
		i++
	case "throw", "local", "broadcast", "multicast", "nat", "anycast":
		return skip("vrrpd adds unicast, blackhole, unreachable and prohibit routes only")
	}
	arg := func() (string, bool) {
		if i+1 >= len(words) {
			return "", false
		}
		i++
		return words[i], true
	}
	for ; i < len(words); i++ {
		w := words[i]
		var v string
		var ok bool
		switch w {
		case "src", "via", "gw", "dev", "oif", "scope", "table", "metric", "preference", "priority", "to":
			if v, ok = arg(); !ok {
				return skip("%s needs a value; keepalived refuses the line", w)
			}
		}
		switch w {
		case "src":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return skip("src %q is not an address; keepalived refuses the line", v)
			}
			rt.src = a.Unmap()
		case "via", "gw":
			if v == "inet" || v == "inet6" {
				if v, ok = arg(); !ok {
					return skip("via needs an address")
				}
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				return skip("via %q is not an address; keepalived refuses the line", v)
			}
			rt.via = a.Unmap()
		case "dev", "oif":
			rt.dev = v
		case "scope":
			switch v {
			case "global", "universe", "link", "host":
				rt.scope = map[string]string{"universe": "global"}[v]
				if rt.scope == "" {
					rt.scope = v
				}
			default:
				return skip("vrrpd takes the scopes global, link and host only")
			}
		case "table":
			t, ok := tableName(v)
			if !ok {
				return skip("table %s: vrrpd takes a table by number, or main, local, default (the names of /etc/iproute2/rt_tables "+
					"are keepalived's): write its number", v)
			}
			rt.table = t
		case "metric", "preference", "priority":
			m, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return skip("%s %q is not a number", w, v)
			}
			rt.metric, rt.hasMetric = int(m), true
		case "onlink":
			rt.onlink = true
		case "no_track":
			cv.rep.change(c.pos, "virtual_routes no_track", "vrrpd never puts back a route someone deleted before the next "+
				"takeover, with or without no_track")
		case "or":
			return skip("vrrpd adds one gateway per route (no \"or\" alternative)")
		case "to":
			p, ok := routePrefix(v, r.family)
			if !ok {
				return skip("%q is not a destination", v)
			}
			rt.to = p
		default:
			p, ok := routePrefix(w, r.family)
			if !ok || rt.to.IsValid() {
				return skip("%s: an option of ip route that vrrpd does not set", w)
			}
			rt.to = p
		}
	}
	switch {
	case !rt.to.IsValid():
		return skip("no destination; keepalived refuses the line")
	case rt.via.IsValid() && rt.via.Is4() != rt.to.Addr().Is4():
		return skip("the gateway and the destination are of different families")
	case rt.typ == "" && !rt.via.IsValid() && rt.dev == "":
		return skip("no via and no dev: vrrpd needs one of them")
	case rt.typ != "" && (rt.via.IsValid() || rt.dev != ""):
		return skip("a %s route has no gateway or device", rt.typ)
	case rt.onlink && !rt.via.IsValid():
		return skip("onlink without a gateway")
	}
	return rt, true
}

// virtualRules reads a virtual_rules block, one rule a line.
func (r *instanceReader) virtualRules(n *node) {
	for _, c := range n.children {
		if ru, ok := r.virtualRule(c); ok {
			r.out.rules = append(r.out.rules, ru)
		}
	}
}

// virtualRule reads one line of virtual_rules, as ip rule add takes it.
func (r *instanceReader) virtualRule(c *node) (outRule, bool) {
	cv := r.cv
	ru := outRule{pos: c.pos}
	words := c.words
	skip := func(format string, args ...any) (outRule, bool) {
		cv.rep.skip(c.pos, "virtual_rules "+strings.Join(words, " "), format, args...)
		return outRule{}, false
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		v := ""
		switch w {
		case "from", "to", "table", "lookup", "priority", "preference", "pref", "iif", "dev", "oif", "fwmark":
			if i+1 >= len(words) {
				return skip("%s needs a value; keepalived refuses the line", w)
			}
			i++
			v = words[i]
		}
		switch w {
		case "from", "to":
			p, ok := routePrefix(v, r.family)
			if !ok {
				return skip("%s %q is not a prefix", w, v)
			}
			if v == "all" {
				continue
			}
			if w == "from" {
				ru.from = p
			} else {
				ru.to = p
			}
		case "table", "lookup":
			t, ok := tableName(v)
			if !ok {
				return skip("table %s: vrrpd takes a table by number, or main, local, default: write its number", v)
			}
			ru.table = t
		case "priority", "preference", "pref":
			p, err := strconv.ParseUint(v, 10, 32)
			if err != nil || p == 0 {
				return skip("%s %q is not a priority 1..4294967295", w, v)
			}
			ru.priority = int(p)
		case "iif", "dev":
			ru.iif = v
		case "oif":
			ru.oif = v
		case "fwmark":
			m, k, _ := strings.Cut(v, "/")
			if _, err := strconv.ParseUint(m, 0, 32); err != nil {
				return skip("fwmark %q is not a mark", v)
			}
			if k != "" {
				if _, err := strconv.ParseUint(k, 0, 32); err != nil {
					return skip("fwmark %q has no valid mask", v)
				}
			}
			ru.fwmark = v
		case "not":
			ru.invert = true
		case "blackhole", "unreachable", "prohibit":
			ru.action = w
		case "no_track":
			cv.rep.change(c.pos, "virtual_rules no_track", "vrrpd never puts back a rule someone deleted before the next "+
				"takeover, with or without no_track")
		default:
			return skip("%s: an option of ip rule that vrrpd does not set", w)
		}
	}
	switch {
	case ru.from.IsValid() && ru.to.IsValid() && ru.from.Addr().Is4() != ru.to.Addr().Is4():
		return skip("from and to are of different families")
	case ru.action == "" && ru.table == "":
		return skip("no table and no action; keepalived refuses the line")
	case ru.action != "" && ru.table != "":
		return skip("a %s rule looks up no table", ru.action)
	}
	return ru, true
}

// routeNodes writes routes as vrrpd's routes: list.
func routeNodes(routes []outRoute) *yaml.Node {
	l := list(false)
	for _, rt := range routes {
		m := mapping(true)
		to := rt.to.String()
		if rt.to.Bits() == 0 {
			to = "default"
		}
		set(m, "to", str(to), "")
		if rt.via.IsValid() {
			set(m, "via", str(rt.via.String()), "")
		}
		if rt.dev != "" {
			set(m, "interface", str(rt.dev), "")
		}
		if rt.src.IsValid() {
			set(m, "source", str(rt.src.String()), "")
		}
		if rt.table != "" && rt.table != "main" {
			set(m, "table", tableNode(rt.table), "")
		}
		if rt.hasMetric {
			set(m, "metric", integer(rt.metric), "")
		}
		if rt.typ != "" {
			set(m, "type", str(rt.typ), "")
		}
		if rt.scope != "" && rt.scope != "global" {
			set(m, "scope", str(rt.scope), "")
		}
		if rt.onlink {
			set(m, "onlink", boolean(true), "")
		}
		l.Content = append(l.Content, m)
	}
	return l
}

// ruleNodes writes rules as vrrpd's rules: list.
func ruleNodes(rules []outRule) *yaml.Node {
	l := list(false)
	for _, ru := range rules {
		m := mapping(true)
		if ru.from.IsValid() {
			set(m, "from", str(ru.from.String()), "")
		}
		if ru.to.IsValid() {
			set(m, "to", str(ru.to.String()), "")
		}
		if ru.table != "" {
			set(m, "table", tableNode(ru.table), "")
		}
		if ru.priority != 0 {
			set(m, "priority", integer(ru.priority), "")
		}
		if ru.iif != "" {
			set(m, "iif", str(ru.iif), "")
		}
		if ru.oif != "" {
			set(m, "oif", str(ru.oif), "")
		}
		if ru.fwmark != "" {
			set(m, "fwmark", str(ru.fwmark), "")
		}
		if ru.invert {
			set(m, "invert", boolean(true), "")
		}
		if ru.action != "" {
			set(m, "action", str(ru.action), "")
		}
		l.Content = append(l.Content, m)
	}
	return l
}

// tableNode writes a table: a number, or its name.
func tableNode(t string) *yaml.Node {
	if v, err := strconv.Atoi(t); err == nil {
		return integer(v)
	}
	return str(t)
}
