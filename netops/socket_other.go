//go:build !linux

package netops

import "github.com/vrrpd/vrrpd/vrrp"

// OpenSocket is only implemented on Linux.
func OpenSocket(ifname string, family vrrp.Family) (Socket, error) {
	return nil, ErrNotSupported
}
