package vrrp

import (
	"fmt"
	"time"
)

// DefaultDownTimerAdverts is the number of missed adverts in Master_Down_Interval.
const DefaultDownTimerAdverts = 3

// SkewTime returns Skew_Time for a router of effective priority p. VRRPv2 (RFC 3768
// section 6.1) ignores the interval: (256 - p) / 256 seconds. VRRPv3 (RFC 5798 section
// 6.1) scales the master's interval: (256 - p) * Master_Adver_Interval / 256.
func SkewTime(v Version, p uint8, masterAdverInterval time.Duration) time.Duration {
	base := masterAdverInterval
	if v == Version2 {
		base = time.Second
	}
	return time.Duration(256-int64(p)) * base / 256
}

// MasterDownInterval returns Master_Down_Interval: adverts x Master_Adver_Interval +
// Skew_Time, where adverts is 3 in the RFCs (keepalived's down_timer_adverts).
func MasterDownInterval(v Version, p uint8, masterAdverInterval time.Duration, adverts int) time.Duration {
	return time.Duration(adverts)*masterAdverInterval + SkewTime(v, p, masterAdverInterval)
}

// seconds formats d as seconds with millisecond precision: "3.609 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f s", d.Seconds())
}
