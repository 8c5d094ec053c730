package daemon

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// sleepUntil blocks the calling thread until t, to within the kernel's timer slack
// (50 µs for an ordinary thread), where the runtime's own sleep rounds to milliseconds.
func sleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := unix.NsecToTimespec(d.Nanoseconds())
		if err := unix.Nanosleep(&ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
	}
}
