package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vrrpd/vrrpd/realtime"
	"github.com/vrrpd/vrrpd/vrrp"
)

// Load reads, parses and validates the file at path. When the file has problems it
// returns a *Problems error listing every one; warnings alone do not fail it and are in
// the returned Config's Warnings. An error reading the file is returned wrapped.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes; name is used in messages and as Config.File. A node name that
// the file leaves out is the hostname.
func Parse(name string, data []byte) (*Config, error) {
	p := &parser{reporter{file: name, pos: make(map[string]position)}}
	var cfg *Config
	if root := p.document(data); root != nil {
		cfg = p.config(root)
		cfg.File = name
		cfg.pos = p.pos
		validate(cfg, &p.reporter)
	}
	problems := sortProblems(p.list)
	if problems.HasErrors() || cfg == nil {
		return nil, &problems
	}
	if len(problems) > 0 {
		cfg.Warnings = problems
	}
	return cfg, nil
}

// Keys each mapping knows, in the order the documentation lists them. Read only.
var (
	topKeys    = []string{"node", "socket", "socket_group", "state_file", "script_user", "realtime_priority", "lock_memory", "metrics", "defaults", "scripts", "processes", "files", "haproxy", "bfd", "instances", "sync_groups", "bgp"}
	sharedKeys = []string{"version", "advert_interval", "preempt", "preempt_delay", "accept",
		"down_timer_adverts", "lower_prio_no_advert", "make_before_break", "fast_handover", "heal_split_brain",
		"startup_grace", "checksum", "garp"}
	instanceKeys = append([]string{"name", "interface", "vrid", "priority", "source", "unicast", "auth",
		"vips", "excluded_vips", "track", "notify", "group", "track_interface", "track_source", "promote_secondaries", "routes", "rules", "vmac"}, sharedKeys...)
	metricsKeys    = []string{"listen", "path"}
	garpKeys       = []string{"repeat", "delay", "refresh", "refresh_repeat", "reply", "refresh_other_interfaces"}
	scriptKeys     = []string{"exec", "interval", "timeout", "fall", "rise", "user", "init_fail"}
	processKeys    = []string{"match", "cmdline", "min", "max", "delay"}
	fileKeys       = []string{"path"}
	haproxyKeys    = []string{"socket", "interval", "timeout", "rule"}
	bfdSessionKeys = []string{"neighbor", "source", "interface", "min_rx", "min_tx", "idle_tx", "multiplier", "passive"}
	unicastKeys    = []string{"source", "peers", "check_source"}
	peerKeys       = []string{"address", "priority"}
	authKeys       = []string{"type", "password"}
	vipKeys        = []string{"address", "interface", "label"}
	trackKeys      = []string{"scripts", "interfaces", "processes", "files", "haproxy", "bfd"}
	trackRefKeys   = []string{"name", "weight", "reverse"}
	// Interfaces also take delays against flapping.
	trackIfKeys = []string{"name", "weight", "reverse", "down_delay", "up_delay"}
	notifyKeys  = []string{"master", "backup", "fault", "stop", "any", "master_rx_lower_pri", "priority", "deleted"}
)

// keepalivedKeys turns a keepalived keyword written by habit into a hint. Like the key
// lists above, it is a table that nothing modifies.
var keepalivedKeys = map[string]string{
	"advert_int":                 "write advert_interval, with a unit: 1s",
	"virtual_router_id":          "did you mean vrid?",
	"virtual_ipaddress":          "did you mean vips?",
	"virtual_ipaddress_excluded": "did you mean excluded_vips?",
	"virtual_routes":             "did you mean routes?",
	"use_vmac":                   "write vmac: true, or vmac: {name: vrrp.51}",
	"vmac_xmit_base":             "write vmac: {xmit_base: true}",
	"use_ipvlan":                 "write vmac: {kind: ipvlan}",
	"virtual_rules":              "did you mean rules?",
	"nopreempt":                  "write preempt: false",
	"unicast_src_ip":             "write unicast: {source: ...}",
	"unicast_peer":               "write unicast: {peers: [...]}",
	"mcast_src_ip":               "did you mean source?",
	"garp_master_delay":          "write garp: {delay: 5s}",
	"garp_master_repeat":         "write garp: {repeat: 5}",
	"garp_master_refresh":        "write garp: {refresh: 60s}",
	"garp_master_refresh_repeat": "write garp: {refresh_repeat: 1}",
	"track_script":               "write track: {scripts: [{name: ..., weight: ...}]}",
	"track_interface":            "write track: {interfaces: [{name: ..., weight: ...}]}",
	"track_process":              "write track: {processes: [{name: ..., weight: ...}]}",
	"track_file":                 "write track: {files: [{name: ..., weight: ...}]}",
	"notify_master":              "write notify: {master: [...]}",
	"notify_backup":              "write notify: {backup: [...]}",
	"notify_fault":               "write notify: {fault: [...]}",
	"notify_stop":                "write notify: {stop: [...]}",
	"notify_master_rx_lower_pri": "write notify: {master_rx_lower_pri: [...]}",
	"notify_priority_changes":    "write notify: {priority: [...]}",
	"notify_deleted":             "write notify: {deleted: true}",
	"mcast_dst_ip":               "did you mean group?",
	"dont_track_primary":         "write track_interface: false",
	"track_src_ip":               "write track_source: true",
	"garp_extra_if":              "write garp: {refresh_other_interfaces: 100s}",
	"higher_prio_send_advert":    "write heal_split_brain: true (the default)",
	"unicast_fault_no_peer":      "write unicast: {peers: []}: an instance without peers stays in FAULT",
	"authentication":             "did you mean auth?",
	"auth_type":                  "did you mean type?",
	"auth_pass":                  "did you mean password?",
	"script":                     "did you mean exec? (a list: [/path/to/check, arg])",
	"vrrp_version":               "did you mean version?",
	"weight":                     "set the weight where an instance tracks the script: track: {scripts: [{name: ..., weight: -50}]}",
	"vrrp_sync_group":            "write sync_groups: {NAME: {instances: [...]}}",
	"global_tracking":            "write the trackers under the group's track:, with their weights",
	"sync_group_tracking_weight": "remove it: vrrpd applies the weights a sync group's members track",
	"state":                      "vrrpd has no initial state: the highest priority becomes master, and priority 255 makes the address owner",
	"vrrp_script":                "write scripts: {NAME: {exec: [...], interval: 2s}}",
	"vrrp_track_process":         "write processes: {NAME: {match: haproxy}}",
	"vrrp_track_file":            "write files: {NAME: {path: /etc/vrrpd/drain}}",
	"bfd_instance":               "write bfd: {NAME: {neighbor: ...}} at the top level",
	"track_bfd":                  "write track: {bfd: [{name: ..., weight: ...}]}",
	"neighbor_ip":                "did you mean neighbor?",
	"neighbour_ip":               "did you mean neighbor?",
	"source_ip":                  "did you mean source?",
	"quorum":                     "did you mean min?",
	"quorum_max":                 "did you mean max?",
	"full_command":               "write cmdline: true",
	"fork_delay":                 "write delay: 1s (it delays both directions)",
	"terminate_delay":            "write delay: 1s (it delays both directions)",
	"no_accept":                  "remove it: vrrpd always accepts traffic for its VIPs; keepalived drops it with firewall rules vrrpd does not install",
	"strict_mode":                strictHint,
	"vrrp_strict":                strictHint,
	"vrrp_rt_priority":           "write realtime_priority: N at the top level",
	"vrrp_no_swap":               "write lock_memory: true at the top level",
}

// strictHint answers keepalived's strict mode keys.
const strictHint = "vrrpd has no strict mode: write lower_prio_no_advert: true; vrrpd always accepts traffic for its VIPs and installs no firewall rules"

// parser turns the YAML node tree into a Config, reporting every value that is the wrong
// type, out of range or unknown. Rules between values are validate's.
type parser struct {
	reporter
}

// document parses data into its root node, or reports why it cannot.
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || err == nil && len(doc.Content) == 0 {
		p.list = append(p.list, Problem{File: p.file, Line: 1, Message: "the file is empty",
			Hint: "it needs at least instances:, see docs/configuration.md"})
		return nil
	}
	if err != nil {
		p.syntaxError(err, data)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.list = append(p.list, Problem{File: p.file, Line: next.Line, Column: next.Column,
			Message: "a second YAML document", Hint: "vrrpd reads one document per file: remove the ---"})
	case !errors.Is(err, io.EOF):
		p.syntaxError(err, data)
	}
	return doc.Content[0]
}

// syntaxError turns a YAML syntax error into a problem at its line.
func (p *parser) syntaxError(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	hint := "check the indentation and the quoting around this line"
	lines := strings.Split(string(data), "\n")
	for _, l := range []int{line - 1, line} {
		if l >= 1 && l <= len(lines) {
			indent := lines[l-1][:len(lines[l-1])-len(strings.TrimLeft(lines[l-1], " \t"))]
			if strings.Contains(indent, "\t") {
				hint = fmt.Sprintf("line %d is indented with a tab; YAML indents with spaces", l)
			}
		}
	}
	p.list = append(p.list, Problem{File: p.file, Line: line, Message: "YAML syntax: " + msg, Hint: hint})
}

func (p *parser) mark(path string, n *yaml.Node) {
	p.pos[path] = position{line: n.Line, column: n.Column}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows YAML aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

// mapping is a YAML mapping whose keys were checked against the known ones.
type mapping struct {
	keys   map[string]*yaml.Node // key nodes, for their position
	values map[string]*yaml.Node // value nodes, aliases resolved
	order  []string              // keys in file order
}

// mapping reads n as a mapping with the keys in known (any key when known is nil),
// reporting unknown and repeated keys. A missing or empty n is an empty mapping.
func (p *parser) mapping(n *yaml.Node, path string, known []string) mapping {
	m := mapping{keys: make(map[string]*yaml.Node), values: make(map[string]*yaml.Node)}
	if n == nil || isNull(n) {
		return m
	}
	p.mark(path, n)
	if n.Kind != yaml.MappingNode {
		p.errorf(path, "write key: value lines indented under it, or {key: value, ...}", "want keys and values, got %s", describe(n))
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		// Problems with a key are placed at the key, which is not where its path's
		// value is: they bypass the position table.
		kpath, at := join(path, k.Value), position{line: k.Line, column: k.Column}
		switch first, dup := m.keys[k.Value]; {
		case k.Kind != yaml.ScalarNode:
			p.errorAt(at, path, "", "a key must be a plain name, got %s", describe(k))
			continue
		case k.Value == "<<":
			p.errorAt(at, kpath, "put settings shared by instances under defaults:", "YAML merge keys (<<) are not supported")
			continue
		case dup:
			p.errorAt(at, kpath, "remove one", "%s is set twice (first on line %d)", k.Value, first.Line)
			continue
		case known != nil && !slices.Contains(known, k.Value):
			p.errorAt(at, kpath, unknownKeyHint(k.Value, path, known), "unknown key %q", k.Value)
			continue
		}
		m.keys[k.Value], m.values[k.Value] = k, v
		m.order = append(m.order, k.Value)
	}
	return m
}

// unknownKeyHint suggests what an unknown key in the mapping at path may have meant.
func unknownKeyHint(key, path string, known []string) string {
	if path == "defaults" && slices.Contains(instanceKeys, key) {
		return key + " is set in each instance, not under defaults"
	}
	if (key == "down_delay" || key == "up_delay") && strings.Contains(path, ".track.") {
		return key + " applies to tracked interfaces only"
	}
	if hint, ok := keepalivedKeys[key]; ok {
		return hint
	}
	if s := closest(key, known); s != "" {
		return "did you mean " + s + "?"
	}
	return "known keys: " + strings.Join(known, ", ")
}

// closest returns the candidate nearest to s by edit distance when it is near enough to
// be a likely typo, or a candidate s is the start of; "" otherwise.
func closest(s string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" && (bestDist <= 2 || bestDist*3 <= len(best)) {
		return best
	}
	for _, c := range candidates {
		if len(s) >= 3 && strings.HasPrefix(c, s) {
			return c
		}
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b: insertions,
// deletions, substitutions and swaps of adjacent bytes each cost 1.
func editDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j]; three rows are enough.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// scalar reports whether n is a single value, reporting it if not. want names the
// expected value for the message.
func (p *parser) scalar(n *yaml.Node, path, want string) bool {
	p.mark(path, n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return true
	}
	p.errorf(path, "", "want %s, got %s", want, describe(n))
	return false
}

func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	if !p.scalar(n, path, "a string") {
		return "", false
	}
	return n.Value, true
}

// name reads a name that must be non-empty and free of white space: an instance, a
// script, a node.
func (p *parser) name(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	switch {
	case !ok:
	case s == "":
		p.errorf(path, "", "the name is empty")
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		p.errorf(path, "use letters, digits, - and _", "%q contains white space or control characters", s)
	default:
		return s, true
	}
	return s, false
}

// Linux interface names are at most 15 bytes (IFNAMSIZ less the terminating NUL).
const maxIfname = 15

// ifname reads a Linux interface name.
func (p *parser) ifname(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return "", false
	}
	switch {
	case s == "":
		p.errorf(path, "", "the interface name is empty")
	case len(s) > maxIfname:
		p.errorf(path, "", "%q is longer than %d characters, the limit of Linux interface names", s, maxIfname)
	case strings.Contains(s, ":"):
		base, _, _ := strings.Cut(s, ":")
		p.errorf(path, fmt.Sprintf("write interface: %s, and give the VIP a label: {address: ..., label: %s}", base, s),
			"%q is an address label, not an interface", s)
	case s == "." || s == ".." || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '/' || r == 0x7f }):
		p.errorf(path, "", "%q cannot be a Linux interface name", s)
	default:
		return s, true
	}
	return "", false
}

// integer reads a whole number in lo..hi; hi = math.MaxInt means no upper bound.
func (p *parser) integer(n *yaml.Node, path string, lo, hi int) (int, bool) {
	if !p.scalar(n, path, "a whole number") {
		return 0, false
	}
	if n.ShortTag() != "!!int" {
		hint := ""
		if _, err := strconv.Atoi(n.Value); err == nil {
			hint = "remove the quotes"
		}
		p.errorf(path, hint, "%s is not a whole number", describe(n))
		return 0, false
	}
	var v int
	if err := n.Decode(&v); err != nil {
		p.errorf(path, "", "%s is too large", n.Value)
		return 0, false
	}
	switch {
	case v >= lo && v <= hi:
		return v, true
	case hi == math.MaxInt:
		p.errorf(path, "", "%d is below the minimum %d", v, lo)
	default:
		p.errorf(path, "", "%d is out of range %d..%d", v, lo, hi)
	}
	return 0, false
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	if !p.scalar(n, path, "true or false") {
		return false, false
	}
	var v bool
	if n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.errorf(path, "write true or false", "%s is not true or false", describe(n))
		return false, false
	}
	return v, true
}

// span is the values a duration may take: lo..hi, and 0 too when zero is set, where 0
// means none or off. hi = math.MaxInt64 means no maximum.
type span struct {
	lo, hi time.Duration
	zero   bool
}

// The spans of the durations in a file.
var (
	anyDuration = span{lo: 0, hi: math.MaxInt64} // checked later, such as advert_interval
	period      = span{lo: MinTimer, hi: math.MaxInt64}
	delay       = span{lo: MinTimer, hi: math.MaxInt64, zero: true}
)

// duration reads a Go duration such as 100ms or 1s, within sp. A bare number is
// refused: keepalived counts seconds where vrrpd users may think milliseconds.
func (p *parser) duration(n *yaml.Node, path string, sp span) (time.Duration, bool) {
	if !p.scalar(n, path, "a duration such as 1s") {
		return 0, false
	}
	var d time.Duration
	switch n.ShortTag() {
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			p.errorf(path, "write a number with a unit: 100ms, 1s, 1m30s", "%s is not a duration", n.Value)
		} else {
			p.errorf(path, "write "+time.Duration(f*float64(time.Second)).String(), "%s has no unit", n.Value)
		}
		return 0, false
	default:
		var err error
		if d, err = time.ParseDuration(n.Value); err != nil {
			p.errorf(path, "write a number with a unit: 100ms, 1s, 1m30s", "%s is not a duration", describe(n))
			return 0, false
		}
	}
	var least string // the hint below the minimum
	switch {
	case sp.zero && sp.lo > 0:
		least = fmt.Sprintf("write 0s for none, or %v or more", sp.lo)
	case sp.lo > 0:
		least = fmt.Sprintf("write %v or more", sp.lo)
	}
	switch {
	case d > sp.hi:
		p.errorf(path, fmt.Sprintf("write %v or less", sp.hi), "%v is above the maximum %v", d, sp.hi)
	case d < 0:
		p.errorf(path, least, "%v is negative", d)
	case d >= sp.lo || d == 0 && sp.zero:
		return d, true
	default:
		p.errorf(path, least, "%v is below the minimum %v", d, sp.lo)
	}
	return 0, false
}

// addr reads a unicast IP address usable as an advert source or a peer.
func (p *parser) addr(n *yaml.Node, path string) (netip.Addr, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		hint := ""
		if before, _, ok := strings.Cut(s, "/"); ok {
			hint = "write the address without a prefix length: " + before
		}
		p.errorf(path, hint, "%q is not an IP address", s)
		return netip.Addr{}, false
	}
	return a, p.usable(a, path)
}

// prefix reads a VIP: an address with an optional prefix length, /32 or /128 by default.
func (p *parser) prefix(n *yaml.Node, path string) (netip.Prefix, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return netip.Prefix{}, false
	}
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			p.errorf(path, "write an address and a prefix length, such as 192.0.2.100/24 or 2001:db8::100/64", "%q is not an address with a prefix length", s)
			return netip.Prefix{}, false
		}
		return pfx, p.usable(pfx.Addr(), path)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		p.errorf(path, "write an address, such as 192.0.2.100/24 or 2001:db8::100/64", "%q is not an IP address", s)
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), p.usable(a, path)
}

// usable reports whether a can be a VIP, a source or a peer: one host's unicast address.
func (p *parser) usable(a netip.Addr, path string) bool {
	var why string
	switch {
	case a.Zone() != "":
		p.errorf(path, "write "+a.WithZone("").String()+"; the instance's interface is the zone", "%v has a zone", a)
		return false
	case a.Is4In6():
		p.errorf(path, "write "+a.Unmap().String(), "%v is an IPv4-mapped IPv6 address", a)
		return false
	case a.IsUnspecified():
		why = "the unspecified address"
	case a.IsLoopback():
		why = "a loopback address"
	case a.IsMulticast():
		why = "a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		why = "the broadcast address"
	default:
		return true
	}
	p.errorf(path, "", "%v is %s, not one host's address", a, why)
	return false
}

// sequence reads n as a list; a missing or empty n is an empty list.
func (p *parser) sequence(n *yaml.Node, path string) []*yaml.Node {
	if n == nil || isNull(n) {
		return nil
	}
	p.mark(path, n)
	if n.Kind != yaml.SequenceNode {
		hint := "write [a, b] or one \"- item\" per line"
		if n.Kind == yaml.ScalarNode {
			hint = "write [" + n.Value + "]"
		}
		p.errorf(path, hint, "want a list, got %s", describe(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = resolve(it)
	}
	return items
}

// command reads an argv list whose first element is an absolute path. vrrpd runs it
// directly, without a shell or a $PATH search, so a plain string is refused rather
// than split in a way that might differ from what its author meant.
func (p *parser) command(n *yaml.Node, path string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		p.mark(path, n)
		hint := "write a list: [" + strings.Join(strings.Fields(n.Value), ", ") + "]"
		if strings.ContainsAny(n.Value, "|&;<>$`'\"*?(){}") {
			hint = "for shell syntax, write [/bin/sh, -c, '...']"
		}
		p.errorf(path, hint, "a command is a list of arguments, not a string: vrrpd runs it without a shell")
		return nil
	}
	var argv []string
	for i, it := range p.sequence(n, path) {
		s, _ := p.str(it, fmt.Sprintf("%s[%d]", path, i))
		argv = append(argv, s)
	}
	if len(argv) > 0 && !filepath.IsAbs(argv[0]) {
		p.errorf(path+"[0]", fmt.Sprintf("write the full path (`command -v %s` shows it); vrrpd does not search $PATH", argv[0]),
			"%q is not an absolute path", argv[0])
	}
	return argv
}

func (p *parser) config(root *yaml.Node) *Config {
	p.mark("", root)
	top := p.mapping(root, "", topKeys)
	cfg := &Config{Socket: DefaultSocket, SocketGroup: DefaultSocketGroup, StateFile: DefaultStateFile, ScriptUser: DefaultScriptUser}

	if n := top.values["node"]; n != nil {
		cfg.Node, _ = p.name(n, "node")
	} else {
		host, err := os.Hostname()
		if err == nil && host == "" {
			err = errors.New("it is empty")
		}
		if err != nil {
			p.errorf("node", "set node:", "node is not set and the hostname cannot be read: %v", err)
		}
		cfg.Node = host
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"socket", &cfg.Socket}, {"state_file", &cfg.StateFile}} {
		if n := top.values[f.key]; n != nil {
			if s, ok := p.str(n, f.key); ok && !filepath.IsAbs(s) {
				p.errorf(f.key, "", "%q is not an absolute path", s)
			} else if ok {
				*f.dst = s
			}
		}
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"socket_group", &cfg.SocketGroup}, {"script_user", &cfg.ScriptUser}} {
		if n := top.values[f.key]; n != nil {
			if s, ok := p.name(n, f.key); ok {
				*f.dst = s
			}
		}
	}

	if n := top.values["realtime_priority"]; n != nil {
		cfg.RealtimePriority, _ = p.integer(n, "realtime_priority", 0, realtime.MaxPriority)
	}
	if n := top.values["lock_memory"]; n != nil {
		cfg.LockMemory, _ = p.boolean(n, "lock_memory")
	}
	if n := top.values["metrics"]; n != nil {
		cfg.Metrics = p.metrics(top.keys["metrics"], n)
	}

	defaults := p.shared(p.mapping(top.values["defaults"], "defaults", sharedKeys), "defaults")

	scripts := p.mapping(top.values["scripts"], "scripts", nil)
	for _, name := range scripts.order {
		cfg.Scripts = append(cfg.Scripts, p.script(scripts.keys[name], scripts.values[name], cfg.ScriptUser))
	}
	processes := p.mapping(top.values["processes"], "processes", nil)
	for _, name := range processes.order {
		cfg.Processes = append(cfg.Processes, p.process(processes.keys[name], processes.values[name]))
	}
	files := p.mapping(top.values["files"], "files", nil)
	for _, name := range files.order {
		cfg.Files = append(cfg.Files, p.trackFile(files.keys[name], files.values[name]))
	}
	haproxy := p.mapping(top.values["haproxy"], "haproxy", nil)
	for _, name := range haproxy.order {
		cfg.HAProxy = append(cfg.HAProxy, p.haproxy(haproxy.keys[name], haproxy.values[name]))
	}

	sessions := p.mapping(top.values["bfd"], "bfd", nil)
	for _, name := range sessions.order {
		cfg.BFDSessions = append(cfg.BFDSessions, p.bfdSession(sessions.keys[name], sessions.values[name]))
	}

	// Instances are named in paths by name when unique: read the names first.
	var items []*yaml.Node
	for i, it := range p.sequence(top.values["instances"], "instances") {
		if it.Kind != yaml.MappingNode {
			p.mark(fmt.Sprintf("instances[%d]", i), it)
			p.errorf(fmt.Sprintf("instances[%d]", i), "", "want an instance (name: ..., interface: ...), got %s", describe(it))
			continue
		}
		items = append(items, it)
	}
	groups := p.mapping(top.values["sync_groups"], "sync_groups", nil)
	for _, name := range groups.order {
		cfg.SyncGroups = append(cfg.SyncGroups, p.syncGroup(groups.keys[name], groups.values[name]))
	}
	cfg.BGP = p.bgp(top.values["bgp"])
	if len(items) == 0 && cfg.BGP == nil && !p.failed("instances") {
		p.errorf("instances", "see docs/configuration.md; a node that only announces routes needs a bgp section instead", "at least one instance is required")
	}
	names := make([]string, len(items))
	for i, it := range items {
		for j := 0; j+1 < len(it.Content); j += 2 {
			if it.Content[j].Value == "name" {
				names[i] = resolve(it.Content[j+1]).Value
				break
			}
		}
	}
	paths := instancePaths(names)
	lines := make(map[string]int)
	for i, it := range items {
		in := p.instance(it, paths[i], names[i], defaults)
		if line, dup := lines[in.Name]; dup && in.Name != "" {
			p.errorf(paths[i]+".name", "give each instance its own name", "%s is already the name of the instance on line %d", in.Name, line)
		} else {
			lines[in.Name] = in.Line
		}
		cfg.Instances = append(cfg.Instances, in)
	}
	return cfg
}

func (p *parser) script(key, n *yaml.Node, user string) Script {
	path := "scripts." + key.Value
	s := Script{Name: key.Value, Interval: time.Second, Fall: 1, Rise: 1, User: user, Line: key.Line}
	m := p.mapping(n, path, scriptKeys)
	// Problems with the script as a whole are placed at its name.
	p.name(key, path)
	if s.Exec = p.command(m.values["exec"], path+".exec"); len(s.Exec) == 0 && !p.failed(path+".exec") {
		p.errorf(path+".exec", "write exec: [/path/to/check, arg, ...]", "a script needs exec, the command to run")
	}
	if v := m.values["interval"]; v != nil {
		if d, ok := p.duration(v, path+".interval", period); ok {
			s.Interval = d
		}
	}
	s.Timeout = s.Interval
	if v := m.values["timeout"]; v != nil {
		if d, ok := p.duration(v, path+".timeout", period); ok {
			s.Timeout = d
		}
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{"fall", &s.Fall}, {"rise", &s.Rise}} {
		if v := m.values[f.key]; v != nil {
			if i, ok := p.integer(v, path+"."+f.key, 1, math.MaxInt); ok {
				*f.dst = i
			}
		}
	}
	if v := m.values["user"]; v != nil {
		s.User, _ = p.name(v, path+".user")
	}
	if v := m.values["init_fail"]; v != nil {
		s.InitFail, _ = p.boolean(v, path+".init_fail")
	}
	return s
}

func (p *parser) process(key, n *yaml.Node) Process {
	path := "processes." + key.Value
	pr := Process{Name: key.Value, Match: key.Value, Min: 1, Line: key.Line}
	m := p.mapping(n, path, processKeys)
	p.name(key, path)
	if v := m.values["match"]; v != nil {
		switch s, ok := p.str(v, path+".match"); {
		case !ok:
		case s == "":
			p.errorf(path+".match", "write the process name, such as haproxy", "match is empty")
		default:
			pr.Match = s
		}
	}
	if v := m.values["cmdline"]; v != nil {
		pr.Cmdline, _ = p.boolean(v, path+".cmdline")
	}
	if v := m.values["min"]; v != nil {
		pr.Min, _ = p.integer(v, path+".min", 0, math.MaxInt)
	}
	if v := m.values["max"]; v != nil {
		pr.Max, _ = p.integer(v, path+".max", 0, math.MaxInt)
	}
	if v := m.values["delay"]; v != nil {
		pr.Delay, _ = p.duration(v, path+".delay", delay)
	}
	return pr
}

func (p *parser) trackFile(key, n *yaml.Node) File {
	path := "files." + key.Value
	f := File{Name: key.Value, Line: key.Line}
	m := p.mapping(n, path, fileKeys)
	p.name(key, path)
	switch v := m.values["path"]; {
	case v == nil:
		p.errorf(path+".path", "write path: /etc/vrrpd/drain", "a file needs path, the file to read")
	default:
		if s, ok := p.str(v, path+".path"); ok && !filepath.IsAbs(s) {
			p.errorf(path+".path", "write the full path", "%q is not an absolute path", s)
		} else if ok {
			f.Path = filepath.Clean(s)
		}
	}
	return f
}

func (p *parser) haproxy(key, n *yaml.Node) HAProxy {
	path := "haproxy." + key.Value
	h := HAProxy{Name: key.Value, Interval: time.Second, Line: key.Line}
	m := p.mapping(n, path, haproxyKeys)
	p.name(key, path)
	if v := m.values["socket"]; v != nil {
		if s, ok := p.str(v, path+".socket"); ok {
			if err := checkSocket(s); err != nil {
				p.errorf(path+".socket", "write a unix socket path such as /run/haproxy/admin.sock, or host:port such as 127.0.0.1:9999", "%v", err)
			} else {
				h.Socket = s
			}
		}
	} else {
		p.errorf(path+".socket", "write socket: /run/haproxy/admin.sock (HAProxy's stats socket)", "an haproxy check needs socket")
	}
	if v := m.values["interval"]; v != nil {
		if d, ok := p.duration(v, path+".interval", period); ok {
			h.Interval = d
		}
	}
	h.Timeout = h.Interval
	if v := m.values["timeout"]; v != nil {
		if d, ok := p.duration(v, path+".timeout", period); ok {
			h.Timeout = d
		}
	}
	if v := m.values["rule"]; v != nil {
		if s, ok := p.str(v, path+".rule"); ok {
			r, err := ParseHAProxyRule(s)
			if err != nil {
				p.errorf(path+".rule", "write b:BACKEND, f:FRONTEND, all(b:a,b:b) or any(b:a,f:www)", "%v", err)
			}
			h.Rule = r
		}
	} else {
		p.errorf(path+".rule", "write rule: b:BACKEND, or all(b:a,b:b)", "an haproxy check needs rule, the backends and frontends that must be up")
	}
	return h
}

// bfdTimer is the span of a BFD session's min_rx and min_tx: keepalived takes 1 ms to
// 1 s; below MinTimer a loaded node misses its own packets.
var bfdTimer = span{lo: MinTimer, hi: 10 * time.Second}

func (p *parser) bfdSession(key, n *yaml.Node) BFDSession {
	path := "bfd." + key.Value
	b := BFDSession{Name: key.Value, MinRx: DefaultBFDMinRx, MinTx: DefaultBFDMinTx, IdleTx: DefaultBFDIdleTx,
		Multiplier: DefaultBFDMultiplier, Line: key.Line}
	m := p.mapping(n, path, bfdSessionKeys)
	p.name(key, path)
	if v := m.values["neighbor"]; v != nil {
		b.Neighbor, _ = p.addr(v, path+".neighbor")
	} else {
		p.errorf(path+".neighbor", "write neighbor: 192.0.2.1", "a BFD session needs neighbor, the address of its peer")
	}
	if v := m.values["source"]; v != nil {
		b.Source, _ = p.addr(v, path+".source")
	}
	if v := m.values["interface"]; v != nil {
		b.Interface, _ = p.ifname(v, path+".interface")
	}
	for _, f := range []struct {
		key string
		dst *time.Duration
		sp  span
	}{{"min_rx", &b.MinRx, bfdTimer}, {"min_tx", &b.MinTx, bfdTimer}, {"idle_tx", &b.IdleTx, span{lo: time.Second, hi: 10 * time.Second}}} {
		if v := m.values[f.key]; v != nil {
			if d, ok := p.duration(v, path+"."+f.key, f.sp); ok {
				*f.dst = d
			}
		}
	}
	if v := m.values["multiplier"]; v != nil {
		b.Multiplier, _ = p.integer(v, path+".multiplier", 1, 255)
	}
	if v := m.values["passive"]; v != nil {
		b.Passive, _ = p.boolean(v, path+".passive")
	}
	return b
}

// metrics reads the Prometheus endpoint: listen is required, path has a default.
func (p *parser) metrics(key, n *yaml.Node) *Metrics {
	m := p.mapping(n, "metrics", metricsKeys)
	met := &Metrics{Path: DefaultMetricsPath, Line: key.Line}
	if v := m.values["listen"]; v != nil {
		if s, ok := p.str(v, "metrics.listen"); ok {
			if err := checkListen(s); err != nil {
				p.errorf("metrics.listen", "write an address and a port: 127.0.0.1:9650, [::1]:9650, or :9650 for every address", "%v", err)
			} else {
				met.Listen = s
			}
		}
	} else {
		p.mark("metrics.listen", key)
		p.errorf("metrics.listen", "write listen: 127.0.0.1:9650, or remove metrics to leave them off", "metrics needs listen, the address to serve them on")
	}
	if v := m.values["path"]; v != nil {
		if s, ok := p.str(v, "metrics.path"); ok {
			if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, "?# \t") {
				p.errorf("metrics.path", "write a URL path such as /metrics", "%q is not a URL path", s)
			} else {
				met.Path = s
			}
		}
	}
	return met
}

// checkListen checks the address of the metrics endpoint: host:port, the host an IP
// address or empty, the port 1..65535.
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q: the port %q is not 1..65535", s, port)
	}
	if _, err := netip.ParseAddr(host); host != "" && err != nil {
		return fmt.Errorf("%q: %q is not an IP address", s, host)
	}
	return nil
}

// checkSocket checks an HAProxy stats socket address: an absolute path, or host:port
// with a port number.
func checkSocket(s string) error {
	if strings.HasPrefix(s, "/") {
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is neither an absolute path nor host:port", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || host == "" {
		return fmt.Errorf("%q is not host:port with a port 1..65535", s)
	}
	return nil
}

// setting is one value of a key that defaults may set and an instance may override.
type setting[T any] struct {
	value T
	set   bool // written in the file, with a valid value
	pos   position
}

// or returns s when it is set and d otherwise, marked as inherited from defaults.
func (s setting[T]) or(d setting[T]) setting[T] {
	if s.set {
		return s
	}
	d.pos.fromDefaults = true
	return d
}

// get returns the value, or builtin when the key was not set.
func (s setting[T]) get(builtin T) T {
	if s.set {
		return s.value
	}
	return builtin
}

func newSetting[T any](v T, n *yaml.Node) setting[T] {
	return setting[T]{value: v, set: true, pos: position{line: n.Line, column: n.Column}}
}

// shared holds the keys that defaults and instances both have.
type shared struct {
	version           setting[vrrp.Version]
	advertInterval    setting[time.Duration]
	preempt           setting[bool]
	preemptDelay      setting[time.Duration]
	downTimerAdverts  setting[int]
	lowerPrioNoAdvert setting[bool]
	makeBeforeBreak   setting[bool]
	fastHandover      setting[bool]
	healSplitBrain    setting[bool]
	startupGrace      setting[time.Duration]
	checksum          setting[vrrp.ChecksumForm]
	garpRepeat        setting[int]
	garpDelay         setting[time.Duration]
	garpRefresh       setting[time.Duration]
	garpRefreshRepeat setting[int]
	garpReply         setting[bool]
	garpRefreshOther  setting[time.Duration]
}

// or merges key by key: what s sets, else what d sets.
func (s shared) or(d shared) shared {
	return shared{
		version:           s.version.or(d.version),
		advertInterval:    s.advertInterval.or(d.advertInterval),
		preempt:           s.preempt.or(d.preempt),
		preemptDelay:      s.preemptDelay.or(d.preemptDelay),
		downTimerAdverts:  s.downTimerAdverts.or(d.downTimerAdverts),
		lowerPrioNoAdvert: s.lowerPrioNoAdvert.or(d.lowerPrioNoAdvert),
		makeBeforeBreak:   s.makeBeforeBreak.or(d.makeBeforeBreak),
		fastHandover:      s.fastHandover.or(d.fastHandover),
		healSplitBrain:    s.healSplitBrain.or(d.healSplitBrain),
		startupGrace:      s.startupGrace.or(d.startupGrace),
		checksum:          s.checksum.or(d.checksum),
		garpRepeat:        s.garpRepeat.or(d.garpRepeat),
		garpDelay:         s.garpDelay.or(d.garpDelay),
		garpRefresh:       s.garpRefresh.or(d.garpRefresh),
		garpRefreshRepeat: s.garpRefreshRepeat.or(d.garpRefreshRepeat),
		garpReply:         s.garpReply.or(d.garpReply),
		garpRefreshOther:  s.garpRefreshOther.or(d.garpRefreshOther),
	}
}

// positions returns where each key that s sets is, by its path under an instance.
func (s shared) positions() map[string]position {
	m := make(map[string]position)
	add := func(key string, set bool, pos position) {
		if set {
			m[key] = pos
		}
	}
	add("version", s.version.set, s.version.pos)
	add("advert_interval", s.advertInterval.set, s.advertInterval.pos)
	add("preempt", s.preempt.set, s.preempt.pos)
	add("preempt_delay", s.preemptDelay.set, s.preemptDelay.pos)
	add("down_timer_adverts", s.downTimerAdverts.set, s.downTimerAdverts.pos)
	add("lower_prio_no_advert", s.lowerPrioNoAdvert.set, s.lowerPrioNoAdvert.pos)
	add("make_before_break", s.makeBeforeBreak.set, s.makeBeforeBreak.pos)
	add("fast_handover", s.fastHandover.set, s.fastHandover.pos)
	add("heal_split_brain", s.healSplitBrain.set, s.healSplitBrain.pos)
	add("startup_grace", s.startupGrace.set, s.startupGrace.pos)
	add("checksum", s.checksum.set, s.checksum.pos)
	add("garp.repeat", s.garpRepeat.set, s.garpRepeat.pos)
	add("garp.delay", s.garpDelay.set, s.garpDelay.pos)
	add("garp.refresh", s.garpRefresh.set, s.garpRefresh.pos)
	add("garp.refresh_repeat", s.garpRefreshRepeat.set, s.garpRefreshRepeat.pos)
	add("garp.reply", s.garpReply.set, s.garpReply.pos)
	add("garp.refresh_other_interfaces", s.garpRefreshOther.set, s.garpRefreshOther.pos)
	return m
}

// Largest startup_grace: a cold start is never held back more than this.
const maxStartupGrace = 10 * time.Second

// Largest preempt_delay, as in keepalived.
const maxPreemptDelay = 1000 * time.Second

// shared reads the keys that defaults and instances both have from m, at path.
func (p *parser) shared(m mapping, path string) shared {
	var s shared
	if n := m.values["version"]; n != nil {
		if v, ok := p.integer(n, path+".version", math.MinInt, math.MaxInt); ok && (v == 2 || v == 3) {
			s.version = newSetting(vrrp.Version(v), n)
		} else if ok {
			p.errorf(path+".version", "write 2 or 3", "VRRP version %d does not exist; vrrpd speaks 2 and 3", v)
		}
	}
	// The interval's range depends on the version, which may be set elsewhere:
	// validate checks it.
	if n := m.values["advert_interval"]; n != nil {
		if d, ok := p.duration(n, path+".advert_interval", anyDuration); ok {
			s.advertInterval = newSetting(d, n)
		}
	}
	s.preempt = p.boolSetting(m, path, "preempt")
	if n := m.values["preempt_delay"]; n != nil {
		if d, ok := p.duration(n, path+".preempt_delay", span{lo: MinTimer, hi: maxPreemptDelay, zero: true}); ok {
			s.preemptDelay = newSetting(d, n)
		}
	}
	// accept: true says what vrrpd always does; a master that dropped the traffic for
	// its VIPs could not serve them.
	if n := m.values["accept"]; n != nil {
		if v, ok := p.boolean(n, path+".accept"); ok && !v {
			p.errorf(path+".accept", "remove the line: vrrpd always accepts traffic for its VIPs; "+
				"keepalived's vrrp_strict and no_accept drop it with firewall rules vrrpd does not install",
				"accept: false is not supported: a master must accept the traffic for its VIPs that the services behind them serve")
		}
	}
	s.downTimerAdverts = p.intSetting(m, path, "down_timer_adverts", 1, 100)
	s.lowerPrioNoAdvert = p.boolSetting(m, path, "lower_prio_no_advert")
	s.makeBeforeBreak = p.boolSetting(m, path, "make_before_break")
	s.fastHandover = p.boolSetting(m, path, "fast_handover")
	s.healSplitBrain = p.boolSetting(m, path, "heal_split_brain")
	if n := m.values["startup_grace"]; n != nil {
		if d, ok := p.duration(n, path+".startup_grace", span{lo: MinTimer, hi: maxStartupGrace, zero: true}); ok {
			s.startupGrace = newSetting(d, n)
		}
	}
	if n := m.values["checksum"]; n != nil {
		switch v, ok := p.str(n, path+".checksum"); {
		case !ok:
		case v == vrrp.ChecksumPseudoHeader.String():
			s.checksum = newSetting(vrrp.ChecksumPseudoHeader, n)
		case v == vrrp.ChecksumMessageOnly.String():
			s.checksum = newSetting(vrrp.ChecksumMessageOnly, n)
		default:
			p.errorf(path+".checksum", "write pseudo-header (keepalived's default) or message-only (RFC 9568, keepalived's v3_checksum_as_v2)",
				"%q is not a checksum form", v)
		}
	}

	gpath := path + ".garp"
	g := p.mapping(m.values["garp"], gpath, garpKeys)
	s.garpRepeat = p.intSetting(g, gpath, "repeat", 1, 100)
	if n := g.values["delay"]; n != nil {
		if d, ok := p.duration(n, gpath+".delay", delay); ok {
			s.garpDelay = newSetting(d, n)
		}
	}
	if n := g.values["refresh"]; n != nil {
		if d, ok := p.duration(n, gpath+".refresh", span{lo: MinGARPRefresh, hi: math.MaxInt64, zero: true}); ok {
			s.garpRefresh = newSetting(d, n)
		}
	}
	s.garpRefreshRepeat = p.intSetting(g, gpath, "refresh_repeat", 1, 100)
	s.garpReply = p.boolSetting(g, gpath, "reply")
	if n := g.values["refresh_other_interfaces"]; n != nil {
		if d, ok := p.duration(n, gpath+".refresh_other_interfaces", refreshOtherSpan); ok {
			s.garpRefreshOther = newSetting(d, n)
		}
	}
	return s
}

func (p *parser) boolSetting(m mapping, path, key string) setting[bool] {
	if n := m.values[key]; n != nil {
		if v, ok := p.boolean(n, path+"."+key); ok {
			return newSetting(v, n)
		}
	}
	return setting[bool]{}
}

func (p *parser) intSetting(m mapping, path, key string, lo, hi int) setting[int] {
	if n := m.values[key]; n != nil {
		if v, ok := p.integer(n, path+"."+key, lo, hi); ok {
			return newSetting(v, n)
		}
	}
	return setting[int]{}
}

// instance reads one instance at path. name is the name read ahead for the paths; it
// becomes Instance.Name so that validate finds the same paths.
func (p *parser) instance(n *yaml.Node, path, name string, defaults shared) Instance {
	m := p.mapping(n, path, instanceKeys)
	in := Instance{Name: name, Line: n.Line}

	if v := m.values["name"]; v != nil {
		p.name(v, path+".name")
	} else {
		p.errorf(path+".name", "add name: web (any name without spaces)", "every instance needs a name")
	}
	if v := m.values["interface"]; v != nil {
		in.Interface, _ = p.ifname(v, path+".interface")
	} else {
		p.errorf(path+".interface", "add interface: eth0", "every instance needs an interface")
	}
	if v := m.values["vrid"]; v != nil {
		if id, ok := p.integer(v, path+".vrid", 1, 255); ok {
			in.VRID = uint8(id)
		}
	} else {
		p.errorf(path+".vrid", "add vrid: 51, the same on every node of this virtual router (virtual_router_id in keepalived)",
			"every instance needs a vrid")
	}
	in.Priority = 100
	if v := m.values["priority"]; v != nil {
		if prio, ok := p.integer(v, path+".priority", 1, 255); ok {
			in.Priority = uint8(prio)
		}
	}

	s := p.shared(m, path).or(defaults)
	for key, pos := range s.positions() {
		if pos.fromDefaults {
			p.pos[path+"."+key] = pos
		}
	}
	in.Version = s.version.get(vrrp.Version3)
	in.AdvertInterval = s.advertInterval.get(time.Second)
	in.Preempt = s.preempt.get(true)
	in.PreemptDelay = s.preemptDelay.get(0)
	in.DownTimerAdverts = s.downTimerAdverts.get(3)
	in.LowerPriorityNoAdvert = s.lowerPrioNoAdvert.get(false)
	in.MakeBeforeBreak = s.makeBeforeBreak.get(true)
	in.FastHandover = s.fastHandover.get(true)
	in.HealSplitBrain = s.healSplitBrain.get(true)
	in.StartupGrace = s.startupGrace.get(DefaultStartupGrace)
	in.Checksum = s.checksum.get(vrrp.ChecksumPseudoHeader)
	in.GARP = GARP{
		Repeat:        s.garpRepeat.get(5),
		Delay:         s.garpDelay.get(5 * time.Second),
		Refresh:       s.garpRefresh.get(0),
		RefreshRepeat: s.garpRefreshRepeat.get(1),
		Reply:         s.garpReply.get(false),
		// A refresh of its own, or none: the other interfaces' VIPs are refreshed
		// with the rest.
		RefreshOtherInterfaces: s.garpRefreshOther.get(0),
	}

	if v := m.values["source"]; v != nil {
		in.Source, _ = p.addr(v, path+".source")
	}
	if v, ok := m.values["unicast"]; ok {
		in.Unicast = p.unicast(v, path+".unicast")
		p.unicastSource(&in, path)
	}
	if v, ok := m.values["auth"]; ok {
		in.Auth = p.auth(v, path+".auth")
	}
	in.VIPs = p.vips(m.values["vips"], path+".vips", in.Interface)
	in.ExcludedVIPs = p.vips(m.values["excluded_vips"], path+".excluded_vips", in.Interface)
	in.Track = p.track(m.values["track"], path+".track")
	in.Notify = p.notify(m.values["notify"], path+".notify")
	p.instanceExtras(m, path, &in)
	return in
}

func (p *parser) unicast(n *yaml.Node, path string) *Unicast {
	p.mark(path, n)
	m := p.mapping(n, path, unicastKeys)
	u := &Unicast{CheckSource: true}
	if v := m.values["source"]; v != nil {
		u.Source, _ = p.addr(v, path+".source")
	}
	for i, it := range p.sequence(m.values["peers"], path+".peers") {
		ipath := fmt.Sprintf("%s.peers[%d]", path, i)
		// A peer is an address, or {address, priority} when the file records the
		// peer's priority for `vrrpd check`.
		if it.Kind == yaml.MappingNode {
			pm := p.mapping(it, ipath, peerKeys)
			a, _ := p.addr(pm.values["address"], ipath+".address")
			u.Peers = append(u.Peers, a)
			if v := pm.values["priority"]; v != nil {
				if prio, ok := p.integer(v, ipath+".priority", 1, 255); ok && a.IsValid() {
					if u.PeerPriorities == nil {
						u.PeerPriorities = map[netip.Addr]uint8{}
					}
					u.PeerPriorities[a] = uint8(prio)
				}
			}
			continue
		}
		// An unreadable peer stays as a zero Addr so that the indexes in paths hold.
		a, _ := p.addr(it, ipath)
		u.Peers = append(u.Peers, a)
	}
	if v := m.values["check_source"]; v != nil {
		if b, ok := p.boolean(v, path+".check_source"); ok {
			u.CheckSource = b
		}
	}
	return u
}

// unicastSource makes Source and Unicast.Source one address, whichever was written.
func (p *parser) unicastSource(in *Instance, path string) {
	u := in.Unicast
	switch {
	case !u.Source.IsValid():
		u.Source = in.Source
	case !in.Source.IsValid():
		in.Source = u.Source
	case in.Source != u.Source:
		p.errorf(path+".source", "set unicast.source only", "source %v differs from unicast.source %v", in.Source, u.Source)
	}
}

func (p *parser) auth(n *yaml.Node, path string) *Auth {
	p.mark(path, n)
	m := p.mapping(n, path, authKeys)
	a := &Auth{Type: vrrp.AuthSimple}
	if v := m.values["type"]; v != nil {
		if t, ok := p.str(v, path+".type"); ok && t != "pass" {
			p.errorf(path+".type", "vrrpd speaks simple password authentication only (type: pass); remove auth for none",
				"auth type %q is not supported", t)
		}
	}
	if v := m.values["password"]; v != nil {
		a.Password, _ = p.str(v, path+".password")
	}
	return a
}

// vips reads a list of VIPs, each an address or {address, interface, label}. An
// unreadable entry stays as a zero VIP so that the indexes in paths hold.
func (p *parser) vips(n *yaml.Node, path, ifname string) []VIP {
	var vips []VIP
	for i, it := range p.sequence(n, path) {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		v := VIP{Interface: ifname, Line: it.Line}
		addr := it
		if it.Kind == yaml.MappingNode {
			m := p.mapping(it, ipath, vipKeys)
			if addr = m.values["address"]; addr == nil {
				p.errorf(ipath+".address", "add address: 192.0.2.100/24", "a VIP needs an address")
			}
			if x := m.values["interface"]; x != nil {
				if s, ok := p.ifname(x, ipath+".interface"); ok {
					v.Interface = s
				}
			}
			if x := m.values["label"]; x != nil {
				v.Label, _ = p.str(x, ipath+".label")
			}
		}
		if addr != nil {
			v.Prefix, _ = p.prefix(addr, ipath)
		}
		vips = append(vips, v)
	}
	return vips
}

func (p *parser) track(n *yaml.Node, path string) Track {
	m := p.mapping(n, path, trackKeys)
	return Track{
		Scripts:    p.trackRefs(m.values["scripts"], path+".scripts", trackRefKeys, 0),
		Interfaces: p.trackRefs(m.values["interfaces"], path+".interfaces", trackIfKeys, 0),
		Processes:  p.trackRefs(m.values["processes"], path+".processes", trackRefKeys, 0),
		Files:      p.trackRefs(m.values["files"], path+".files", trackRefKeys, 1),
		HAProxy:    p.trackRefs(m.values["haproxy"], path+".haproxy", trackRefKeys, 0),
		BFD:        p.trackRefs(m.values["bfd"], path+".bfd", trackRefKeys, 0),
	}
}

// trackRefs reads a list of {name, weight, reverse} (known lists the keys allowed). A
// name alone, or an entry without weight, has weight defaultWeight: 0 (FAULT while the
// check fails) as keepalived does without a weight, and 1 for files, as keepalived's
// track_file.
func (p *parser) trackRefs(n *yaml.Node, path string, known []string, defaultWeight int) []TrackRef {
	ifnames := slices.Contains(known, "down_delay")
	var refs []TrackRef
	for i, it := range p.sequence(n, path) {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		ref := TrackRef{Weight: defaultWeight, Line: it.Line}
		nameNode, namePath := it, ipath
		if it.Kind != yaml.ScalarNode {
			m := p.mapping(it, ipath, known)
			nameNode, namePath = m.values["name"], ipath+".name"
			if v := m.values["weight"]; v != nil {
				ref.Weight, _ = p.integer(v, ipath+".weight", -254, 254)
			}
			if v := m.values["reverse"]; v != nil {
				ref.Reverse, _ = p.boolean(v, ipath+".reverse")
			}
			if v := m.values["down_delay"]; v != nil {
				ref.DownDelay, _ = p.duration(v, ipath+".down_delay", delay)
			}
			if v := m.values["up_delay"]; v != nil {
				ref.UpDelay, _ = p.duration(v, ipath+".up_delay", delay)
			}
		}
		switch {
		case nameNode == nil:
			p.errorf(namePath, "write {name: ..., weight: -50}", "a tracked item needs a name")
		case ifnames:
			ref.Name, _ = p.ifname(nameNode, namePath)
		default:
			if s, ok := p.str(nameNode, namePath); ok && s == "" {
				p.errorf(namePath, "", "the name is empty")
			} else {
				ref.Name = s
			}
		}
		refs = append(refs, ref)
	}
	return refs
}

func (p *parser) notify(n *yaml.Node, path string) Notify {
	m := p.mapping(n, path, notifyKeys)
	nt := Notify{
		Master: p.command(m.values["master"], path+".master"),
		Backup: p.command(m.values["backup"], path+".backup"),
		Fault:  p.command(m.values["fault"], path+".fault"),
		Stop:   p.command(m.values["stop"], path+".stop"),
		Any:    p.command(m.values["any"], path+".any"),
	}
	p.notifyExtras(m, path, &nt)
	return nt
}
