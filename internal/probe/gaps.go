package probe

import (
	"slices"
	"time"
)

// Gap is a run of lost probes of one VIP: the probes sent between the answered probes
// Before and After got no answer.
type Gap struct {
	Before, After Answer
	Lost          uint64
}

// Outage is how long the probes of the gap went unanswered: from one interval after
// Before was sent, when the first lost probe went out, to when After was sent.
func (g Gap) Outage(every time.Duration) time.Duration {
	return max(0, g.After.Sent.Sub(g.Before.Sent)-every)
}

// Gaps returns the runs of lost probes between the answers of one VIP, in order. The
// answers may come in any order; duplicates count once.
func Gaps(answers []Answer) []Gap {
	a := slices.Clone(answers)
	slices.SortFunc(a, func(x, y Answer) int {
		switch {
		case x.Seq < y.Seq:
			return -1
		case x.Seq > y.Seq:
			return 1
		}
		return 0
	})
	var gaps []Gap
	for i := 1; i < len(a); i++ {
		if d := a[i].Seq - a[i-1].Seq; d > 1 {
			gaps = append(gaps, Gap{Before: a[i-1], After: a[i], Lost: d - 1})
		}
	}
	return gaps
}
