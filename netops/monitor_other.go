//go:build !linux

package netops

import "log/slog"

// NewMonitor is only implemented on Linux.
func NewMonitor(log *slog.Logger) (*Monitor, error) {
	return nil, ErrNotSupported
}

// LinkUp is only implemented on Linux.
func LinkUp(ifname string) (bool, error) { return false, ErrNotSupported }
