package keepalived

import (
	"net/netip"
	"strings"
)

// addresses reads a virtual_ipaddress or virtual_ipaddress_excluded block.
func (r *instanceReader) addresses(n *node, excluded bool) []outVIP {
	if !n.block {
		r.cv.rep.skip(n.pos, n.describe(), "no { } block follows; keepalived expects one")
		return nil
	}
	var vips []outVIP
	for _, c := range n.children {
		if v, ok := r.address(c, excluded); ok {
			vips = append(vips, v)
		}
	}
	return vips
}

// vipFlags are the options of an address line that take no value and that vrrpd does
// not have.
var vipFlags = map[string]string{
	"home":          "vrrpd adds VIPs without IFA_F_HOMEADDRESS",
	"mngtmpaddr":    "vrrpd adds VIPs without IFA_F_MANAGETEMPADDR",
	"noprefixroute": "vrrpd adds VIPs with their prefix route, as the kernel does by default",
	"autojoin":      "vrrpd adds VIPs without IFA_F_MCAUTOJOIN",
	"no_track":      "vrrpd puts back at once a VIP someone deleted and stays master, with or without no_track",
}

// address reads one line of an address block: ADDR[/LEN] and its options.
func (r *instanceReader) address(c *node, excluded bool) (outVIP, bool) {
	cv := r.cv
	what := "virtual_ipaddress " + c.keyword()
	if excluded {
		what = "virtual_ipaddress_excluded " + c.keyword()
	}
	prefix, ok := parseVIP(c.keyword())
	if !ok {
		cv.rep.skip(c.pos, what, "not an address with an optional prefix length; keepalived ignores it")
		return outVIP{}, false
	}
	if !excluded {
		switch {
		case r.family == 0:
			r.family = familyOf(prefix.Addr())
		case familyOf(prefix.Addr()) != r.family:
			cv.rep.skip(c.pos, what, "the instance is IPv%d: keepalived ignores it (\"address family must match VRRP instance\"); "+
				"put it in an IPv%d instance of its own", r.family, familyOf(prefix.Addr()))
			return outVIP{}, false
		}
	}
	v := outVIP{pos: c.pos, prefix: prefix}
	deprecated := prefix.Addr().Is6() && prefix.Bits() == 128
	words := c.words[1:]
	for i := 0; i < len(words); i++ {
		opt := words[i]
		value := ""
		switch opt {
		case "dev", "brd", "broadcast", "label", "scope", "peer", "preferred_lft", "track_group":
			if i+1 == len(words) {
				cv.rep.skip(c.pos, what+" "+opt, "no value follows; keepalived ignores it")
				continue
			}
			i++
			value = words[i]
		}
		switch opt {
		case "dev":
			if len(value) > maxIfname || strings.ContainsAny(value, "/: ") {
				cv.rep.skip(c.pos, what+" dev "+value, "not a Linux interface name; the VIP goes on the instance's interface")
				continue
			}
			v.iface = value
		case "label":
			v.label = value
		case "brd", "broadcast":
			cv.rep.skip(c.pos, what+" brd "+value, "vrrpd adds IPv4 VIPs without a broadcast address, as `ip addr add` does")
		case "scope":
			if value != "global" && value != "universe" && value != "0" {
				cv.rep.skip(c.pos, what+" scope "+value, "vrrpd adds VIPs with scope global")
			}
		case "peer":
			cv.rep.skip(c.pos, what+" peer "+value, "vrrpd adds VIPs without a peer address")
		case "preferred_lft":
			deprecated = false
			if value != "forever" {
				cv.rep.skip(c.pos, what+" preferred_lft "+value, "vrrpd adds VIPs preferred forever")
			}
		case "track_group":
			cv.rep.skip(c.pos, what+" track_group "+value, "track groups apply to static addresses, routes and rules, which vrrpd does not configure")
		case "-nodad":
			// vrrpd adds every IPv6 VIP with IFA_F_NODAD; IPv4 has no DAD.
		case "use_vmac":
			cv.rep.skip(c.pos, what+" use_vmac", "vrrpd puts on the virtual MAC interface the VIPs of the instance's own interface "+
				"and family (vmac:), and no other: this one stays on its interface")
			if i+1 < len(words) && !isVIPOption(words[i+1]) {
				i++ // the optional VMAC name
			}
		default:
			if why, ok := vipFlags[opt]; ok {
				cv.rep.skip(c.pos, what+" "+opt, "%s", why)
				continue
			}
			cv.rep.skip(c.pos, what+" "+opt, "not an address option; keepalived ignores it")
		}
	}
	if deprecated {
		cv.rep.change(c.pos, what, "keepalived adds an IPv6 /128 VIP deprecated (preferred_lft 0), so that the node does not "+
			"pick it as a source address; vrrpd adds it preferred")
	}
	ifname := v.iface
	if ifname == "" {
		ifname = r.out.iface
	}
	switch {
	case v.label == "":
	case prefix.Addr().Is6():
		cv.rep.skip(c.pos, what+" label "+v.label, "Linux keeps labels for IPv4 addresses only")
		v.label = ""
	case ifname != "" && (!strings.HasPrefix(v.label, ifname) || len(v.label) > maxIfname):
		cv.rep.skip(c.pos, what+" label "+v.label, "a label begins with the interface name (%s) and has at most %d characters", ifname, maxIfname)
		v.label = ""
	}
	return v, true
}

// isVIPOption reports whether word is an address option keyword.
func isVIPOption(word string) bool {
	switch word {
	case "dev", "brd", "broadcast", "label", "scope", "peer", "preferred_lft", "track_group", "-nodad", "use_vmac":
		return true
	}
	_, flag := vipFlags[word]
	return flag
}

// parseVIP reads ADDR or ADDR/LEN; without a length an address is a /32 or /128, as
// in keepalived.
func parseVIP(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" || !usable(p.Addr()) {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			return netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96)), true
		}
		return p, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || !usable(a) {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// usable reports whether a can be a VIP: one host's unicast address.
func usable(a netip.Addr) bool {
	return !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// trackKinds maps the track_* keywords of an instance to vrrpd's track lists.
var trackKinds = map[string]string{
	"track_interface": "interfaces",
	"track_script":    "scripts",
	"track_process":   "processes",
	"track_file":      "files",
	"track_bfd":       "bfd",
}

// track reads a track_interface, track_script, track_process, track_file or track_bfd block: one
// entry a line, "NAME [weight W [reverse|noreverse]]". fromGroup is set for the blocks
// of the sync group the instance is a member of.
func (r *instanceReader) track(n *node, fromGroup bool) {
	cv, out := r.cv, r.out
	kw := n.keyword()
	if !n.block {
		cv.rep.skip(n.pos, n.describe(), "no { } block follows; keepalived expects one")
		return
	}
	group := cv.syncGroup[out.name]
	if fromGroup {
		group = nil // the group's own trackers keep their weights
	}
	seen := make(map[string]bool)
	for _, ref := range out.track {
		if ref.kind == trackKinds[kw] {
			seen[ref.name] = true
		}
	}
	for _, c := range n.children {
		name := c.keyword()
		what := kw + " " + name
		ref := outTrack{pos: c.pos, kind: trackKinds[kw], name: name}
		// The default weight and sense: the tracked object's own.
		var used *bool
		var fileWeightSet bool
		switch kw {
		case "track_interface":
			if len(name) > maxIfname || strings.ContainsAny(name, "/:") {
				cv.rep.skip(c.pos, what, "not a Linux interface name; keepalived finds no such interface")
				continue
			}
			if name == out.iface {
				r.ownInterface = append(r.ownInterface, outTrack{pos: c.pos, name: name})
				continue
			}
		case "track_script":
			s := cv.scripts[name]
			if s == nil {
				cv.rep.skip(c.pos, what, "no vrrp_script %s is defined before this instance: keepalived ignores it (\"not found\")", name)
				continue
			}
			ref.weight, ref.reverse, used = s.weight, s.reverse, &s.used
		case "track_process":
			p := cv.processes[name]
			if p == nil {
				cv.rep.skip(c.pos, what, "no vrrp_track_process %s is defined before this instance: keepalived ignores it (\"not found\")", name)
				continue
			}
			ref.weight, ref.reverse, used = p.weight, p.reverse, &p.used
		case "track_file":
			f := cv.files[name]
			if f == nil {
				cv.rep.skip(c.pos, what, "no track_file %s is defined before this instance: keepalived ignores it (\"not found\")", name)
				continue
			}
			ref.weight, ref.reverse, used, fileWeightSet = f.weight, f.reverse, &f.used, f.weightSet
		case "track_bfd":
			b := cv.bfds[name]
			if b == nil {
				cv.rep.skip(c.pos, what, "no bfd_instance %s is defined before this instance: keepalived ignores it (\"not found\")", name)
				continue
			}
			ref.weight, ref.reverse, used = b.weight, b.reverse, &b.used
		}
		if seen[name] {
			cv.rep.skip(c.pos, what, "tracked twice; keepalived ignores this one")
			continue
		}
		explicit := false
		switch opt := c.arg(0); {
		case opt == "":
		case opt != "weight":
			cv.rep.skip(c.pos, what, "%q is not weight: keepalived ignores the whole line", opt)
			continue
		case c.arg(1) == "":
			cv.rep.skip(c.pos, what, "weight without a value: keepalived ignores the whole line")
			continue
		default:
			w, ok := parseInt(c.arg(1), -254, 254)
			if !ok {
				cv.rep.change(c.pos, what, "the weight %s is not -254..254: keepalived uses %d, and so does convert", c.arg(1), ref.weight)
				break
			}
			if (kw == "track_interface" || kw == "track_script") && (w == 254 || w == -254) {
				w = clamp(w, -253, 253)
				cv.rep.change(c.pos, what, "keepalived makes a weight of ±254 into ±253 here, and so does convert")
			}
			ref.weight, explicit = w, true
			if kw == "track_interface" {
				ref.reverse = false
				if c.arg(2) == "reverse" {
					ref.reverse = true
				} else if c.arg(2) != "" {
					cv.rep.skip(c.pos, what+" "+c.arg(2), "not reverse; keepalived ignores it")
				}
			} else {
				ref.reverse = cv.reverse(c, 2, ref.reverse)
			}
		}
		if !r.syncGroupRule(group, &ref, explicit || fileWeightSet) {
			continue
		}
		seen[name] = true
		if used != nil {
			*used = true
		}
		out.track = append(out.track, ref)
	}
}

// syncGroupRule applies keepalived's rule for the members of a sync group without
// sync_group_tracking_weight: a weighted interface counts with weight 0 (FAULT while
// down), a weighted script is ignored, a file with a configured weight (in the
// track_file block or the entry) is ignored and one with the default weight 1 counts
// with weight 0; processes keep their weights. It reports whether the entry stays.
func (r *instanceReader) syncGroupRule(g *syncGroup, ref *outTrack, explicit bool) bool {
	if g == nil || g.keepWeights || ref.weight == 0 {
		return true
	}
	what := "track_" + strings.TrimSuffix(ref.kind, "s") + " " + ref.name
	switch {
	case ref.kind == "interfaces", ref.kind == "files" && !explicit:
		r.cv.rep.change(ref.pos, what, "%s is in vrrp_sync_group %s: keepalived ignores the weight (%d) of its trackers, "+
			"so a failure puts the instance in FAULT; written as weight: 0", r.out.name, g.name, ref.weight)
		ref.weight = 0
		return true
	case ref.kind == "scripts", ref.kind == "files":
		r.cv.rep.skip(ref.pos, what, "%s is in vrrp_sync_group %s: keepalived ignores a weighted tracker of a sync group "+
			"member (\"ignoring tracked ... with weights due to SYNC group\"), so it never counted; track it by hand if it should",
			r.out.name, g.name)
		return false
	}
	return true
}

// notifyKeys maps the notify keywords to vrrpd's notify keys.
var notifyKeys = map[string]string{
	"notify_master": "master",
	"notify_backup": "backup",
	"notify_fault":  "fault",
	"notify_stop":   "stop",
	"notify":        "any",
}

func (r *instanceReader) notify(n *node) {
	r.out.notify = r.cv.readNotify(n, r.out.notify)
}

// readNotify reads a notify_* line of an instance or a sync group into hooks.
func (cv *converter) readNotify(n *node, hooks []outNotify) []outNotify {
	return cv.readNotifyAs(n, hooks, notifyKeys[n.keyword()])
}

// readNotifyAs reads a notify line into hooks as vrrpd's notify key.
func (cv *converter) readNotifyAs(n *node, hooks []outNotify, key string) []outNotify {
	for _, h := range hooks {
		if h.key == key {
			cv.rep.skip(n.pos, n.keyword(), "already set on line %d; keepalived ignores this one", h.pos.Line)
			return hooks
		}
	}
	c, err := readCommand(n.line)
	if err != nil {
		cv.rep.skip(n.pos, n.keyword(), "the line cannot be split: %v (keepalived does not run it either)", err)
		return hooks
	}
	argv := cv.argv(c, key == "any")
	if argv == nil {
		return hooks
	}
	if c.group != "" {
		cv.rep.skip(n.pos, n.keyword()+" group "+c.group, "vrrpd runs notify commands with script_user's own group")
	}
	return append(hooks, outNotify{pos: n.pos, key: key, argv: argv, user: c.user})
}
