package config

import (
	"math"
	"net/netip"

	"go.yaml.in/yaml/v3"

	"github.com/vrrpd/vrrpd/vrrp"
)

// instanceExtras reads the instance keys that change how an instance follows its
// interface and its source, where it advertises, and what it does to the interface.
func (p *parser) instanceExtras(m mapping, path string, in *Instance) {
	if v := m.values["track_interface"]; v != nil {
		track, ok := p.boolean(v, path+".track_interface")
		in.IgnoreLink = ok && !track
	}
	if v := m.values["track_source"]; v != nil {
		in.TrackSource, _ = p.boolean(v, path+".track_source")
	}
	if v := m.values["promote_secondaries"]; v != nil {
		in.PromoteSecondaries, _ = p.boolean(v, path+".promote_secondaries")
	}
	if v := m.values["group"]; v != nil {
		in.Group, _ = p.group(v, path+".group")
	}
	if v := m.values["vmac"]; v != nil {
		in.VMAC = p.vmac(v, path+".vmac", in)
	}
	in.Routes = p.routes(m.values["routes"], path+".routes", in.Family())
	in.Rules = p.rules(m.values["rules"], path+".rules", in.Family())
}

// group reads a multicast group adverts are sent to instead of the RFC's.
func (p *parser) group(n *yaml.Node, path string) (netip.Addr, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		p.errorf(path, "write a multicast address, such as 224.0.0.18 or ff02::12", "%q is not an IP address", s)
	case a.Zone() != "":
		p.errorf(path, "write "+a.WithZone("").String(), "%v has a zone", a)
	case !a.IsMulticast():
		p.errorf(path, "write a multicast address, such as 224.0.0.18 or ff02::12", "%v is not a multicast address", a)
	case a.Is6() && a.As16()[1]&0x0f != 2:
		p.errorf(path, "use a link-local group, ff02::/16", "%v is not a link-local group: VRRP adverts stay on the link", a)
	default:
		return a, true
	}
	return netip.Addr{}, false
}

// validateExtras checks the keys instanceExtras read against the rest of the instance.
func validateExtras(r *reporter, in *Instance, path string) {
	if in.Group.IsValid() {
		switch {
		case in.Unicast != nil:
			r.errorf(path+".group", "remove group, or unicast", "group is the multicast destination; a unicast instance sends to its peers")
		case len(in.VIPs) > 0 && in.VIPs[0].Prefix.IsValid() && vrrp.FamilyOf(in.Group) != in.Family():
			r.errorf(path+".group", "", "group %v is %v, but the VIPs are %v", in.Group, vrrp.FamilyOf(in.Group), in.Family())
		}
	}
	if in.TrackSource && !in.Source.IsValid() && !r.failed(path+".source") {
		r.errorf(path+".track_source", "set source (or unicast.source), the address whose absence puts the instance in FAULT",
			"track_source needs a source address")
	}
	if in.PromoteSecondaries && in.Family() != vrrp.IPv4 {
		r.warnf(path+".promote_secondaries", "remove it", "promote_secondaries applies to IPv4 only; it is ignored here")
	}
	if d := in.GARP.RefreshOtherInterfaces; d > 0 && !hasOtherInterface(in) {
		r.warnf(path+".garp.refresh_other_interfaces", "remove it, or use garp.refresh",
			"no VIP is on another interface than %s: refresh_other_interfaces announces nothing", in.Interface)
	}
}

func hasOtherInterface(in *Instance) bool {
	for _, v := range append(append([]VIP(nil), in.VIPs...), in.ExcludedVIPs...) {
		if v.Interface != "" && v.Interface != in.Interface {
			return true
		}
	}
	return false
}

// notifyExtras reads the hooks keepalived has beyond the transitions: the master that
// hears a lower priority, priority changes, and an instance deleted by a reload.
func (p *parser) notifyExtras(m mapping, path string, n *Notify) {
	n.MasterRxLowerPri = p.command(m.values["master_rx_lower_pri"], path+".master_rx_lower_pri")
	n.Priority = p.command(m.values["priority"], path+".priority")
	if v := m.values["deleted"]; v != nil {
		// deleted: true sends DELETED to any; a command runs as well.
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
			n.Deleted, _ = p.boolean(v, path+".deleted")
			return
		}
		n.DeletedHook = p.command(v, path+".deleted")
		n.Deleted = len(n.DeletedHook) > 0
	}
}

// refreshOtherSpan bounds garp.refresh_other_interfaces as garp.refresh.
var refreshOtherSpan = span{lo: MinGARPRefresh, hi: math.MaxInt64, zero: true}
