package daemon

import (
	"fmt"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// An instance with a virtual MAC (keepalived's use_vmac) creates its macvlan when it
// opens, sends and hears its adverts there (unless xmit_base), puts there the VIPs of
// its interface and family, and removes it when it ends.

// advertInterface is where the instance's adverts go and come from.
func advertInterface(in config.Instance) string {
	if v := in.VMAC; v != nil && !v.XmitBase {
		return v.Name
	}
	return in.Interface
}

// vipInterface is where a VIP written on ifname goes: the virtual MAC interface for
// those of the instance's interface and family.
func vipInterface(in config.Instance, ifname string, v config.VIP) string {
	if in.VMAC != nil && ifname == in.Interface && vrrp.FamilyOf(v.Prefix.Addr()) == in.Family() {
		return in.VMAC.Name
	}
	return ifname
}

// createVMAC creates the instance's virtual MAC interface, if it has one.
func (in *instance) createVMAC() error {
	v := in.cfg.VMAC
	if v == nil {
		return nil
	}
	if in.d.sys.Links == nil {
		return fmt.Errorf("virtual MAC %s: this system cannot create interfaces", v.Name)
	}
	nv := netops.VMAC{Name: v.Name, Base: in.cfg.Interface, VRID: in.cfg.VRID, IPv6: in.cfg.Family() == vrrp.IPv6,
		Instance: in.cfg.Name}
	if v.Kind == config.VMACIpvlan {
		nv.Kind = netops.KindIpvlan
	}
	if nv.IPv6 {
		// The adverts go from the base's link-local address: it goes on the virtual MAC
		// interface too, as keepalived puts it.
		if src, err := in.source(); err == nil && src.IsLinkLocalUnicast() {
			nv.LinkLocal = src
		}
	}
	if err := in.d.sys.Links.CreateVMAC(nv); err != nil {
		return fmt.Errorf("instance %s: %w", in.cfg.Name, err)
	}
	in.log.Info("virtual MAC interface up", "interface", v.Name, "mac", nv.MAC().String())
	return nil
}

// removeVMAC removes the instance's virtual MAC interface, if it has one; the instance
// has released its VIPs.
func (in *instance) removeVMAC() {
	v := in.cfg.VMAC
	if v == nil || in.d.sys.Links == nil {
		return
	}
	if err := in.d.sys.Links.RemoveVMAC(v.Name); err != nil {
		in.log.Error("cannot remove the virtual MAC interface", "interface", v.Name, "error", err)
	}
}

// vmacEvent creates again a virtual MAC interface someone deleted: the instance's
// socket is opened again by the link event of its return, and the VIPs put back.
func (d *Daemon) vmacEvent(ev netops.LinkEvent) {
	if !ev.Deleted {
		return
	}
	d.mu.Lock()
	var owners []*instance
	for _, in := range d.instances {
		if in.cfg.VMAC != nil && in.cfg.VMAC.Name == ev.Name {
			owners = append(owners, in)
		}
	}
	d.mu.Unlock()
	for _, in := range owners {
		in.do(func() {
			in.log.Warn("virtual MAC interface deleted by someone else: creating it again", "interface", ev.Name)
			if err := in.createVMAC(); err != nil {
				in.log.Error("cannot create the virtual MAC interface again", "error", err)
			}
		})
	}
}

// VMACNames lists the virtual MAC interfaces of a configuration, which a start keeps.
func VMACNames(cfg *config.Config) []string {
	var names []string
	for _, in := range cfg.Instances {
		if in.VMAC != nil {
			names = append(names, in.VMAC.Name)
		}
	}
	return names
}
