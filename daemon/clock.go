package daemon

import (
	"sync"
	"time"
)

// Clock is the daemon's time: the system clock, or a fake one that tests move by hand,
// so that no test depends on a timer firing on time on a loaded machine.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() Timer
}

// Timer is a timer that one goroutine resets and reads.
type Timer interface {
	// C delivers the time when the timer fires.
	C() <-chan time.Time
	// Reset makes the timer fire once after d, dropping a firing not yet read.
	Reset(d time.Duration)
	// ResetExact is Reset for a deadline that elects a master, such as a backup's
	// Skew_Time: it fires as close to d as the system allows, at the cost of a short
	// sleep of its own.
	ResetExact(d time.Duration)
	Stop()
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer() Timer {
	s := &sysTimer{t: time.NewTimer(time.Hour)}
	s.t.Stop()
	s.long = time.AfterFunc(time.Hour, s.sharpen)
	s.long.Stop()
	return s
}

// sharpSlack is how much of an exact wait sysTimer sleeps out itself. The runtime's
// timers sleep in epoll_wait, whose timeout counts whole milliseconds: one that falls
// due while every goroutine sleeps fires up to a millisecond late, 0.4 ms on average on
// an idle machine. The Skew_Times of backups one priority apart differ by 3.9 ms at 1 s
// adverts, by 0.4 ms at 100 ms.
const sharpSlack = time.Millisecond

// sharpSpin is the end of an exact wait that sysTimer spends awake, reading the clock:
// a thread that sleeps to the deadline itself wakes 0.1 to 0.25 ms late on a virtual
// machine whose CPU was idle. It costs that much CPU once per deadline that does come,
// a takeover, since adverts reset a backup's wait long before.
const sharpSpin = 250 * time.Microsecond

// sysTimer is a runtime timer. ResetExact sets it sharpSlack short of a wait longer than
// twice that, and sleeps out the rest with nanosleep in a goroutine of its own, which then
// fires the timer. Reset does not: the lateness of the runtime's timers lets the adverts
// of a thousand masters, due microseconds apart, leave in one batch.
type sysTimer struct {
	t    *time.Timer // the timer the owner reads
	long *time.Timer // runs sharpen sharpSlack before an exact wait ends

	mu sync.Mutex
	// gen counts the Resets and Stops, so that a sharpen of an earlier wait fires nothing.
	gen     uint64
	longGen uint64
	due     time.Time
}

func (s *sysTimer) C() <-chan time.Time { return s.t.C }

// Reset relies on Go 1.23 timers: Reset discards a firing that was not received.
func (s *sysTimer) Reset(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.long.Stop()
	s.t.Reset(d)
}

func (s *sysTimer) ResetExact(d time.Duration) {
	if d <= 2*sharpSlack {
		s.Reset(d)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.t.Stop()
	s.longGen, s.due = s.gen, time.Now().Add(d)
	s.long.Reset(d - sharpSlack)
}

func (s *sysTimer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.long.Stop()
	s.t.Stop()
}

// sharpen sleeps until the exact wait is nearly over, stays awake for the rest and
// fires the timer, unless it was reset or stopped meanwhile.
func (s *sysTimer) sharpen() {
	s.mu.Lock()
	gen, due := s.longGen, s.due
	s.mu.Unlock()
	sleepUntil(due.Add(-sharpSpin))
	for time.Now().Before(due) {
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.t.Reset(0)
	}
}
