//go:build !linux

package netops

import "net/netip"

// LinuxAnnouncer is only implemented on Linux; elsewhere Announce returns
// ErrNotSupported.
type LinuxAnnouncer struct{}

var _ Announcer = (*LinuxAnnouncer)(nil)

// NewAnnouncer returns an announcer that cannot announce on this system.
func NewAnnouncer() *LinuxAnnouncer { return &LinuxAnnouncer{} }

// Announce returns ErrNotSupported.
func (*LinuxAnnouncer) Announce(ifname string, vips []netip.Addr, count int, reply bool) error {
	return ErrNotSupported
}

// Prepare returns ErrNotSupported.
func (*LinuxAnnouncer) Prepare(VIP) error { return ErrNotSupported }

// Close does nothing.
func (*LinuxAnnouncer) Close() error { return nil }
