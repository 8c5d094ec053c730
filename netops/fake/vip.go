package fake

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/vrrpd/vrrpd/netops"
)

// Addresses is an in-memory netops.Addresses: interfaces, each with the node addresses
// the test seeds and the VIPs added since. It keeps the rules of netops.VIPManager: a
// node address is never added or removed as a VIP. It is safe for concurrent use.
type Addresses struct {
	mu     sync.Mutex
	ifaces map[string]*addrIface
}

type addrIface struct {
	node map[netip.Addr]netip.Prefix
	vips map[netip.Addr]netops.VIP
}

var _ netops.Addresses = (*Addresses)(nil)

// NewAddresses returns an Addresses without interfaces.
func NewAddresses() *Addresses { return &Addresses{ifaces: map[string]*addrIface{}} }

// AddInterface creates interface name, if it does not exist, and gives it the node
// addresses node.
func (a *Addresses) AddInterface(name string, node ...netip.Prefix) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ifc := a.ifaces[name]
	if ifc == nil {
		ifc = &addrIface{node: map[netip.Addr]netip.Prefix{}, vips: map[netip.Addr]netops.VIP{}}
		a.ifaces[name] = ifc
	}
	for _, p := range node {
		ifc.node[p.Addr()] = p
	}
}

// Add adds v; see netops.Addresses.
func (a *Addresses) Add(v netops.VIP) error {
	if err := v.Validate(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ifc, err := a.iface(v)
	if err != nil {
		return fmt.Errorf("fake: add VIP %v: %w", v, err)
	}
	if _, ok := ifc.node[v.Prefix.Addr()]; ok {
		return fmt.Errorf("fake: add VIP %v: %w", v, netops.ErrNodeAddress)
	}
	if _, ok := ifc.vips[v.Prefix.Addr()]; !ok {
		ifc.vips[v.Prefix.Addr()] = v
	}
	return nil
}

// Remove removes v; see netops.Addresses.
func (a *Addresses) Remove(v netops.VIP) error {
	if err := v.Validate(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ifc, err := a.iface(v)
	if err != nil {
		// Like the real one: a VIP goes with its interface.
		return nil
	}
	if _, ok := ifc.node[v.Prefix.Addr()]; ok {
		return fmt.Errorf("fake: remove VIP %v: %w", v, netops.ErrNodeAddress)
	}
	delete(ifc.vips, v.Prefix.Addr())
	return nil
}

// Present reports whether the address of v is on its interface; see netops.Addresses.
func (a *Addresses) Present(v netops.VIP) (bool, error) {
	if err := v.Validate(); err != nil {
		return false, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ifc, err := a.iface(v)
	if err != nil {
		return false, fmt.Errorf("fake: VIP %v: %w", v, err)
	}
	_, node := ifc.node[v.Prefix.Addr()]
	_, vip := ifc.vips[v.Prefix.Addr()]
	return node || vip, nil
}

// VIPs returns the VIPs on interface name, in address order.
func (a *Addresses) VIPs(name string) []netops.VIP {
	a.mu.Lock()
	defer a.mu.Unlock()
	ifc := a.ifaces[name]
	if ifc == nil {
		return nil
	}
	var vs []netops.VIP
	for _, addr := range slices.SortedFunc(maps.Keys(ifc.vips), netip.Addr.Compare) {
		vs = append(vs, ifc.vips[addr])
	}
	return vs
}

// Has reports whether addr is on interface name, as a node address or a VIP.
func (a *Addresses) Has(name string, addr netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ifc := a.ifaces[name]
	if ifc == nil {
		return false
	}
	_, node := ifc.node[addr]
	_, vip := ifc.vips[addr]
	return node || vip
}

// iface returns v's interface. a.mu is held.
func (a *Addresses) iface(v netops.VIP) (*addrIface, error) {
	ifc := a.ifaces[v.Interface]
	if ifc == nil {
		return nil, fmt.Errorf("%w: %s", netops.ErrNoInterface, v.Interface)
	}
	return ifc, nil
}
