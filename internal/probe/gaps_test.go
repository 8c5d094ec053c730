package probe

import (
	"testing"
	"time"
)

func TestGaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	every := 3 * time.Millisecond
	ans := func(seqs ...uint64) []Answer {
		var out []Answer
		for _, s := range seqs {
			out = append(out, Answer{Seq: s, Sent: t0.Add(time.Duration(s) * every), From: "n1"})
		}
		return out
	}
	tests := []struct {
		name    string
		answers []Answer
		lost    []uint64
		outages []time.Duration
	}{
		{"none lost", ans(1, 2, 3, 4), nil, nil},
		{"empty", nil, nil, nil},
		{"one lost", ans(1, 2, 4), []uint64{1}, []time.Duration{3 * time.Millisecond}},
		{"two gaps, out of order, a duplicate", ans(10, 1, 2, 5, 5, 6), []uint64{2, 3}, []time.Duration{6 * time.Millisecond, 9 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gaps := Gaps(tt.answers)
			if len(gaps) != len(tt.lost) {
				t.Fatalf("got %d gaps %+v, want %d", len(gaps), gaps, len(tt.lost))
			}
			for i, g := range gaps {
				if g.Lost != tt.lost[i] || g.Outage(every) != tt.outages[i] {
					t.Errorf("gap %d: lost %d, outage %v; want %d, %v", i, g.Lost, g.Outage(every), tt.lost[i], tt.outages[i])
				}
			}
		})
	}
}

// TestClientOutage: the outage of a gap runs from the first lost probe's own send time,
// so that the client's late tick before the gap does not lengthen it.
func TestClientOutage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := &Client{every: 3 * time.Millisecond, sentAt: make([]int64, history)}
	// Probes 1..5: 1 on time, then the client stalls 40 ms before 2, which is lost with
	// 3 and 4; 5 is answered.
	sends := []time.Duration{0, 43, 46, 49, 52}
	for i, ms := range sends {
		c.sent = uint64(i + 1)
		c.sentAt[c.sent%history] = t0.Add(ms * time.Millisecond).UnixNano()
	}
	g := Gap{Before: Answer{Seq: 1, Sent: t0}, After: Answer{Seq: 5, Sent: t0.Add(52 * time.Millisecond)}, Lost: 3}
	if got, want := c.Outage(g), 9*time.Millisecond; got != want {
		t.Errorf("Outage = %v, want %v", got, want)
	}
	if got, want := g.Outage(c.every), 49*time.Millisecond; got != want {
		t.Errorf("the estimate without send times = %v, want %v", got, want)
	}
	if _, ok := c.SentAt(6); ok {
		t.Error("SentAt of a probe not sent yet")
	}
}
