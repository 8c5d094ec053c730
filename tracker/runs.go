package tracker

import "time"

// ScriptRunBounds are the upper bounds of the buckets ScriptRuns counts durations in,
// from a quick local check to one near its timeout. Read only.
var ScriptRunBounds = [...]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// ScriptRuns counts a check script's runs by how they ended, and how long they took.
type ScriptRuns struct {
	OK       uint64 // exited 0 within the timeout
	Failed   uint64 // exited with another status, or was killed by a signal
	TimedOut uint64 // ran past the timeout: its process group was killed
	NotRun   uint64 // could not run, such as refused by the security check
	// Durations counts the runs by duration: Durations[i] those that took at most
	// ScriptRunBounds[i] and more than the bound before; the last one, the longer runs.
	Durations [len(ScriptRunBounds) + 1]uint64
	// Total is the time every run took, together.
	Total time.Duration
}

// add counts one run of res that took d.
func (r *ScriptRuns) add(res ScriptResult, d time.Duration) {
	switch {
	case res.Err != nil:
		r.NotRun++
	case res.TimedOut:
		r.TimedOut++
	case res.Success():
		r.OK++
	default:
		r.Failed++
	}
	i := 0
	for i < len(ScriptRunBounds) && d > ScriptRunBounds[i] {
		i++
	}
	r.Durations[i]++
	r.Total += d
}
