package netops

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
)

// LinkStatePath returns the state file of the virtual MAC interfaces beside the VIPs'
// state file vipState: links.json in its directory.
func LinkStatePath(vipState string) string {
	return filepath.Join(filepath.Dir(vipState), "links.json")
}

// VMACAlias marks the virtual MAC interfaces vrrpd creates, as their interface alias
// (IFLA_IFALIAS, `ip link show` says "alias vrrpd vmac ..."): a leftover is
// recognised by it, and vrrpd never removes an interface without it.
const VMACAlias = "vrrpd vmac"

// VMAC kinds.
const (
	KindMacvlan = "macvlan"
	KindIpvlan  = "ipvlan"
)

// VMAC is a virtual MAC interface: a macvlan in private mode on Base with the VRRP
// virtual MAC 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6), or an L2
// ipvlan, which has Base's MAC (keepalived's use_ipvlan).
type VMAC struct {
	Name string
	Base string
	Kind string // KindMacvlan ("") or KindIpvlan
	VRID uint8
	IPv6 bool
	// LinkLocal, for IPv6, is the address the adverts go from: put on the interface so
	// that they can (its own would be derived from the virtual MAC, and RFC 5798
	// section 7.4 wants none).
	LinkLocal netip.Addr
	// Instance names the owner, for the alias.
	Instance string
}

// MAC returns the virtual router MAC of RFC 5798 section 7.3; nil for an ipvlan.
func (v VMAC) MAC() net.HardwareAddr {
	if v.Kind == KindIpvlan {
		return nil
	}
	fam := byte(1)
	if v.IPv6 {
		fam = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, v.VRID}
}

// Alias returns the interface alias that marks v as vrrpd's.
func (v VMAC) Alias() string { return VMACAlias + " " + v.Instance }

// Validate reports what is wrong with v, if anything.
func (v VMAC) Validate() error {
	var errs []error
	if v.Name == "" || len(v.Name) > maxLabel || strings.ContainsAny(v.Name, "/: ") {
		errs = append(errs, fmt.Errorf("bad interface name %q", v.Name))
	}
	if v.Base == "" || v.Base == v.Name {
		errs = append(errs, fmt.Errorf("bad base interface %q", v.Base))
	}
	switch v.Kind {
	case "", KindMacvlan:
		if v.VRID == 0 {
			errs = append(errs, errors.New("no VRID"))
		}
	case KindIpvlan:
	default:
		errs = append(errs, fmt.Errorf("unknown kind %q", v.Kind))
	}
	if v.LinkLocal.IsValid() && (!v.IPv6 || !v.LinkLocal.IsLinkLocalUnicast()) {
		errs = append(errs, fmt.Errorf("%v is not an IPv6 link-local address", v.LinkLocal))
	}
	if len(errs) > 0 {
		return fmt.Errorf("netops: virtual MAC %s: %w", v.Name, errors.Join(errs...))
	}
	return nil
}

// ErrNotVMAC means an interface of the name exists and is not a virtual MAC interface
// of vrrpd's: vrrpd neither takes it over nor removes it.
var ErrNotVMAC = errors.New("netops: the interface exists and is not vrrpd's virtual MAC interface")

// Links creates and removes virtual MAC interfaces. Implementations are safe for
// concurrent use. LinkManager is the Linux one; netops/fake has an in-memory one.
type Links interface {
	// CreateVMAC creates v, up, with the kernel parameters it needs: on an IPv4 one
	// arp_ignore 1, accept_local 1, rp_filter 0 and promote_secondaries 1, and IPv6
	// off, as keepalived sets them; on its base interface arp_ignore 1 and arp_filter 1
	// (keepalived's), so that neither answers ARP for the other's addresses, and
	// arp_announce 2, so that the base never asks with a VIP as its address. An IPv6 one gets no
	// address of its own but LinkLocal (accept_dad 0). One of vrrpd's that exists
	// already with the right base and MAC is taken as it is; one with another base or
	// MAC is created again. It fails with ErrNotVMAC when the name is another
	// interface's.
	CreateVMAC(v VMAC) error
	// RemoveVMAC removes the interface name if it is vrrpd's virtual MAC interface,
	// and puts back the base interface's parameters once no virtual MAC interface of
	// vrrpd's is left on it. Removing an absent one succeeds.
	RemoveVMAC(name string) error
}
