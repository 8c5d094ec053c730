package tracker

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when a test advances it. Its After counts the
// calls, so that a test can wait until a tracker's goroutine has finished with an
// event and waits for the next timer: every tracker loop calls After once per turn.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	calls  int
	cond   *sync.Cond
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	c := &fakeClock{now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	}
	c.calls++
	c.cond.Broadcast()
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
		} else {
			t.ch <- c.now
		}
	}
	c.timers = kept
}

// Calls returns how many times After was called.
func (c *fakeClock) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// WaitCalls waits until After was called n times, for at most 5 s of real time.
func (c *fakeClock) WaitCalls(t testing.TB, n int) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		c.mu.Lock()
		for c.calls < n {
			c.cond.Wait()
		}
		c.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.mu.Lock()
		c.calls = n // release the goroutine above
		c.cond.Broadcast()
		c.mu.Unlock()
		t.Fatalf("After was called %d times, want %d", c.Calls(), n)
	}
}

// AdvanceAndWait advances the clock by d and waits until the goroutine the timer woke
// calls After again, its turn done.
func (c *fakeClock) AdvanceAndWait(t testing.TB, d time.Duration) {
	t.Helper()
	n := c.Calls()
	c.Advance(d)
	c.WaitCalls(t, n+1)
}

func (c *fakeClock) env() Env { return Env{Clock: c.Now, After: c.After} }

// eventually polls cond every millisecond until it holds, for at most 5 s.
func eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: "+format, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

// statusOf returns the status of the tracker of a kind and name in s.
func statusOf(s *Set, kind Kind, name string) Status {
	for _, st := range s.Status() {
		if st.Kind == kind && st.Name == name {
			return st
		}
	}
	return Status{}
}
