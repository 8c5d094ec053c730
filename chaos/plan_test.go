package chaos

import (
	"reflect"
	"testing"
	"time"
)

func TestPlanDependsOnTheSeedOnly(t *testing.T) {
	a, b := NewPlan(42, 200, 3), NewPlan(42, 200, 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two plans")
	}
	if reflect.DeepEqual(a.Cycles, NewPlan(43, 200, 3).Cycles) {
		t.Fatal("seeds 42 and 43 gave the same plan")
	}
	// A shorter run is the start of a longer one: a run cut short compares with a full one.
	if short := NewPlan(42, 50, 3); !reflect.DeepEqual(short.Cycles, a.Cycles[:50]) {
		t.Fatal("50 cycles of seed 42 are not the first 50 of 200")
	}
}

func TestPlanShape(t *testing.T) {
	p := NewPlan(1, 2000, 3)
	if len(p.Cycles) != 2000 {
		t.Fatalf("%d cycles", len(p.Cycles))
	}
	seen := map[Kind]int{}
	overlaps := 0
	for i, c := range p.Cycles {
		if n := len(c.Faults); n < 1 || n > 2 {
			t.Fatalf("cycle %d has %d faults", i+1, n)
		}
		for _, f := range c.Faults {
			seen[f.Kind]++
			lo, hi := holdRange(f.Kind)
			if f.Hold < lo || f.Hold > hi {
				t.Errorf("cycle %d: %v: hold outside %v..%v", i+1, f, lo, hi)
			}
			if (f.Node == AllNodes) != (f.Kind == ReloadVIPs) || f.Node >= 3 || f.Node < AllNodes {
				t.Errorf("cycle %d: %v: node %d", i+1, f, f.Node)
			}
			switch {
			case f.Kind == Loss && f.Percent == 0, f.Kind == Delay && f.Delay == 0, f.Kind == ReloadPriority && f.Priority == 0:
				t.Errorf("cycle %d: %v has no parameter", i+1, f)
			}
		}
		if len(c.Faults) == 2 {
			overlaps++
			a, b := c.Faults[0], c.Faults[1]
			if alone(a.Kind) || alone(b.Kind) {
				t.Errorf("cycle %d: %v and %v overlap", i+1, a, b)
			}
			if a.Node == b.Node {
				t.Errorf("cycle %d: two faults on node %d", i+1, a.Node+1)
			}
			if a.At != 0 || b.At > a.Hold {
				t.Errorf("cycle %d: %v then %v: the second does not start while the first holds", i+1, a, b)
			}
		}
	}
	for _, k := range Kinds {
		if seen[k] < 50 {
			t.Errorf("%s drawn %d times in 2000 cycles", k, seen[k])
		}
	}
	if overlaps < 400 || overlaps > 800 {
		t.Errorf("%d overlapping cycles of 2000", overlaps)
	}
}

func TestCISeedCoversEveryFault(t *testing.T) {
	seen := map[Kind]bool{}
	onMaster := map[Kind]bool{}
	for _, c := range NewPlan(CISeed, 30, 3).Cycles {
		for _, f := range c.Faults {
			seen[f.Kind] = true
			onMaster[f.Kind] = onMaster[f.Kind] || f.Node == 0
		}
	}
	for _, k := range Kinds {
		if !seen[k] {
			t.Errorf("no %s in the first 30 cycles of seed %d", k, CISeed)
		}
	}
	for _, k := range []Kind{Kill, Term, SecondRun} {
		if !onMaster[k] {
			t.Errorf("no %s on the master in the first 30 cycles of seed %d", k, CISeed)
		}
	}
}

func TestFaultString(t *testing.T) {
	for _, tc := range []struct {
		f    Fault
		want string
	}{
		{Fault{Kind: Kill, Node: 0, Hold: 1200 * time.Millisecond}, "kill on node 1 at +0.00 s for 1.20 s"},
		{Fault{Kind: Loss, Node: 2, At: 300 * time.Millisecond, Hold: time.Second, Percent: 30}, "loss on node 3 (30 %) at +0.30 s for 1.00 s"},
		{Fault{Kind: Delay, Node: 1, Hold: time.Second, Delay: 80 * time.Millisecond}, "delay on node 2 (80ms) at +0.00 s for 1.00 s"},
		{Fault{Kind: ReloadVIPs, Node: AllNodes, Hold: 3 * time.Second}, "reload-vips on every node at +0.00 s for 3.00 s"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
