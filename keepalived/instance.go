package keepalived

import (
	"net/netip"
	"strings"
	"time"
)

// Limits of vrrpd and of the protocol.
const (
	maxInterval2 = 255 * time.Second
	maxInterval3 = 4095 * 10 * time.Millisecond
	maxIfname    = 15
	advertMTU    = 1500
	// minTimer is vrrpd's shortest timeout or delay other than 0 (config.MinTimer);
	// keepalived counts them in microseconds.
	minTimer = 10 * time.Millisecond
)

// instanceReader holds what a vrrp_instance block says, before keepalived's defaults
// and rules are applied.
type instanceReader struct {
	cv  *converter
	out *outInstance

	strict, strictSet       bool
	strictPos               Pos
	wantMaster              bool
	statePos                Pos
	priority                int
	priorityPos             Pos
	version                 int
	versionPos              Pos
	advert                  time.Duration
	advertPos               Pos
	nopreempt               bool
	nopreemptPos            Pos
	preemptDelay            time.Duration
	preemptDelayPos         Pos
	accept                  *bool
	acceptPos               Pos
	lowerPrioNoAdvert       *bool
	downTimerAdverts        int
	garp                    garpSettings
	family                  int // 0 until known, 4 or 6
	source                  netip.Addr
	sourcePos               Pos
	peers                   []netip.Addr
	unicastPos              Pos
	checkSource             bool
	authType, authPass      string
	authPos, authPassPos    Pos
	checksumAsV2            bool
	checksumPos             Pos
	vips, excluded          []outVIP
	haveInterface, haveVRID bool
	// ownInterface are track_interface entries naming the instance's interface.
	ownInterface []outTrack
	x            extras
}

// instance converts one vrrp_instance block, or returns nil, having reported why.
// names collects the instance names seen.
func (cv *converter) instance(block *node, names map[string]bool) *outInstance {
	if len(block.words) != 2 {
		cv.rep.skip(block.pos, block.describe(), "vrrp_instance needs exactly one name; keepalived skips it")
		return nil
	}
	name := block.words[1]
	if names[name] {
		cv.rep.skip(block.pos, block.describe(), "an instance of this name is already defined; keepalived keeps the first")
		return nil
	}
	names[name] = true
	if !block.block {
		cv.rep.refuse(block.pos, "vrrp_instance %s has no { } block", name)
		return nil
	}
	out := &outInstance{pos: block.pos, name: name}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		out.name = strings.Map(func(r rune) rune {
			if r <= ' ' || r == 0x7f {
				return '_'
			}
			return r
		}, name)
		cv.rep.change(block.pos, block.describe(), "vrrpd names contain no white space; written as %s", out.name)
	}
	r := &instanceReader{cv: cv, out: out, garp: cv.glob.garp}
	for _, n := range block.children {
		r.statement(n)
	}
	if g := cv.syncGroup[name]; g != nil {
		for _, n := range g.tracks {
			r.track(n, true)
		}
	}
	return r.finish(block)
}

// statement reads one statement of the instance block.
func (r *instanceReader) statement(n *node) {
	cv, out := r.cv, r.out
	kw := n.keyword()
	if r.extraStatement(n, kw) {
		return
	}
	switch kw {
	case "state":
		r.state(n)
	case "interface":
		switch ifname := n.arg(0); {
		case ifname == "":
			cv.rep.skip(n.pos, kw, "no interface is named")
		case len(ifname) > maxIfname:
			cv.rep.skip(n.pos, n.describe(), "longer than %d characters; keepalived ignores it", maxIfname)
		case strings.ContainsAny(ifname, "/:") || ifname == "." || ifname == "..":
			cv.rep.skip(n.pos, n.describe(), "not a Linux interface name (an address label such as eth0:1 is not an interface); "+
				"keepalived finds no such interface")
		default:
			out.iface, r.haveInterface = ifname, true
		}
	case "virtual_router_id":
		if v, ok := parseUint(n.arg(0), 1, 255); ok {
			out.vrid, r.haveVRID = v, true
		} else {
			cv.rep.refuse(n.pos, "virtual_router_id %q is not valid: it must be 1..255 (keepalived: \"VRID not valid\", and the instance does not start)", n.arg(0))
			r.haveVRID = true // reported here, not again as missing
		}
	case "priority":
		if v, ok := parseUint(n.arg(0), 1, 255); ok {
			r.priority, r.priorityPos = v, n.pos
		} else {
			cv.rep.change(n.pos, n.describe(), "not a priority 1..255; keepalived uses 100, and so does convert")
			r.priority, r.priorityPos = 100, n.pos
		}
	case "version":
		if v, ok := parseUint(n.arg(0), 2, 3); ok {
			r.version, r.versionPos = v, n.pos
		} else {
			cv.rep.skip(n.pos, n.describe(), "the version must be 2 or 3; keepalived ignores it")
		}
	case "advert_int":
		if d, ok := parseSeconds(n.arg(0), maxInterval2); ok && d >= 10*time.Millisecond {
			r.advert, r.advertPos = d, n.pos
		} else {
			cv.rep.skip(n.pos, n.describe(), "not an interval of 0.01 to 255 seconds; keepalived ignores it and uses 1 second")
		}
	case "nopreempt", "preempt":
		r.nopreempt, r.nopreemptPos = kw == "nopreempt", n.pos
	case "preempt_delay":
		if d, ok := parseSeconds(n.arg(0), 1000*time.Second); ok {
			r.preemptDelay, r.preemptDelayPos = d, n.pos
		} else {
			cv.rep.change(n.pos, n.describe(), "not 0 to 1000 seconds; keepalived uses 0, and so does convert")
			r.preemptDelay = 0
		}
	case "accept", "no_accept":
		v := kw == "accept"
		r.accept, r.acceptPos = &v, n.pos
	case "strict_mode":
		if v, ok := optionalBool(n); ok {
			r.strict, r.strictSet, r.strictPos = v, true, n.pos
		} else {
			cv.rep.skip(n.pos, n.describe(), "not on or off; keepalived ignores it")
		}
	case "lower_prio_no_advert":
		if v, ok := optionalBool(n); ok {
			r.lowerPrioNoAdvert = &v
		} else {
			cv.rep.skip(n.pos, n.describe(), "not on or off; keepalived ignores it")
		}
	case "down_timer_adverts":
		if v, ok := parseUint(n.arg(0), 1, 100); ok {
			r.downTimerAdverts = v
		} else {
			cv.rep.skip(n.pos, n.describe(), "must be 1..100; keepalived ignores it")
		}
	case "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
		"garp_lower_prio_delay", "garp_lower_prio_repeat":
		cv.garpSetting(n, kw, &r.garp)
	case "v3_checksum_as_v2":
		r.checksumAsV2, r.checksumPos = true, n.pos
	case "mcast_src_ip", "unicast_src_ip":
		r.sourceAddress(n)
	case "unicast_peer":
		r.unicastPeers(n)
	case "check_unicast_src":
		r.checkSource = true
	case "unicast_ttl":
		cv.rep.skip(n.pos, n.describe(), "vrrpd sends unicast adverts with TTL 255 and does not check the TTL of unicast adverts")
	case "native_ipv6":
		if r.family == 4 {
			cv.rep.skip(n.pos, kw, "the instance is IPv4 already; keepalived ignores it")
			return
		}
		r.family = 6
		cv.rep.change(n.pos, kw, "nothing to write: vrrpd takes the family from the VIPs")
	case "authentication":
		r.authentication(n)
	case "virtual_ipaddress":
		r.vips = append(r.vips, r.addresses(n, false)...)
	case "virtual_ipaddress_excluded":
		r.excluded = append(r.excluded, r.addresses(n, true)...)
	case "track_interface", "track_script", "track_process", "track_file", "track_bfd":
		r.track(n, false)
	case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
		r.notify(n)
	case "smtp_alert":
		cv.rep.skip(n.pos, n.describe(), "vrrpd sends no email; a notify hook can")
	case "skip_check_adv_addr":
		cv.rep.skip(n.pos, n.describe(), "vrrpd checks the addresses of every advert")
	case "lvs_id", "lvs_sync_daemon_interface":
		cv.rep.skip(n.pos, n.describe(), "an LVS setting (keepalived 1.x); vrrpd has no LVS")
	case "debug":
		cv.rep.skip(n.pos, n.describe(), "keepalived does not implement it (\"not implemented yet\"); vrrpd's --log-level sets what is logged")
	case "linkbeat_use_polling":
		cv.rep.skip(n.pos, n.describe(), "vrrpd follows links through netlink events, keepalived's default; nothing to poll")
	case "kernel_rx_buf_size":
		cv.rep.skip(n.pos, n.describe(), "vrrpd keeps the kernel's receive buffer (net.core.rmem_default) and drops, counted, what "+
			"a slow instance cannot take")
	case "old_unicast_checksum":
		cv.rep.skip(n.pos, n.describe(), "vrrpd accepts either VRRPv3 IPv4 checksum form (checksum: pseudo-header or message-only "+
			"for what it sends), but not keepalived 1.3.6's, which summed 224.0.0.18 for unicast too")
	case "vrf":
		cv.rep.skip(n.pos, n.describe(), "vrrpd binds each instance to its interface: run it in the VRF with `ip vrf exec`, or name "+
			"the VRF's interface")
	case "vmac_garp_intvl":
		r.vmacGARP(n)
	default:
		cv.rep.skip(n.pos, n.describe(), "not a vrrp_instance keyword convert knows (keepalived 2.2.7 logs \"Unknown keyword\" "+
			"and ignores it)")
	}
}

func (r *instanceReader) state(n *node) {
	switch s := n.arg(0); s {
	case "MASTER":
		r.wantMaster, r.statePos = true, n.pos
	case "BACKUP":
		if r.wantMaster {
			r.cv.rep.skip(n.pos, n.describe(), "state MASTER was set before; keepalived ignores this one")
			return
		}
		r.statePos = n.pos
		r.cv.rep.change(n.pos, n.describe(), "nothing to write: every vrrpd instance starts as backup")
	default:
		r.statePos = n.pos
		r.cv.rep.change(n.pos, n.describe(), "not MASTER or BACKUP: keepalived says \"unknown state\" and starts as BACKUP, "+
			"as every vrrpd instance does")
	}
}

// familyOf returns 4 or 6.
func familyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// sourceAddress reads mcast_src_ip or unicast_src_ip: keepalived keeps one source for
// both, used for multicast or unicast alike.
func (r *instanceReader) sourceAddress(n *node) {
	a, err := netip.ParseAddr(n.arg(0))
	switch {
	case err != nil || a.Zone() != "":
		r.cv.rep.skip(n.pos, n.describe(), "not an IP address; keepalived ignores it")
	case r.family != 0 && familyOf(a) != r.family:
		r.cv.rep.skip(n.pos, n.describe(), "the instance is IPv%d; keepalived ignores a source of another family", r.family)
	default:
		a = a.Unmap()
		r.family = familyOf(a)
		r.source, r.sourcePos = a, n.pos
	}
}

func (r *instanceReader) unicastPeers(n *node) {
	r.unicastPos = n.pos
	for _, c := range n.children {
		a, err := netip.ParseAddr(c.keyword())
		if err != nil || a.Zone() != "" {
			r.cv.rep.skip(c.pos, "unicast_peer "+c.keyword(), "not an IP address; keepalived ignores it")
			continue
		}
		a = a.Unmap()
		for i := 1; i < len(c.words); i++ {
			switch c.words[i] {
			case "min_ttl", "max_ttl":
				r.cv.rep.skip(c.pos, "unicast_peer "+c.words[i], "vrrpd does not check the TTL of unicast adverts; "+
					"keepalived's check_unicast_src that it implies is written as check_source: true")
				r.checkSource = true
				i++
			default:
				r.cv.rep.skip(c.pos, "unicast_peer "+c.words[i], "not a unicast_peer option; keepalived ignores it")
			}
		}
		r.peers = append(r.peers, a)
	}
}

func (r *instanceReader) authentication(n *node) {
	r.authPos = n.pos
	for _, c := range n.children {
		switch c.keyword() {
		case "auth_type":
			switch t := c.arg(0); t {
			case "PASS", "AH":
				r.authType = t
			default:
				r.cv.rep.skip(c.pos, c.describe(), "not PASS or AH; keepalived ignores it")
			}
		case "auth_pass":
			r.authPass, r.authPassPos = c.arg(0), c.pos
		default:
			r.cv.rep.skip(c.pos, c.describe(), "not an authentication keyword")
		}
	}
}

// finish applies keepalived's defaults and rules to what the block said.
func (r *instanceReader) finish(block *node) *outInstance {
	cv, out, g := r.cv, r.out, &r.cv.glob
	if !r.haveInterface {
		cv.rep.refuse(block.pos, "vrrp_instance %s has no interface (keepalived: \"Unknown interface!\", and does not start)", out.name)
	}
	if !r.haveVRID {
		cv.rep.refuse(block.pos, "vrrp_instance %s has no virtual_router_id (keepalived: \"the virtual router id must be set\", "+
			"and does not start)", out.name)
	}
	if len(r.vips) == 0 {
		cv.rep.refuse(block.pos, "vrrp_instance %s has no virtual_ipaddress (keepalived: \"No VIP specified; at least one is "+
			"required\", and does not start)", out.name)
	}
	out.comment = origin(block.pos, "vrrp_instance", block.words[1])
	if r.family == 0 {
		r.family = 4
	}
	strict, strictPos := g.strict, g.strictPos
	if r.strictSet {
		strict, strictPos = r.strict, r.strictPos
	}

	// Priority, and the initial state it stands for.
	switch {
	case r.priority != 0:
		out.priority = r.priority
	case r.wantMaster:
		out.priority = 255
		out.priorityComment = "state MASTER without a priority: keepalived makes it the address owner"
		cv.rep.change(r.statePos, "state MASTER", "no priority is set, so keepalived makes this node the address owner, priority 255; "+
			"written as priority: 255")
	default:
		out.priority = 100
	}
	if r.wantMaster && out.priority != 255 {
		if strict {
			cv.rep.change(r.statePos, "state MASTER", "in strict mode keepalived ignores state MASTER below priority 255")
		} else {
			cv.rep.skip(r.statePos, "state MASTER", "every vrrpd instance starts as backup: the highest priority becomes master. "+
				"keepalived's state MASTER made this node take over about one advert interval after it started, "+
				"without waiting the three intervals of Master_Down_Interval; vrrpd waits them, and then the highest priority wins")
		}
	}

	// Version and interval.
	switch {
	case r.version != 0:
		out.version = r.version
		out.versionComment = "from " + r.versionPos.String()
	case g.version != 0:
		out.version = g.version
		out.versionComment = "global vrrp_version"
	default:
		out.version = 2
		out.versionComment = "keepalived's default for IPv4: the peers must use the same"
	}
	if r.family == 6 && out.version == 2 {
		if r.version == 2 {
			cv.rep.change(r.versionPos, "version 2", "IPv6 needs VRRPv3; keepalived uses version 3, and so does convert")
		}
		out.version = 3
		out.versionComment = "IPv6 instances are always VRRPv3"
	}
	out.advert = time.Second
	if r.advert != 0 {
		out.advert = r.advert
	}
	if out.version == 2 && out.advert%time.Second != 0 {
		rounded := max(time.Second, out.advert.Round(time.Second))
		cv.rep.change(r.advertPos, "advert_int "+formatDuration(out.advert), "VRRPv2 advertises whole seconds: keepalived rounds "+
			"it, and so does convert: %s", formatDuration(rounded))
		out.advert = rounded
	}
	if out.version == 3 {
		if out.advert > maxInterval3 {
			cv.rep.change(r.advertPos, "advert_int "+formatDuration(out.advert), "VRRPv3 advertises at most every 40.95s; written as 40.95s")
			out.advert = maxInterval3
		}
		if rounded := out.advert.Round(10 * time.Millisecond); rounded != out.advert {
			cv.rep.change(r.advertPos, "advert_int "+formatDuration(out.advert), "VRRPv3 counts in 10 ms; written as %s", formatDuration(rounded))
			out.advert = rounded
		}
	}

	// Preemption.
	out.preempt = !r.nopreempt
	switch {
	case r.nopreempt && out.priority == 255:
		out.preempt = true
		cv.rep.change(r.nopreemptPos, "nopreempt", "keepalived ignores nopreempt at priority 255 (the address owner always takes over); "+
			"written as preempt: true")
	case r.nopreempt && r.wantMaster:
		out.preempt = true
		cv.rep.change(r.nopreemptPos, "nopreempt", "keepalived clears nopreempt with state MASTER (\"nopreempt will not work with "+
			"initial state MASTER\"); written as preempt: true")
	}
	out.preemptDelay = r.preemptDelay
	if strict && r.preemptDelay != 0 {
		cv.rep.change(r.preemptDelayPos, "preempt_delay", "keepalived resets it to 0 in strict mode, and so does convert")
		out.preemptDelay = 0
	} else {
		out.preemptDelay = cv.atLeastMinTimer(r.preemptDelay, r.preemptDelayPos, "preempt_delay")
	}

	// Accept mode: vrrpd always accepts traffic for its VIPs, which the services behind
	// them need; where keepalived would drop it, the note says that vrrpd does not.
	const noFirewall = "vrrpd always accepts it and installs no firewall rules: add your own if only some traffic may reach the VIPs"
	switch {
	case r.accept != nil && !*r.accept && out.priority == 255:
		cv.rep.skip(r.acceptPos, "no_accept", "the address owner (priority 255) accepts traffic for its VIPs in keepalived too")
	case r.accept != nil && !*r.accept:
		cv.rep.skip(r.acceptPos, "no_accept", "keepalived drops traffic for the VIPs with firewall rules (iptables or nftables); %s",
			noFirewall)
	case r.accept == nil && strict && out.priority != 255:
		cv.rep.skip(strictPos, "strict mode's firewall rules for "+out.name, "below priority 255 keepalived drops traffic for the "+
			"VIPs with firewall rules (iptables or nftables); %s", noFirewall)
	}
	out.lowerPrioNoAdvert = g.lowerPrioNoAdvert
	if r.lowerPrioNoAdvert != nil {
		out.lowerPrioNoAdvert = *r.lowerPrioNoAdvert
	}
	if strict {
		out.lowerPrioNoAdvert = true
	}
	out.downTimerAdverts = 3
	if g.downTimerAdverts != 0 {
		out.downTimerAdverts = g.downTimerAdverts
	}
	if r.downTimerAdverts != 0 {
		out.downTimerAdverts = r.downTimerAdverts
	}
	if r.checksumAsV2 {
		if out.version == 3 && r.family == 4 {
			out.checksum = "message-only"
			cv.rep.change(r.checksumPos, "v3_checksum_as_v2", "a keepalived 2.2.8 keyword (2.2.7 does not know it); "+
				"written as checksum: message-only")
		} else {
			cv.rep.skip(r.checksumPos, "v3_checksum_as_v2", "it applies to VRRPv3 over IPv4 only")
		}
	}

	// GARP.
	out.garp = r.garp
	if l := r.garp; l.lowerDelay >= 0 && l.lowerDelay != l.delay || l.lowerRepeat >= 0 && l.lowerRepeat != l.repeat {
		if !out.lowerPrioNoAdvert {
			cv.rep.skip(l.lowerPos, "garp_lower_prio_delay/repeat", "vrrpd announces after a lower-priority advert as it does "+
				"on becoming master (garp repeat %d, delay %s)", out.garp.repeat, seconds(out.garp.delay))
		}
	}

	r.finishAddresses()
	r.finishExtras()
	r.finishAuth(strict)
	r.finishTrack()
	return out
}

// finishTrack drops the tracked interface that is the instance's own, as keepalived
// does ("Ignoring track_interface since own interface").
func (r *instanceReader) finishTrack() {
	out := r.out
	kept := out.track[:0]
	for _, ref := range r.ownInterface {
		r.cv.rep.skip(ref.pos, "track_interface "+ref.name, "it is the instance's own interface, which keepalived and vrrpd "+
			"follow anyway (keepalived: \"Ignoring track_interface since own interface\"); a failure puts it in FAULT")
	}
	for _, ref := range out.track {
		if ref.kind == "interfaces" && ref.name == out.iface {
			r.cv.rep.skip(ref.pos, "track_interface "+ref.name, "it is the instance's own interface, which keepalived and vrrpd "+
				"follow anyway (keepalived: \"Ignoring track_interface since own interface\"); a failure puts it in FAULT")
			continue
		}
		kept = append(kept, ref)
	}
	out.track = kept
}

// finishAddresses writes the source, unicast and VIP settings.
func (r *instanceReader) finishAddresses() {
	cv, out := r.cv, r.out
	out.vips = r.vips
	// keepalived moves the VIPs that do not fit in one advert to the excluded list.
	if limit := maxVIPs(out.version, r.family); len(out.vips) > limit {
		moved := out.vips[limit:]
		out.vips = out.vips[:limit:limit]
		cv.rep.change(moved[0].pos, "virtual_ipaddress", "%d VIPs do not fit in one advert of a %d-byte packet (VRRPv%d over IPv%d "+
			"carries %d): keepalived moves the rest to the excluded list without a word, and so does convert; the peers must "+
			"advertise the same %d", len(r.vips), advertMTU, out.version, r.family, limit, limit)
		out.excluded = append(out.excluded, moved...)
	}
	for _, v := range r.excluded {
		if familyOf(v.prefix.Addr()) != r.family {
			cv.rep.skip(v.pos, "virtual_ipaddress_excluded "+v.prefix.String(), "vrrpd keeps one address family per instance; "+
				"add it to an IPv%d instance of its own", familyOf(v.prefix.Addr()))
			continue
		}
		out.excluded = append(out.excluded, v)
	}
	if len(r.peers) > 0 {
		u := &outUnicast{source: r.source, checkSource: r.checkSource || cv.glob.checkUnicastSrc}
		for _, p := range r.peers {
			if familyOf(p) != r.family {
				cv.rep.skip(r.unicastPos, "unicast_peer "+p.String(), "the instance is IPv%d; keepalived ignores a peer of another family", r.family)
				continue
			}
			u.peers = append(u.peers, p)
		}
		if !u.checkSource {
			u.checkComment = "keepalived's default (check_unicast_src not set)"
		}
		if !r.source.IsValid() {
			cv.rep.change(r.unicastPos, "unicast_src_ip", "not set: keepalived sends from the interface's primary address, and so does vrrpd")
		}
		if len(u.peers) > 0 {
			out.unicast = u
		}
		return
	}
	if r.source.IsValid() {
		out.source = r.source
	}
}

// maxVIPs is how many addresses one advert carries in a 1500-byte packet, as vrrpd
// counts them.
func maxVIPs(version, family int) int {
	ipHeader, addrLen := 20, 4
	if family == 6 {
		ipHeader, addrLen = 40, 16
	}
	header := 8
	if version == 2 {
		header += 8
	}
	return min(255, (advertMTU-ipHeader-header)/addrLen)
}

func (r *instanceReader) finishAuth(strict bool) {
	cv, out := r.cv, r.out
	switch {
	case r.authType == "" && r.authPass == "":
		return
	case r.authType == "":
		cv.rep.skip(r.authPos, "authentication", "no auth_type: keepalived sends adverts without authentication, and so does vrrpd")
	case r.authType == "AH":
		cv.rep.skip(r.authPos, "authentication AH", "vrrpd has no IPsec AH authentication; the peers ignore this node's adverts "+
			"until they stop using it too")
	case out.version == 3:
		cv.rep.skip(r.authPos, "authentication", "VRRPv3 has no authentication: keepalived ignores it (\"VRRP version 3 does not "+
			"support authentication\"), and so does convert")
	case strict:
		cv.rep.skip(r.authPos, "authentication", "keepalived ignores it in strict mode, and so does convert")
	case r.authPass == "":
		cv.rep.skip(r.authPos, "authentication", "no auth_pass; keepalived sends an empty password, which vrrpd cannot")
	default:
		pass := r.authPass
		if len(pass) > 8 {
			cv.rep.change(r.authPassPos, "auth_pass", "only the first 8 characters count (keepalived: \"Truncating auth_pass to 8 "+
				"characters\"); written as %q", pass[:8])
			pass = pass[:8]
		}
		out.auth = &outAuth{password: pass}
	}
}
