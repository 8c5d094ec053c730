package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// BGP defaults and bounds.
const (
	// DefaultHoldTime is short so that a hung vrrpd loses its routes within seconds; a
	// dead one loses them at once, its kernel closing the session.
	DefaultHoldTime = 9 * time.Second
	// MinHoldTime is the least hold time RFC 4271 section 4.2 allows, other than 0.
	MinHoldTime = 3 * time.Second
	// DefaultDrain is how long a graceful stop announces the graceful-shutdown
	// community before it withdraws.
	DefaultDrain = 2 * time.Second
	// MaxDrain keeps a graceful stop within the daemon's stop timeout.
	MaxDrain = 10 * time.Second
	// DefaultBGPPort is the port peers are reached on.
	DefaultBGPPort = 179
)

// BGP is the `bgp:` section: vrrpd speaks BGP to upstream routers and announces each
// route's prefixes while its condition holds, so that a dead vrrpd is a dead session and
// its routes are gone. Nil when the file has no bgp section.
type BGP struct {
	ASN      uint32
	RouterID netip.Addr
	// HoldTime is proposed to every peer; the session uses the lower of the two.
	HoldTime time.Duration
	// Drain is how long a graceful stop announces the routes with the graceful-shutdown
	// community (RFC 8326) before it withdraws them; 0 withdraws at once.
	Drain  time.Duration
	Peers  []BGPPeer
	Routes []Route
	Line   int
}

// BGPPeer is a router vrrpd opens a session to. IPv4 prefixes go to IPv4 peers, IPv6
// prefixes to IPv6 peers.
type BGPPeer struct {
	Address netip.Addr
	ASN     uint32
	// Port is the peer's BGP port, 179 by default.
	Port int
	// PasswordFile holds the TCP MD5 password (RFC 2385), read when the file is loaded
	// into Password; its trailing newline is not part of it.
	PasswordFile string
	Password     string
	// BFD, when not nil, runs a BFD session (RFC 5880, 5881) with the peer.
	BFD  *BFD
	Line int
}

// BFD is the BFD timing of a peer: control packets every Interval, the session down
// after Multiplier of them are missed.
type BFD struct {
	Interval   time.Duration
	Multiplier int
}

// Route is a set of prefixes announced together while a condition holds.
type Route struct {
	Name     string
	Prefixes []netip.Prefix
	// AddressInterface, when set, gets each prefix's address (as /32 or /128) before
	// the first announce, and loses it after the last withdraw.
	AddressInterface string
	// When says which trackers must pass; an empty condition always holds.
	When Condition
	// UpDelay is how long the condition must hold before the prefixes are announced;
	// they are withdrawn as soon as it fails.
	UpDelay time.Duration
	// OnFailure is what happens to the prefixes while the condition fails.
	OnFailure OnFailure
	// Communities are added to every announce, as 32-bit values (ASN<<16 | value).
	Communities []uint32
	// OnlyWhenMaster, when set, names a VRRP instance: the prefixes are announced only
	// while it is MASTER.
	OnlyWhenMaster string
	Line           int
}

// OnFailure is what a route does while its condition fails: withdraw its prefixes, or
// keep them announced as a last resort, worse by MED and AS path length, so that
// traffic still flows when every node fails.
type OnFailure struct {
	Withdraw bool
	MED      uint32
	Prepend  int
}

// String returns the setting as the file writes it.
func (f OnFailure) String() string {
	if f.Withdraw {
		return "withdraw"
	}
	return fmt.Sprintf("{med: %d, prepend: %d}", f.MED, f.Prepend)
}

// Condition is a route's `when:`: all of Items must pass, or with Any at least one.
type Condition struct {
	Any   bool
	Items []ConditionItem
}

// ConditionItem names a tracker by the section that defines it ("scripts",
// "processes", "files", "haproxy") or "interfaces", and for an haproxy check
// optionally one backend or frontend of its rule.
type ConditionItem struct {
	Section string
	Name    string
	Object  *HAProxyObject
}

// String returns the item as written: haproxy:lb/b:be_app, processes:haproxy.
func (c ConditionItem) String() string {
	s := c.Section + ":" + c.Name
	if c.Object != nil {
		s += "/" + c.Object.String()
	}
	return s
}

// String returns the condition in the form ParseCondition reads.
func (c Condition) String() string {
	items := make([]string, len(c.Items))
	for i, it := range c.Items {
		items[i] = it.String()
	}
	if len(items) == 1 && !c.Any {
		return items[0]
	}
	op := "all"
	if c.Any {
		op = "any"
	}
	return op + "(" + strings.Join(items, ", ") + ")"
}

// ErrCondition is wrapped by the errors of ParseCondition.
var ErrCondition = errors.New("bad condition")

// conditionSections are the sections an item may name, as under track:.
var conditionSections = []string{"scripts", "interfaces", "processes", "files", "haproxy"}

// ParseCondition reads a route's condition: one item, or all(...) or any(...) of
// items, each SECTION:NAME (scripts:chk, interfaces:eth1, processes:haproxy,
// files:maint, haproxy:lb) or, for one backend or frontend of an haproxy check's
// rule, haproxy:NAME/b:BACKEND or haproxy:NAME/f:FRONTEND. Conditions do not nest.
func ParseCondition(s string) (Condition, error) {
	s = strings.TrimSpace(s)
	var c Condition
	inner, list := s, false
	for _, op := range []string{"all", "any"} {
		if rest, ok := strings.CutPrefix(s, op); ok && strings.HasPrefix(strings.TrimSpace(rest), "(") {
			rest = strings.TrimSpace(rest)
			if !strings.HasSuffix(rest, ")") {
				return c, fmt.Errorf("%w: %s( is not closed by )", ErrCondition, op)
			}
			inner, list, c.Any = rest[1:len(rest)-1], true, op == "any"
			break
		}
	}
	if !list {
		if op, _, ok := strings.Cut(s, "("); ok {
			return c, fmt.Errorf("%w: %q is not an operator: write all(...) or any(...)", ErrCondition, strings.TrimSpace(op))
		}
	}
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(inner, ",") {
		it, err := parseConditionItem(strings.TrimSpace(item))
		if err != nil {
			return c, err
		}
		if seen[it.String()] {
			return c, fmt.Errorf("%w: %v is listed twice", ErrCondition, it)
		}
		seen[it.String()] = true
		c.Items = append(c.Items, it)
	}
	return c, nil
}

func parseConditionItem(s string) (ConditionItem, error) {
	section, rest, ok := strings.Cut(s, ":")
	switch {
	case s == "":
		return ConditionItem{}, fmt.Errorf("%w: an item is empty", ErrCondition)
	case strings.ContainsAny(s, "()"):
		return ConditionItem{}, fmt.Errorf("%w: %q: conditions do not nest", ErrCondition, s)
	case !ok:
		return ConditionItem{}, fmt.Errorf("%w: %q has no section: write SECTION:NAME, such as processes:%s", ErrCondition, s, s)
	case !slices.Contains(conditionSections, section):
		hint := ""
		if c := closest(section, conditionSections); c != "" {
			hint = " (did you mean " + c + "?)"
		}
		return ConditionItem{}, fmt.Errorf("%w: %q: %q is not one of %s%s", ErrCondition, s, section, strings.Join(conditionSections, ", "), hint)
	}
	it := ConditionItem{Section: section, Name: rest}
	if name, obj, ok := strings.Cut(rest, "/"); ok {
		if section != "haproxy" {
			return ConditionItem{}, fmt.Errorf("%w: %q: only haproxy items name a backend or frontend", ErrCondition, s)
		}
		o, err := parseHAProxyObject(obj)
		if err != nil {
			return ConditionItem{}, fmt.Errorf("%w: %q: %w", ErrCondition, s, err)
		}
		it.Name, it.Object = name, &o
	}
	if it.Name == "" || strings.ContainsAny(it.Name, " \t") {
		return ConditionItem{}, fmt.Errorf("%w: %q has no name", ErrCondition, s)
	}
	return it, nil
}

// Keys of the bgp section, in the order the documentation lists them. Read only.
var (
	bgpKeys       = []string{"asn", "router_id", "hold_time", "drain", "peers", "routes"}
	bgpPeerKeys   = []string{"address", "asn", "port", "password_file", "bfd"}
	bfdKeys       = []string{"interval", "multiplier"}
	routeKeys     = []string{"name", "prefixes", "address", "when", "up_delay", "on_failure", "communities", "only_when_master"}
	routeAddrKeys = []string{"interface"}
	onFailureKeys = []string{"med", "prepend"}
)

// bgp reads the bgp section; nil when the file has none.
func (p *parser) bgp(n *yaml.Node) *BGP {
	if n == nil || isNull(n) {
		return nil
	}
	const path = "bgp"
	m := p.mapping(n, path, bgpKeys)
	b := &BGP{HoldTime: DefaultHoldTime, Drain: DefaultDrain, Line: n.Line}
	if v := m.values["asn"]; v != nil {
		b.ASN = p.asn(v, path+".asn")
	} else {
		p.errorf(path+".asn", "write asn: 65010 (a private ASN, 64512..65534, unless you own one)", "bgp needs asn, this node's AS number")
	}
	if v := m.values["router_id"]; v != nil {
		if s, ok := p.str(v, path+".router_id"); ok {
			a, err := netip.ParseAddr(s)
			if err != nil || !a.Is4() || a.IsUnspecified() {
				p.errorf(path+".router_id", "write a non-zero IPv4 address, usually the node's own", "%q is not an IPv4 address", s)
			} else {
				b.RouterID = a
			}
		}
	} else {
		p.errorf(path+".router_id", "write router_id: the node's IPv4 address", "bgp needs router_id, unique among the routers")
	}
	if v := m.values["hold_time"]; v != nil {
		if d, ok := p.duration(v, path+".hold_time", span{lo: MinHoldTime, hi: 65535 * time.Second}); ok {
			if d%time.Second != 0 {
				p.errorf(path+".hold_time", "write whole seconds", "%v: BGP counts the hold time in seconds", d)
			} else {
				b.HoldTime = d
			}
		}
	}
	if v := m.values["drain"]; v != nil {
		b.Drain, _ = p.duration(v, path+".drain", span{lo: 100 * time.Millisecond, hi: MaxDrain, zero: true})
	}
	for i, it := range p.sequence(m.values["peers"], path+".peers") {
		b.Peers = append(b.Peers, p.bgpPeer(it, fmt.Sprintf("%s.peers[%d]", path, i)))
	}
	if len(b.Peers) == 0 && !p.failed(path+".peers") {
		p.errorf(path+".peers", "write peers: [{address: 192.0.2.1, asn: 65000}]", "bgp needs at least one peer")
	}
	for i, it := range p.sequence(m.values["routes"], path+".routes") {
		b.Routes = append(b.Routes, p.route(it, fmt.Sprintf("%s.routes[%d]", path, i)))
	}
	if len(b.Routes) == 0 && !p.failed(path+".routes") {
		p.errorf(path+".routes", "write routes: [{name: web, prefixes: [198.51.100.10/32], when: ...}]", "bgp needs at least one route")
	}
	return b
}

// asn reads a 4-byte AS number other than 0 and AS_TRANS (RFC 6793).
func (p *parser) asn(n *yaml.Node, path string) uint32 {
	v, ok := p.integer(n, path, 1, math.MaxUint32)
	if ok && v == 23456 {
		p.errorf(path, "", "23456 is AS_TRANS, which no router may use as its AS (RFC 6793)")
		return 0
	}
	return uint32(v)
}

func (p *parser) bgpPeer(n *yaml.Node, path string) BGPPeer {
	peer := BGPPeer{Port: DefaultBGPPort, Line: n.Line}
	m := p.mapping(n, path, bgpPeerKeys)
	if v := m.values["address"]; v != nil {
		peer.Address, _ = p.addr(v, path+".address")
	} else {
		p.errorf(path+".address", "write address: the router's address on the shared link", "a peer needs address")
	}
	if v := m.values["asn"]; v != nil {
		peer.ASN = p.asn(v, path+".asn")
	} else {
		p.errorf(path+".asn", "write asn: the router's AS number", "a peer needs asn")
	}
	if v := m.values["port"]; v != nil {
		peer.Port, _ = p.integer(v, path+".port", 1, 65535)
	}
	if v := m.values["password_file"]; v != nil {
		if s, ok := p.str(v, path+".password_file"); ok {
			p.passwordFile(&peer, s, path+".password_file")
		}
	}
	if v := m.values["bfd"]; v != nil {
		bm := p.mapping(v, path+".bfd", bfdKeys)
		bfd := &BFD{Interval: 300 * time.Millisecond, Multiplier: 3}
		if v := bm.values["interval"]; v != nil {
			if d, ok := p.duration(v, path+".bfd.interval", span{lo: MinTimer, hi: time.Minute}); ok {
				bfd.Interval = d
			}
		}
		if v := bm.values["multiplier"]; v != nil {
			if k, ok := p.integer(v, path+".bfd.multiplier", 1, 255); ok {
				bfd.Multiplier = k
			}
		}
		peer.BFD = bfd
	}
	return peer
}

// maxPassword is the longest TCP MD5 key Linux takes (TCP_MD5SIG_MAXKEYLEN).
const maxPassword = 80

// passwordFile reads a peer's TCP MD5 password.
func (p *parser) passwordFile(peer *BGPPeer, s, path string) {
	if !filepath.IsAbs(s) {
		p.errorf(path, "", "%q is not an absolute path", s)
		return
	}
	b, err := os.ReadFile(s)
	if err != nil {
		p.errorf(path, "create it, readable by root only (mode 0600)", "cannot read the password: %v", err)
		return
	}
	pw := strings.TrimRight(string(b), "\r\n")
	switch {
	case pw == "":
		p.errorf(path, "", "%s is empty", s)
	case len(pw) > maxPassword:
		p.errorf(path, "", "the password in %s is %d bytes long; Linux takes at most %d", s, len(pw), maxPassword)
	case strings.ContainsAny(pw, "\r\n"):
		p.errorf(path, "write the password on one line", "%s holds more than one line", s)
	default:
		peer.PasswordFile, peer.Password = s, pw
	}
}

func (p *parser) route(n *yaml.Node, path string) Route {
	r := Route{OnFailure: OnFailure{Withdraw: true}, Line: n.Line}
	m := p.mapping(n, path, routeKeys)
	if v := m.values["name"]; v != nil {
		r.Name, _ = p.name(v, path+".name")
	} else {
		p.errorf(path+".name", "write name: web", "a route needs a name")
	}
	for i, it := range p.sequence(m.values["prefixes"], path+".prefixes") {
		ipath := fmt.Sprintf("%s.prefixes[%d]", path, i)
		// A prefix in error stays as the zero Prefix, so that the others keep their
		// index in messages.
		pfx, ok := p.prefix(it, ipath)
		if ok && pfx.Masked() != pfx {
			p.errorf(ipath, "write "+pfx.Masked().String(), "%v has host bits set", pfx)
			ok = false
		}
		if !ok {
			pfx = netip.Prefix{}
		}
		r.Prefixes = append(r.Prefixes, pfx)
	}
	if len(r.Prefixes) == 0 && !p.failed(path+".prefixes") {
		p.errorf(path+".prefixes", "write prefixes: [198.51.100.10/32]", "a route needs prefixes")
	}
	if v := m.values["address"]; v != nil {
		am := p.mapping(v, path+".address", routeAddrKeys)
		if iv := am.values["interface"]; iv != nil {
			r.AddressInterface, _ = p.ifname(iv, path+".address.interface")
		} else {
			p.errorf(path+".address.interface", "write address: {interface: lo}", "address needs interface")
		}
	}
	if v := m.values["when"]; v != nil {
		if s, ok := p.str(v, path+".when"); ok {
			c, err := ParseCondition(s)
			if err != nil {
				p.errorf(path+".when", "write SECTION:NAME, all(a, b) or any(a, b), such as all(haproxy:lb/b:be_app, processes:haproxy)", "%v", err)
			}
			r.When = c
		}
	}
	if v := m.values["up_delay"]; v != nil {
		r.UpDelay, _ = p.duration(v, path+".up_delay", delay)
	}
	if v := m.values["on_failure"]; v != nil {
		r.OnFailure = p.onFailure(v, path+".on_failure")
	}
	for i, it := range p.sequence(m.values["communities"], path+".communities") {
		if c, ok := p.community(it, fmt.Sprintf("%s.communities[%d]", path, i)); ok {
			r.Communities = append(r.Communities, c)
		}
	}
	if v := m.values["only_when_master"]; v != nil {
		r.OnlyWhenMaster, _ = p.name(v, path+".only_when_master")
	}
	return r
}

func (p *parser) onFailure(n *yaml.Node, path string) OnFailure {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "withdraw" {
			p.mark(path, n)
			p.errorf(path, "write withdraw, or {med: 1000, prepend: 2} to keep a last-resort path", "%s is neither withdraw nor a mapping", describe(n))
		}
		return OnFailure{Withdraw: true}
	}
	m := p.mapping(n, path, onFailureKeys)
	var f OnFailure
	if v := m.values["med"]; v != nil {
		if med, ok := p.integer(v, path+".med", 0, math.MaxUint32); ok {
			f.MED = uint32(med)
		}
	}
	if v := m.values["prepend"]; v != nil {
		f.Prepend, _ = p.integer(v, path+".prepend", 0, 10)
	}
	if m.values["med"] == nil && m.values["prepend"] == nil {
		p.errorf(path, "write {med: 1000, prepend: 2}", "on_failure needs med or prepend, or write withdraw")
		return OnFailure{Withdraw: true}
	}
	return f
}

// community reads a standard community written ASN:VALUE (RFC 1997).
func (p *parser) community(n *yaml.Node, path string) (uint32, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return 0, false
	}
	hi, lo, ok := strings.Cut(s, ":")
	a, errA := strconv.ParseUint(hi, 10, 16)
	b, errB := strconv.ParseUint(lo, 10, 16)
	if !ok || errA != nil || errB != nil {
		p.errorf(path, "write ASN:VALUE with two numbers 0..65535, such as \"65010:100\"", "%q is not a community", s)
		return 0, false
	}
	return uint32(a)<<16 | uint32(b), true
}

// validateBGP checks the bgp section against the rest of the file: the trackers and
// instances its routes name, and names and prefixes used twice. Trackers a route
// follows count as tracked.
func validateBGP(r *reporter, cfg *Config, defs []defined, tracked map[string]map[string]bool) {
	b := cfg.BGP
	if b == nil {
		return
	}
	peers := make(map[netip.Addr]int)
	for i, peer := range b.Peers {
		path := fmt.Sprintf("bgp.peers[%d]", i)
		if !peer.Address.IsValid() {
			continue
		}
		if first, dup := peers[peer.Address]; dup {
			r.errorf(path+".address", "list each router once", "%v is already bgp.peers[%d]", peer.Address, first)
		}
		peers[peer.Address] = i
	}
	vips := make(map[netip.Addr]string)
	for _, in := range cfg.Instances {
		for _, v := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
			vips[v.Prefix.Addr()] = in.Name
		}
	}
	names := make(map[string]int)
	announced := make(map[netip.Prefix]string)
	for i, rt := range b.Routes {
		path := fmt.Sprintf("bgp.routes[%d]", i)
		if first, dup := names[rt.Name]; dup && rt.Name != "" {
			r.errorf(path+".name", "give each route its own name", "%s is already the name of bgp.routes[%d]", rt.Name, first)
		}
		names[rt.Name] = i
		for j, pfx := range rt.Prefixes {
			if !pfx.IsValid() {
				continue // reported by the parser
			}
			ppath := fmt.Sprintf("%s.prefixes[%d]", path, j)
			if other, dup := announced[pfx]; dup {
				r.errorf(ppath, "announce each prefix from one route", "%v is also in route %s", pfx, other)
			}
			announced[pfx] = rt.Name
			if !hasPeerOfFamily(b.Peers, pfx.Addr().Is4()) {
				r.errorf(ppath, "add a peer of the same family: IPv4 prefixes go to IPv4 peers, IPv6 ones to IPv6 peers", "no peer could carry %v", pfx)
			}
			if in, ok := vips[pfx.Addr()]; ok && rt.AddressInterface != "" {
				r.errorf(ppath, "let either the route or the instance manage the address", "%v is also a VIP of instance %s", pfx.Addr(), in)
			}
		}
		if rt.OnlyWhenMaster != "" && !slices.ContainsFunc(cfg.Instances, func(in Instance) bool { return in.Name == rt.OnlyWhenMaster }) {
			hint := "name an instance of this file"
			if s := closest(rt.OnlyWhenMaster, instanceNames(cfg.Instances)); s != "" {
				hint = "did you mean " + s + "?"
			}
			r.errorf(path+".only_when_master", hint, "no instance %s", rt.OnlyWhenMaster)
		}
		for _, it := range rt.When.Items {
			validateConditionItem(r, cfg, it, path+".when", defs, tracked)
		}
	}
}

func hasPeerOfFamily(peers []BGPPeer, v4 bool) bool {
	return slices.ContainsFunc(peers, func(p BGPPeer) bool { return p.Address.IsValid() && p.Address.Is4() == v4 })
}

func validateConditionItem(r *reporter, cfg *Config, it ConditionItem, path string, defs []defined, tracked map[string]map[string]bool) {
	i := slices.IndexFunc(defs, func(d defined) bool { return d.key == it.Section })
	if i < 0 {
		return // interfaces are checked on the machine
	}
	d := defs[i]
	tracked[d.key][it.Name] = true
	if !slices.Contains(d.names, it.Name) {
		hint := fmt.Sprintf("define it under %s:", d.key)
		if s := closest(it.Name, d.names); s != "" {
			hint = "did you mean " + s + "?"
		}
		r.errorf(path, hint, "%v: no %s %s under %s:", it, d.what, it.Name, d.key)
		return
	}
	if it.Object == nil {
		return
	}
	h := cfg.HAProxy[slices.IndexFunc(cfg.HAProxy, func(h HAProxy) bool { return h.Name == it.Name })]
	if !slices.Contains(h.Rule.Objects, *it.Object) {
		r.errorf(path, fmt.Sprintf("add %v to the rule of haproxy.%s, or name the check alone", *it.Object, it.Name),
			"%v: %v is not in the rule of haproxy check %s (%v)", it, *it.Object, it.Name, h.Rule)
	}
}
