package keepalived

import (
	"net"
	"net/netip"
	"strconv"
	"time"
)

// The instance keywords that change how an instance follows its interface and source,
// where it advertises, what it does to its interface, and the hooks beyond the
// transitions.

// extras are what those keywords said, before the instance is finished.
type extras struct {
	faultNoPeer    bool
	faultNoPeerPos Pos
	trackSrc       bool
	trackSrcPos    Pos
	garpExtra      time.Duration
	garpExtraAll   bool
	garpExtraPos   Pos
	groupPos       Pos
	vmac           *outVMAC
	vmacPos        Pos
	xmitBase       bool
	xmitBasePos    Pos
	vmacGARP       int
	vmacGARPPos    Pos
}

// outVMAC is an instance's virtual MAC interface, in vrrpd's keys.
type outVMAC struct {
	name     string
	ipvlan   bool
	xmitBase bool
}

// useVMAC reads use_vmac [NAME] [MAC] or use_ipvlan [NAME] [ADDRESS] [MODE].
func (r *instanceReader) useVMAC(n *node, kw string) {
	v := &outVMAC{ipvlan: kw == "use_ipvlan"}
	args := n.words[1:]
	if len(args) > 0 {
		if _, err := net.ParseMAC(args[0]); err != nil && !isIPOrMode(args[0]) {
			v.name = args[0]
			args = args[1:]
		}
	}
	for _, a := range args {
		switch {
		case !v.ipvlan:
			r.cv.rep.skip(n.pos, kw+" "+a, "vrrpd gives the interface the RFC's virtual MAC 00:00:5e:00:0X:VRID; a MAC of one's own "+
				"is not converted")
		case a == "bridge":
		default:
			r.cv.rep.skip(n.pos, kw+" "+a, "vrrpd creates the ipvlan in L2 bridge mode without an address of its own: the adverts "+
				"go from the instance's interface's address")
		}
	}
	r.x.vmac, r.x.vmacPos = v, n.pos
}

// isIPOrMode reports whether a use_ipvlan argument is its address or mode, not a name.
func isIPOrMode(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return s == "bridge" || s == "private" || s == "vepa"
}

// vmacGARP reads vmac_garp_intvl SECONDS [all].
func (r *instanceReader) vmacGARP(n *node) {
	v, ok := parseUint(n.arg(0), 1, 86400)
	if !ok {
		r.cv.rep.skip(n.pos, n.describe(), "not a number of seconds; keepalived ignores it")
		return
	}
	r.x.vmacGARP, r.x.vmacGARPPos = v, n.pos
}

// extraStatement reads one of those keywords; it reports whether kw was one.
func (r *instanceReader) extraStatement(n *node, kw string) bool {
	cv, out := r.cv, r.out
	switch kw {
	case "dont_track_primary":
		out.ignoreLink = true
	case "track_src_ip":
		r.x.trackSrc, r.x.trackSrcPos = true, n.pos
	case "promote_secondaries":
		out.promoteSecondaries = true
	case "unicast_fault_no_peer":
		r.x.faultNoPeer, r.x.faultNoPeerPos = true, n.pos
	case "mcast_dst_ip":
		r.mcastDst(n)
	case "higher_prio_send_advert":
		if on, ok := optionalBool(n); !ok {
			cv.rep.skip(n.pos, n.describe(), "not on or off; keepalived ignores it")
		} else if on {
			cv.rep.change(n.pos, n.describe(), "nothing to write: vrrpd's heal_split_brain (on by default) sends an advert, at "+
				"priority 1, before it steps down to a higher priority, so that the other master announces its VIPs again")
		}
	case "garp_extra_if":
		r.garpExtra(n)
	case "use_vmac", "use_ipvlan":
		r.useVMAC(n, kw)
	case "vmac_xmit_base":
		r.x.xmitBase, r.x.xmitBasePos = true, n.pos
	case "use_vmac_addr":
		cv.rep.skip(n.pos, n.describe(), "vrrpd puts on the virtual MAC interface the VIPs of the instance's own interface and "+
			"family only; the others stay on their interfaces with their own MAC")
	case "virtual_routes":
		r.virtualRoutes(n)
	case "virtual_rules":
		r.virtualRules(n)
	case "notify_master_rx_lower_pri":
		r.out.notify = cv.readNotifyAs(n, r.out.notify, "master_rx_lower_pri")
	case "notify_deleted":
		if len(n.words) < 2 {
			r.out.notify = append(r.out.notify, outNotify{pos: n.pos, key: "deleted"})
			return true
		}
		r.out.notify = cv.readNotifyAs(n, r.out.notify, "deleted")
	case "notify_priority_changes":
		if on, ok := optionalBool(n); !ok {
			cv.rep.skip(n.pos, n.describe(), "not on or off; keepalived ignores it")
		} else if on {
			cv.rep.change(n.pos, n.describe(), "keepalived writes MASTER_PRIORITY and BACKUP_PRIORITY to its notify FIFO only: "+
				"`vrrpd events` streams the priority changes, and notify.priority runs a command on each; nothing written")
		}
	default:
		return false
	}
	return true
}

// mcastDst reads mcast_dst_ip: a multicast group of the instance's family.
func (r *instanceReader) mcastDst(n *node) {
	a, err := netip.ParseAddr(n.arg(0))
	switch {
	case err != nil || a.Zone() != "" || !a.IsMulticast():
		r.cv.rep.skip(n.pos, n.describe(), "not a multicast address; keepalived ignores it")
	case a.Is6() && a.As16()[1]&0x0f != 2:
		r.cv.rep.skip(n.pos, n.describe(), "keepalived takes only link-local IPv6 groups (ffX2::)")
	case r.family != 0 && familyOf(a) != r.family:
		r.cv.rep.skip(n.pos, n.describe(), "the instance is IPv%d; keepalived ignores a group of another family", r.family)
	default:
		r.out.group, r.x.groupPos = a, n.pos
	}
}

// garpExtra reads garp_extra_if [all] SECONDS.
func (r *instanceReader) garpExtra(n *node) {
	args := n.words[1:]
	all := len(args) > 0 && args[0] == "all"
	if all {
		args = args[1:]
	}
	v, ok := 0, len(args) == 1
	if ok {
		v, ok = parseUint(args[0], 0, 86400)
	}
	if !ok {
		r.cv.rep.skip(n.pos, n.describe(), "not [all] and a number of seconds; keepalived ignores it")
		return
	}
	r.x.garpExtra, r.x.garpExtraAll, r.x.garpExtraPos = time.Duration(v)*time.Second, all, n.pos
}

// finishExtras applies keepalived's rules to what the extras said.
func (r *instanceReader) finishExtras() {
	cv, out := r.cv, r.out
	switch v := r.x.vmac; {
	case v != nil:
		if v.name == "" {
			// keepalived 2.2.7 names it vrrp.VRID whatever the family: written out, so
			// that vrrpd's default for IPv6 (vrrp6.VRID) does not rename it.
			v.name = "vrrp." + strconv.Itoa(out.vrid)
		}
		v.xmitBase = r.x.xmitBase
		if len(r.peers) > 0 && !v.xmitBase {
			v.xmitBase = true
			cv.rep.change(r.x.vmacPos, "use_vmac", "keepalived needs vmac_xmit_base with unicast peers (the peers know this node's "+
				"own address): written as xmit_base: true")
		}
		out.vmac = v
		if r.x.vmacGARP > 0 {
			d := time.Duration(r.x.vmacGARP) * time.Second
			if cur := time.Duration(out.garp.refresh) * time.Second; cur == 0 || d < cur {
				out.garp.refresh, out.garp.refreshRepeat = r.x.vmacGARP, 1
			}
			cv.rep.change(r.x.vmacGARPPos, "vmac_garp_intvl", "written as garp refresh: %s, which announces every VIP that often",
				formatDuration(time.Duration(out.garp.refresh)*time.Second))
		}
	case r.x.xmitBase:
		cv.rep.skip(r.x.xmitBasePos, "vmac_xmit_base", "the instance has no use_vmac; keepalived ignores it")
	case r.x.vmacGARP > 0:
		cv.rep.skip(r.x.vmacGARPPos, "vmac_garp_intvl", "the instance has no use_vmac; keepalived ignores it")
	}
	if out.group.IsValid() && familyOf(out.group) != r.family {
		cv.rep.skip(r.x.groupPos, "mcast_dst_ip "+out.group.String(), "the instance is IPv%d; keepalived ignores a group of another family", r.family)
		out.group = netip.Addr{}
	}
	if r.x.faultNoPeer {
		switch {
		case out.unicast != nil:
			cv.rep.change(r.x.faultNoPeerPos, "unicast_fault_no_peer", "nothing to write: the instance has peers, and vrrpd refuses "+
				"a unicast instance without peers unless they are written as peers: []")
		default:
			// keepalived: unicast mode without peers, in FAULT until a reload gives it some.
			out.unicast = &outUnicast{source: r.source, checkSource: r.checkSource || cv.glob.checkUnicastSrc}
			out.source = netip.Addr{}
			cv.rep.change(r.x.faultNoPeerPos, "unicast_fault_no_peer", "no unicast_peer: written as unicast with peers: [], "+
				"which keeps the instance in FAULT, as keepalived does")
		}
		if out.group.IsValid() {
			cv.rep.skip(r.x.groupPos, "mcast_dst_ip "+out.group.String(), "the instance is unicast: keepalived ignores its group")
			out.group = netip.Addr{}
		}
	}
	if !out.group.IsValid() && out.unicast == nil {
		if g, ok := cv.glob.mcastGroup[r.family]; ok {
			out.group = g // keepalived's vrrp_mcast_group4/6: every multicast instance's group
		}
	}
	if r.x.trackSrc {
		if r.source.IsValid() {
			out.trackSource = true
		} else {
			cv.rep.skip(r.x.trackSrcPos, "track_src_ip", "no mcast_src_ip or unicast_src_ip to track: keepalived tracks nothing")
		}
	}
	if d := r.x.garpExtra; d > 0 {
		if r.x.garpExtraAll {
			// Every interface: the instance's VIPs all, as garp_master_refresh does.
			if cur := time.Duration(out.garp.refresh) * time.Second; cur == 0 || d < cur {
				out.garp.refresh = int(d / time.Second)
				out.garp.refreshRepeat = 1
			}
			cv.rep.change(r.x.garpExtraPos, "garp_extra_if all", "written as garp refresh: %s, which announces every VIP of the "+
				"instance that often", formatDuration(time.Duration(out.garp.refresh)*time.Second))
		} else {
			out.refreshOther = d
		}
	}
}
