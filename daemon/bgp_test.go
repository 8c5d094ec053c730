package daemon

import (
	"slices"
	"testing"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/rhi"
)

// TestRouteWords: the control package lists the words of package rhi's route states and
// causes, as metrics give each a series.
func TestRouteWords(t *testing.T) {
	var states, causes []string
	for _, s := range rhi.States {
		states = append(states, s.String())
	}
	for _, c := range rhi.Causes {
		causes = append(causes, string(c))
	}
	if !slices.Equal(states, control.RouteStates) {
		t.Errorf("rhi's states %q, control's %q", states, control.RouteStates)
	}
	if !slices.Equal(causes, control.RouteCauses) {
		t.Errorf("rhi's causes %q, control's %q", causes, control.RouteCauses)
	}
}
