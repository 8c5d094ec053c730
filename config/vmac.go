package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/vrrpd/vrrpd/vrrp"
)

// VMAC is an instance's virtual MAC interface (keepalived's use_vmac): a macvlan on
// the instance's interface with the MAC 00:00:5e:00:01:VRID (IPv4) or
// 00:00:5e:00:02:VRID (IPv6), which carries the VIPs and sends the adverts, so that a
// failover moves a MAC the switches learn, not addresses clients must relearn.
type VMAC struct {
	// Name is the interface's; default vrrp.VRID (IPv4) or vrrp6.VRID (IPv6).
	Name string
	// XmitBase sends and receives the adverts on the instance's interface rather than
	// on the virtual MAC's (keepalived's vmac_xmit_base).
	XmitBase bool
	// Kind is macvlan, or ipvlan (keepalived's use_ipvlan: an L2 ipvlan, which has
	// the instance interface's MAC, not a virtual one).
	Kind string
	Line int
}

// VMAC kinds.
const (
	VMACMacvlan = "macvlan"
	VMACIpvlan  = "ipvlan"
)

var vmacKeys = []string{"name", "xmit_base", "kind"}

// DefaultVMACName is the virtual MAC interface's name when the file gives none.
func DefaultVMACName(f vrrp.Family, vrid uint8) string {
	if f == vrrp.IPv6 {
		return fmt.Sprintf("vrrp6.%d", vrid)
	}
	return fmt.Sprintf("vrrp.%d", vrid)
}

// vmac reads an instance's vmac: true for the defaults, or a mapping.
func (p *parser) vmac(n *yaml.Node, path string, in *Instance) *VMAC {
	v := &VMAC{Kind: VMACMacvlan, Line: n.Line}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		on, ok := p.boolean(n, path)
		if !ok || !on {
			return nil
		}
	} else {
		m := p.mapping(n, path, vmacKeys)
		if x := m.values["name"]; x != nil {
			v.Name, _ = p.ifname(x, path+".name")
		}
		if x := m.values["xmit_base"]; x != nil {
			v.XmitBase, _ = p.boolean(x, path+".xmit_base")
		}
		if x := m.values["kind"]; x != nil {
			v.Kind, _ = p.oneOf(x, path+".kind", VMACMacvlan, VMACIpvlan)
		}
	}
	if v.Name == "" && in.VRID != 0 {
		v.Name = DefaultVMACName(in.Family(), in.VRID)
	}
	return v
}

// validateVMACs checks what instances must not share: a virtual MAC interface, which
// is one instance's, and whose name is no instance's interface.
func validateVMACs(r *reporter, cfg *Config, paths []string) {
	owner := map[string]int{}
	ifaces := map[string]bool{}
	for _, in := range cfg.Instances {
		ifaces[in.Interface] = true
	}
	for i, in := range cfg.Instances {
		if in.VMAC == nil || in.VMAC.Name == "" {
			continue
		}
		p := paths[i] + ".vmac.name"
		if first, dup := owner[in.VMAC.Name]; dup {
			r.errorf(p, "give each instance's virtual MAC interface its own name",
				"%s is already the virtual MAC interface of instance %s (line %d)", in.VMAC.Name, cfg.Instances[first].Name, cfg.Instances[first].Line)
			continue
		}
		owner[in.VMAC.Name] = i
		if ifaces[in.VMAC.Name] && in.VMAC.Name != in.Interface {
			r.errorf(p, "name the virtual MAC interface after no interface of the node", "%s is an instance's interface", in.VMAC.Name)
		}
	}
}

// validateVMAC checks an instance's virtual MAC against the rest of the instance.
func validateVMAC(r *reporter, in *Instance, path string) {
	v := in.VMAC
	if v == nil {
		return
	}
	switch {
	case v.Name == in.Interface && v.Name != "":
		r.errorf(path+".vmac.name", "give the virtual MAC interface a name of its own, such as "+DefaultVMACName(in.Family(), in.VRID),
			"%s is the instance's own interface", v.Name)
	case in.Unicast != nil && !v.XmitBase:
		r.errorf(path+".vmac.xmit_base", "set xmit_base: true, as keepalived requires with unicast peers",
			"a unicast instance sends its adverts from its own interface: the peers know its address there")
	}
}
