package daemon

import (
	"net/netip"
	"sync"

	"github.com/vrrpd/vrrpd/netops"
)

// holders records which instances hold each VIP, so that an instance that lets a VIP go
// does not delete it from under another instance of this daemon that holds it too: a
// VIP that a reload moves between instances, or that a leaving instance still holds
// for the next master when a new one takes it. Safe for concurrent use.
type holders struct {
	mu sync.Mutex
	m  map[holderKey]map[*instance]bool
}

// holderKey identifies a VIP on its interface, whatever its prefix length.
type holderKey struct {
	ifname string
	addr   netip.Addr
}

func keyOfVIP(v netops.VIP) holderKey { return holderKey{v.Interface, v.Prefix.Addr()} }

// take records that in holds v.
func (h *holders) take(v netops.VIP, in *instance) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[holderKey]map[*instance]bool{}
	}
	k := keyOfVIP(v)
	if h.m[k] == nil {
		h.m[k] = map[*instance]bool{}
	}
	h.m[k][in] = true
}

// drop records that in lets v go, and reports whether no instance holds it any more:
// then the VIP may leave the kernel.
func (h *holders) drop(v netops.VIP, in *instance) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := keyOfVIP(v)
	delete(h.m[k], in)
	if len(h.m[k]) > 0 {
		return false
	}
	delete(h.m, k)
	return true
}
