//go:build !linux

package netops

import "log/slog"

// RouteManager is only implemented on Linux.
type RouteManager struct{}

// NewRouteManager is only implemented on Linux.
func NewRouteManager(statePath string, log *slog.Logger) (*RouteManager, error) {
	return nil, ErrNotSupported
}

// AddRoute is only implemented on Linux.
func (m *RouteManager) AddRoute(r Route) error { return ErrNotSupported }

// RemoveRoute is only implemented on Linux.
func (m *RouteManager) RemoveRoute(r Route) error { return ErrNotSupported }

// AddRule is only implemented on Linux.
func (m *RouteManager) AddRule(r Rule) error { return ErrNotSupported }

// RemoveRule is only implemented on Linux.
func (m *RouteManager) RemoveRule(r Rule) error { return ErrNotSupported }

// CleanStale is only implemented on Linux.
func (m *RouteManager) CleanStale() ([]string, error) { return nil, ErrNotSupported }

// Recorded is only implemented on Linux.
func (m *RouteManager) Recorded() []string { return nil }

// Close is only implemented on Linux.
func (m *RouteManager) Close() error { return nil }
