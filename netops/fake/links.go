package fake

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/vrrpd/vrrpd/netops"
)

// Links is an in-memory netops.Links: a kernel's interfaces and their parameters, with
// netops.LinkManager's rules. It is safe for concurrent use.
type Links struct {
	mu     sync.Mutex
	links  map[string]*Link
	sysctl map[string]string
	// orig are the base interfaces' parameters before the first virtual MAC changed
	// them.
	orig map[string]map[string]string
	// NoIpvlan makes the fake a kernel without ipvlan links.
	NoIpvlan bool
}

// Link is an interface of the fake kernel.
type Link struct {
	Name, Kind, Parent, Alias string
	MAC                       net.HardwareAddr
	Up                        bool
	Addrs                     []netip.Addr
}

var _ netops.Links = (*Links)(nil)

// NewLinks returns a fake kernel with the interfaces bases, each with the parameters
// at 0.
func NewLinks(bases ...string) *Links {
	f := &Links{links: map[string]*Link{}, sysctl: map[string]string{}, orig: map[string]map[string]string{}}
	for _, b := range bases {
		f.links[b] = &Link{Name: b, Kind: "veth", Up: true}
		for _, p := range []string{"arp_ignore", "arp_filter", "arp_announce"} {
			f.sysctl["net/ipv4/conf/"+b+"/"+p] = "0"
		}
	}
	return f
}

// CreateVMAC implements netops.Links.
func (f *Links) CreateVMAC(v netops.VMAC) error {
	if err := v.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.links[v.Base] == nil {
		return fmt.Errorf("fake: virtual MAC %s: %w", v.Name, netops.ErrNoInterface)
	}
	kind := netops.KindMacvlan
	if v.Kind == netops.KindIpvlan {
		if f.NoIpvlan {
			return fmt.Errorf("fake: virtual MAC %s: ipvlan: operation not supported", v.Name)
		}
		kind = netops.KindIpvlan
	}
	if l := f.links[v.Name]; l != nil {
		if !strings.HasPrefix(l.Alias, netops.VMACAlias) {
			return fmt.Errorf("fake: virtual MAC %s: %w", v.Name, netops.ErrNotVMAC)
		}
		if l.Parent != v.Base || l.Kind != kind || !bytes.Equal(l.MAC, v.MAC()) {
			delete(f.links, v.Name)
		}
	}
	if !v.IPv6 {
		if _, ok := f.orig[v.Base]; !ok {
			f.orig[v.Base] = map[string]string{}
			for _, p := range []string{"arp_ignore", "arp_filter", "arp_announce"} {
				f.orig[v.Base][p] = f.sysctl["net/ipv4/conf/"+v.Base+"/"+p]
			}
		}
	}
	l := f.links[v.Name]
	if l == nil {
		l = &Link{Name: v.Name, Kind: kind, Parent: v.Base, Alias: v.Alias(), MAC: v.MAC()}
		f.links[v.Name] = l
	}
	if v.IPv6 {
		f.sysctl["net/ipv6/conf/"+v.Name+"/accept_dad"] = "0"
		if v.LinkLocal.IsValid() && !containsAddr(l.Addrs, v.LinkLocal) {
			l.Addrs = append(l.Addrs, v.LinkLocal)
		}
	} else {
		for p, val := range map[string]string{"arp_ignore": "1", "accept_local": "1", "rp_filter": "0", "promote_secondaries": "1"} {
			f.sysctl["net/ipv4/conf/"+v.Name+"/"+p] = val
		}
		f.sysctl["net/ipv6/conf/"+v.Name+"/disable_ipv6"] = "1"
		f.sysctl["net/ipv4/conf/"+v.Base+"/arp_ignore"] = "1"
		f.sysctl["net/ipv4/conf/"+v.Base+"/arp_filter"] = "1"
		f.sysctl["net/ipv4/conf/"+v.Base+"/arp_announce"] = "2"
	}
	l.Up = true
	return nil
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// RemoveVMAC implements netops.Links.
func (f *Links) RemoveVMAC(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.links[name]
	if l == nil {
		return nil
	}
	if !strings.HasPrefix(l.Alias, netops.VMACAlias) {
		return fmt.Errorf("fake: remove virtual MAC %s: %w", name, netops.ErrNotVMAC)
	}
	delete(f.links, name)
	for _, o := range f.links {
		if o.Parent == l.Parent && strings.HasPrefix(o.Alias, netops.VMACAlias) {
			return nil
		}
	}
	if orig, ok := f.orig[l.Parent]; ok {
		for p, v := range orig {
			f.sysctl["net/ipv4/conf/"+l.Parent+"/"+p] = v
		}
		delete(f.orig, l.Parent)
	}
	return nil
}

// AddForeignLink adds an interface that is not vrrpd's.
func (f *Links) AddForeignLink(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links[name] = &Link{Name: name, Kind: "veth", Up: true}
}

// Link returns what the fake kernel has of the interface name.
func (f *Links) Link(name string) (Link, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.links[name]
	if l == nil {
		return Link{}, false
	}
	return *l, true
}

// Sysctl returns a parameter of the fake kernel, by its path under /proc/sys.
func (f *Links) Sysctl(path string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sysctl[path]
}
