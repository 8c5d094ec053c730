//go:build !linux

package netops

import (
	"context"
	"log/slog"
	"net/netip"
)

// VIPManager is only implemented on Linux.
type VIPManager struct{}

// NewVIPManager is only implemented on Linux.
func NewVIPManager(statePath string, log *slog.Logger) (*VIPManager, error) {
	return nil, ErrNotSupported
}

// Add is only implemented on Linux.
func (m *VIPManager) Add(v VIP) error { return ErrNotSupported }

// Remove is only implemented on Linux.
func (m *VIPManager) Remove(v VIP) error { return ErrNotSupported }

// Present is only implemented on Linux.
func (m *VIPManager) Present(v VIP) (bool, error) { return false, ErrNotSupported }

// Prepare is only implemented on Linux.
func (m *VIPManager) Prepare(v VIP) error { return ErrNotSupported }

// CleanStale is only implemented on Linux.
func (m *VIPManager) CleanStale() ([]VIP, error) { return nil, ErrNotSupported }

// Watch is only implemented on Linux; it returns at once.
func (m *VIPManager) Watch(ctx context.Context, events <-chan Event) {}

// HandleEvent is only implemented on Linux.
func (m *VIPManager) HandleEvent(e Event) {}

// Close is only implemented on Linux.
func (m *VIPManager) Close() error { return nil }

// NodeAddrs is only implemented on Linux.
func NodeAddrs(ifname string, held []VIP) ([]netip.Addr, error) { return nil, ErrNotSupported }
