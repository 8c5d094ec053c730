package vrrp

import (
	"testing"
	"time"
)

// TestTimers checks Skew_Time and Master_Down_Interval against values worked out by hand
// from RFC 3768 section 6.1 and RFC 5798 section 6.1.
func TestTimers(t *testing.T) {
	tests := []struct {
		v        Version
		prio     uint8
		interval time.Duration
		adverts  int
		skew     time.Duration
		down     time.Duration
	}{
		{Version3, 100, time.Second, 3, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{Version3, 100, 100 * time.Millisecond, 3, 60937500, 360937500},
		{Version3, 100, 10 * time.Millisecond, 3, 6093750, 36093750},
		{Version3, 254, time.Second, 3, 7812500, 3007812500},
		{Version3, 255, time.Second, 3, 3906250, 3003906250},
		{Version3, 1, 40950 * time.Millisecond, 3, 40790039062, 163640039062},
		{Version3, 200, 2 * time.Second, 5, 437500 * time.Microsecond, 10437500 * time.Microsecond},
		// VRRPv2's skew ignores the interval.
		{Version2, 100, 5 * time.Second, 3, 609375 * time.Microsecond, 15609375 * time.Microsecond},
		{Version2, 254, time.Second, 3, 7812500, 3007812500},
	}
	for _, tt := range tests {
		if got := SkewTime(tt.v, tt.prio, tt.interval); got != tt.skew {
			t.Errorf("v%d priority %d %v: Skew_Time %v, want %v", tt.v, tt.prio, tt.interval, got, tt.skew)
		}
		if got := MasterDownInterval(tt.v, tt.prio, tt.interval, tt.adverts); got != tt.down {
			t.Errorf("v%d priority %d %v: Master_Down_Interval %v, want %v", tt.v, tt.prio, tt.interval, got, tt.down)
		}
	}
}
