//go:build !linux

package daemon

import "time"

// sleepUntil sleeps until t as precisely as the runtime can.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
