package keepalived

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// outConfig is the vrrpd configuration being written.
type outConfig struct {
	node, nodeComment             string
	scriptUser, scriptUserComment string
	realtimePriority              int
	realtimeComment               string
	lockMemory                    bool
	lockMemoryComment             string
	scripts                       []*outScript
	processes                     []*outProcess
	files                         []*outFile
	bfd                           []*outBFD
	instances                     []*outInstance
	groups                        []*outGroup
}

// outGroup is a sync group.
type outGroup struct {
	pos     Pos
	name    string
	members []string
	notify  []outNotify
}

type outScript struct {
	pos               Pos
	name              string
	exec              []string
	interval, timeout time.Duration // timeout 0: the interval, as in both
	fall, rise        int
	user              string
	initFail          bool
	// weight and reverse are keepalived's defaults for the instances tracking it.
	weight  int
	reverse bool
	used    bool
}

type outProcess struct {
	pos      Pos
	name     string
	match    string
	cmdline  bool
	min, max int
	delay    time.Duration
	weight   int
	reverse  bool
	used     bool
}

type outFile struct {
	pos     Pos
	name    string
	path    string
	weight  int
	reverse bool
	// weightSet is a weight written in the track_file block (the default is 1).
	weightSet bool
	used      bool
}

type outInstance struct {
	pos                             Pos
	comment                         string
	name, iface                     string
	vrid, priority, version         int
	priorityComment, versionComment string
	advert                          time.Duration
	preempt                         bool
	preemptDelay                    time.Duration
	downTimerAdverts                int
	lowerPrioNoAdvert               bool
	checksum                        string
	source                          netip.Addr
	unicast                         *outUnicast
	auth                            *outAuth
	vips, excluded                  []outVIP
	garp                            garpSettings
	track                           []outTrack
	notify                          []outNotify
	group                           netip.Addr
	ignoreLink, trackSource         bool
	promoteSecondaries              bool
	refreshOther                    time.Duration
	routes                          []outRoute
	rules                           []outRule
	vmac                            *outVMAC
}

type outUnicast struct {
	source       netip.Addr
	peers        []netip.Addr
	checkSource  bool
	checkComment string
}

type outAuth struct{ password string }

type outVIP struct {
	pos    Pos
	prefix netip.Prefix
	iface  string
	label  string
}

type outTrack struct {
	pos     Pos
	kind    string // scripts, interfaces, processes, files, bfd
	name    string
	weight  int
	reverse bool
}

type outNotify struct {
	pos  Pos
	key  string // master, backup, fault, stop, any
	argv []string
	user string
}

// hasCommands reports whether the configuration runs any command.
func (c *outConfig) hasCommands() bool {
	for _, s := range c.scripts {
		if s.used {
			return true
		}
	}
	for _, in := range c.instances {
		if len(in.notify) > 0 {
			return true
		}
	}
	for _, g := range c.groups {
		if len(g.notify) > 0 {
			return true
		}
	}
	return false
}

// Nodes of the YAML document.

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func duration(d time.Duration) *yaml.Node { return str(formatDuration(d)) }

func mapping(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func list(flow bool, items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Content: items}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func strList(items []string) *yaml.Node {
	n := list(true)
	for _, it := range items {
		n.Content = append(n.Content, str(it))
	}
	return n
}

// set adds key: value to mapping m, with a line comment when comment is not empty.
func set(m *yaml.Node, key string, value *yaml.Node, comment string) {
	if comment != "" {
		value.LineComment = commentText(comment)
	}
	m.Content = append(m.Content, str(key), value)
}

// marshal writes the configuration as YAML, in a fixed order: the node settings, then
// scripts, processes and files by name of definition order, then the instances in file
// order.
func (c *outConfig) marshal(cv *converter) ([]byte, error) {
	top := mapping(false)
	top.HeadComment = "vrrpd configuration converted from keepalived.conf by `vrrpd convert`, following keepalived 2.2.7.\n" +
		"Every setting that was not converted, or was converted with a difference, is listed on\n" +
		"convert's standard error with its line. Check it with `vrrpd check` before use."
	if c.node != "" {
		set(top, "node", str(c.node), c.nodeComment)
	}
	if c.scriptUser != "" {
		set(top, "script_user", str(c.scriptUser), c.scriptUserComment)
	}
	if c.realtimePriority > 0 {
		set(top, "realtime_priority", integer(c.realtimePriority), c.realtimeComment)
	}
	if c.lockMemory {
		set(top, "lock_memory", boolean(true), c.lockMemoryComment)
	}
	if m := c.scriptsNode(cv); len(m.Content) > 0 {
		set(top, "scripts", m, "")
	}
	if m := c.processesNode(cv); len(m.Content) > 0 {
		set(top, "processes", m, "")
	}
	if m := c.filesNode(cv); len(m.Content) > 0 {
		set(top, "files", m, "")
	}
	if m := c.bfdNode(cv); len(m.Content) > 0 {
		set(top, "bfd", m, "")
	}
	instances := list(false)
	for _, in := range c.instances {
		instances.Content = append(instances.Content, in.yaml(c))
	}
	set(top, "instances", instances, "")
	if len(c.groups) > 0 {
		groups := mapping(false)
		for _, g := range c.groups {
			gm := mapping(false)
			set(gm, "instances", strList(g.members), "")
			if nm := notifyNode(g.notify); nm != nil {
				set(gm, "notify", nm, "")
			}
			key := str(g.name)
			key.HeadComment = origin(g.pos, "vrrp_sync_group", g.name)
			groups.Content = append(groups.Content, key, gm)
		}
		set(top, "sync_groups", groups, "")
	}

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{top}}); err != nil {
		return nil, fmt.Errorf("keepalived: write YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("keepalived: write YAML: %w", err)
	}
	return b.Bytes(), nil
}

func (c *outConfig) scriptsNode(cv *converter) *yaml.Node {
	m := mapping(false)
	for _, s := range c.scripts {
		if !s.used {
			cv.rep.skip(s.pos, "vrrp_script "+s.name, "no instance tracks it, so keepalived does not run it")
			continue
		}
		sm := mapping(false)
		set(sm, "exec", strList(s.exec), "")
		set(sm, "interval", duration(s.interval), "")
		if s.timeout != 0 {
			set(sm, "timeout", duration(s.timeout), "")
		}
		set(sm, "fall", integer(s.fall), "")
		set(sm, "rise", integer(s.rise), "")
		if s.user != "" {
			set(sm, "user", str(s.user), "")
		}
		if s.initFail {
			set(sm, "init_fail", boolean(true), "")
		}
		key := str(s.name)
		key.HeadComment = origin(s.pos, "vrrp_script", s.name)
		m.Content = append(m.Content, key, sm)
	}
	return m
}

func (c *outConfig) processesNode(cv *converter) *yaml.Node {
	m := mapping(false)
	for _, p := range c.processes {
		if !p.used {
			cv.rep.skip(p.pos, "vrrp_track_process "+p.name, "no instance tracks it")
			continue
		}
		pm := mapping(false)
		set(pm, "match", str(p.match), "")
		if p.cmdline {
			set(pm, "cmdline", boolean(true), "")
		}
		set(pm, "min", integer(p.min), "")
		if p.max > 0 {
			set(pm, "max", integer(p.max), "")
		}
		if p.delay > 0 {
			set(pm, "delay", duration(p.delay), "")
		}
		key := str(p.name)
		key.HeadComment = origin(p.pos, "vrrp_track_process", p.name)
		m.Content = append(m.Content, key, pm)
	}
	return m
}

func (c *outConfig) filesNode(cv *converter) *yaml.Node {
	m := mapping(false)
	for _, f := range c.files {
		if !f.used {
			cv.rep.skip(f.pos, "track_file "+f.name, "no instance tracks it")
			continue
		}
		fm := mapping(false)
		set(fm, "path", str(f.path), "")
		key := str(f.name)
		key.HeadComment = origin(f.pos, "track_file", f.name)
		m.Content = append(m.Content, key, fm)
	}
	return m
}

// yaml returns the instance as a mapping, keys in the order of docs/configuration.md.
func (in *outInstance) yaml(c *outConfig) *yaml.Node {
	m := mapping(false)
	m.HeadComment = in.comment
	set(m, "name", str(in.name), "")
	set(m, "interface", str(in.iface), "")
	set(m, "vrid", integer(in.vrid), "")
	set(m, "priority", integer(in.priority), in.priorityComment)
	set(m, "version", integer(in.version), in.versionComment)
	set(m, "advert_interval", duration(in.advert), "")
	set(m, "preempt", boolean(in.preempt), "")
	if in.preemptDelay != 0 {
		set(m, "preempt_delay", duration(in.preemptDelay), "")
	}
	if in.downTimerAdverts != 3 {
		set(m, "down_timer_adverts", integer(in.downTimerAdverts), "")
	}
	if in.lowerPrioNoAdvert {
		set(m, "lower_prio_no_advert", boolean(true), "")
	}
	if in.checksum != "" {
		set(m, "checksum", str(in.checksum), "")
	}
	if in.source.IsValid() {
		set(m, "source", str(in.source.String()), "")
	}
	if in.group.IsValid() {
		set(m, "group", str(in.group.String()), "")
	}
	if in.ignoreLink {
		set(m, "track_interface", boolean(false), "")
	}
	if in.trackSource {
		set(m, "track_source", boolean(true), "")
	}
	if in.promoteSecondaries {
		set(m, "promote_secondaries", boolean(true), "")
	}
	if v := in.vmac; v != nil {
		vm := mapping(true)
		set(vm, "name", str(v.name), "")
		if v.xmitBase {
			set(vm, "xmit_base", boolean(true), "")
		}
		if v.ipvlan {
			set(vm, "kind", str("ipvlan"), "")
		}
		set(m, "vmac", vm, "")
	}
	if u := in.unicast; u != nil {
		um := mapping(false)
		if u.source.IsValid() {
			set(um, "source", str(u.source.String()), "")
		}
		peers := list(true)
		for _, p := range u.peers {
			peers.Content = append(peers.Content, str(p.String()))
		}
		set(um, "peers", peers, "")
		set(um, "check_source", boolean(u.checkSource), u.checkComment)
		set(m, "unicast", um, "")
	}
	if in.auth != nil {
		am := mapping(true)
		set(am, "type", str("pass"), "")
		set(am, "password", str(in.auth.password), "")
		set(m, "auth", am, "")
	}
	set(m, "vips", in.vipList(in.vips), "")
	if len(in.excluded) > 0 {
		set(m, "excluded_vips", in.vipList(in.excluded), "")
	}
	if len(in.routes) > 0 {
		set(m, "routes", routeNodes(in.routes), "")
	}
	if len(in.rules) > 0 {
		set(m, "rules", ruleNodes(in.rules), "")
	}
	g := mapping(false)
	set(g, "repeat", integer(in.garp.repeat), "")
	set(g, "delay", duration(time.Duration(in.garp.delay)*time.Second), "")
	set(g, "refresh", duration(time.Duration(in.garp.refresh)*time.Second), "")
	set(g, "refresh_repeat", integer(max(1, in.garp.refreshRepeat)), "")
	if in.refreshOther > 0 {
		set(g, "refresh_other_interfaces", duration(in.refreshOther), "")
	}
	g.Style = yaml.FlowStyle
	set(m, "garp", g, "keepalived's gratuitous ARP schedule")
	if t := in.trackNode(); t != nil {
		set(m, "track", t, "")
	}
	if nm := notifyNode(in.notify); nm != nil {
		set(m, "notify", nm, "")
	}
	return m
}

// notifyNode returns the notify mapping of hooks, in the documentation's order; nil
// when there are none.
func notifyNode(hooks []outNotify) *yaml.Node {
	if len(hooks) == 0 {
		return nil
	}
	nm := mapping(false)
	for _, key := range []string{"master", "backup", "fault", "stop", "any", "master_rx_lower_pri", "deleted"} {
		for _, h := range hooks {
			switch {
			case h.key != key:
			case key == "deleted" && h.argv == nil:
				set(nm, key, boolean(true), "")
			default:
				set(nm, key, strList(h.argv), "")
			}
		}
	}
	return nm
}

func (in *outInstance) vipList(vips []outVIP) *yaml.Node {
	l := list(false)
	for _, v := range vips {
		if (v.iface == "" || v.iface == in.iface) && v.label == "" {
			l.Content = append(l.Content, str(v.prefix.String()))
			continue
		}
		vm := mapping(true)
		set(vm, "address", str(v.prefix.String()), "")
		if v.iface != "" && v.iface != in.iface {
			set(vm, "interface", str(v.iface), "")
		}
		if v.label != "" {
			set(vm, "label", str(v.label), "")
		}
		l.Content = append(l.Content, vm)
	}
	return l
}

func (in *outInstance) trackNode() *yaml.Node {
	if len(in.track) == 0 {
		return nil
	}
	t := mapping(false)
	for _, kind := range []string{"scripts", "interfaces", "processes", "files", "bfd"} {
		l := list(false)
		for _, ref := range in.track {
			if ref.kind != kind {
				continue
			}
			rm := mapping(true)
			set(rm, "name", str(ref.name), "")
			set(rm, "weight", integer(ref.weight), "")
			if ref.reverse {
				set(rm, "reverse", boolean(true), "")
			}
			l.Content = append(l.Content, rm)
		}
		if len(l.Content) > 0 {
			set(t, kind, l, "")
		}
	}
	return t
}

// origin is the comment that heads what block name of keepalived.conf became.
func origin(pos Pos, block, name string) string {
	return commentText(fmt.Sprintf("from %v %s %s", pos, block, name))
}

// commentText makes s fit on one comment line: a name read from keepalived.conf may hold
// any byte, and YAML allows no control character, even in a comment.
func commentText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r) // '\x12'
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
