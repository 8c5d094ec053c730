package main

import (
	"runtime/debug"
	"testing"
)

// TestSetHeapGrowth: vrrpd's GOGC, unless the environment sets one.
func TestSetHeapGrowth(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	setHeapGrowth(runningGrowth)
	if got := debug.SetGCPercent(100); got != runningGrowth {
		t.Errorf("GOGC %d, want %d", got, runningGrowth)
	}
	t.Setenv("GOGC", "200")
	setHeapGrowth(runningGrowth)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set: %d, want it left alone (100)", got)
	}
}
