package main

import (
	"runtime/debug"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
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

// TestFirstElections: the heap tightens after the slowest instance's first election.
func TestFirstElections(t *testing.T) {
	cfg := &config.Config{Instances: []config.Instance{
		{AdvertInterval: 100 * time.Millisecond, StartupGrace: 400 * time.Millisecond},
		{AdvertInterval: time.Second, StartupGrace: 400 * time.Millisecond},
	}}
	if got, want := firstElections(cfg), 3*time.Second+time.Second+time.Second; got != want {
		t.Errorf("first elections over after %v, want %v", got, want)
	}
	if got, want := firstElections(&config.Config{}), time.Second; got != want {
		t.Errorf("without instances: %v, want %v", got, want)
	}
}
