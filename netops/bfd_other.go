//go:build !linux

package netops

import (
	"net/netip"

	"github.com/vrrpd/vrrpd/vrrp"
)

// ListenBFD is only implemented on Linux.
func (KernelBFD) ListenBFD(vrrp.Family) (BFDListener, error) { return nil, ErrNotSupported }

// DialBFD is only implemented on Linux.
func (KernelBFD) DialBFD(_, _ netip.Addr, _ string) (BFDSender, error) { return nil, ErrNotSupported }
