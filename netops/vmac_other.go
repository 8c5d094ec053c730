//go:build !linux

package netops

import "log/slog"

// LinkManager is only implemented on Linux.
type LinkManager struct{}

// NewLinkManager is only implemented on Linux.
func NewLinkManager(statePath string, log *slog.Logger) (*LinkManager, error) {
	return nil, ErrNotSupported
}

// CreateVMAC is only implemented on Linux.
func (m *LinkManager) CreateVMAC(v VMAC) error { return ErrNotSupported }

// RemoveVMAC is only implemented on Linux.
func (m *LinkManager) RemoveVMAC(name string) error { return ErrNotSupported }

// CleanStale is only implemented on Linux.
func (m *LinkManager) CleanStale(keep []string) ([]string, error) { return nil, ErrNotSupported }

// Close is only implemented on Linux.
func (m *LinkManager) Close() error { return nil }
