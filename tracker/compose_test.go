package tracker

import (
	"fmt"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
)

// tracked is one tracker of a composition case: what the instance says of it and the
// state it is in.
type tracked struct {
	kind    Kind
	name    string
	weight  int
	reverse bool
	state   State
	value   int
	// awaiting: no result yet, within the wait for the first one.
	awaiting bool
}

func compose(base uint8, ts []tracked) Priority {
	var refs []Ref
	states := make(map[string]Status)
	for _, t := range ts {
		refs = append(refs, Ref{Kind: t.kind, TrackRef: config.TrackRef{Name: t.name, Weight: t.weight, Reverse: t.reverse}})
		states[string(t.kind)+"/"+t.name] = Status{Kind: t.kind, Name: t.name, State: t.state, Value: t.value, Awaiting: t.awaiting}
	}
	return Effective(base, refs, func(r Ref) Status { return states[string(r.Kind)+"/"+r.Name] })
}

// TestEffective is keepalived's composition, case by case (vrrp_track.c and the
// reverse table of keepalived.conf(5)), with the explanation each gives.
func TestEffective(t *testing.T) {
	script := func(name string, w int, s State) tracked {
		return tracked{kind: KindScript, name: name, weight: w, state: s}
	}
	file := func(name string, w, v int) tracked {
		return tracked{kind: KindFile, name: name, weight: w, state: OK, value: v}
	}
	tests := []struct {
		name     string
		base     uint8
		trackers []tracked
		want     uint8
		fault    bool
		explain  string
	}{
		{"nothing tracked", 150, nil, 150, false, "priority 150"},
		{"negative weight, failing", 150, []tracked{script("chk_haproxy", -60, Failing)}, 90, false,
			"priority 150 -> 90: chk_haproxy failing (-60)"},
		{"negative weight, ok", 150, []tracked{script("chk_haproxy", -60, OK)}, 150, false, "priority 150"},
		{"positive weight, ok", 100, []tracked{script("chk", 10, OK)}, 110, false, "priority 100 -> 110: chk ok (+10)"},
		{"positive weight, failing", 100, []tracked{script("chk", 10, Failing)}, 100, false, "priority 100"},

		// reverse: the same condition, the opposite direction.
		{"reverse positive, ok", 100, []tracked{{kind: KindScript, name: "chk", weight: 10, reverse: true, state: OK}}, 90, false,
			"priority 100 -> 90: chk ok (-10, reverse)"},
		{"reverse positive, failing", 100, []tracked{{kind: KindScript, name: "chk", weight: 10, reverse: true, state: Failing}}, 100, false,
			"priority 100"},
		{"reverse negative, failing", 100, []tracked{{kind: KindScript, name: "chk", weight: -60, reverse: true, state: Failing}}, 160, false,
			"priority 100 -> 160: chk failing (+60, reverse)"},
		{"reverse negative, ok", 100, []tracked{{kind: KindScript, name: "chk", weight: -60, reverse: true, state: OK}}, 100, false,
			"priority 100"},

		// weight 0: FAULT.
		{"weight 0, failing", 150, []tracked{{kind: KindProcess, name: "haproxy", state: Failing}}, 150, true,
			"FAULT: haproxy failing (weight 0); priority 150"},
		{"weight 0, ok", 150, []tracked{{kind: KindProcess, name: "haproxy", state: OK}}, 150, false, "priority 150"},
		{"weight 0 reverse, ok", 150, []tracked{{kind: KindProcess, name: "haproxy", reverse: true, state: OK}}, 150, true,
			"FAULT: haproxy ok (weight 0, reverse); priority 150"},
		{"weight 0 reverse, failing", 150, []tracked{{kind: KindProcess, name: "haproxy", reverse: true, state: Failing}}, 150, false,
			"priority 150"},
		{"interface down, weight 0", 150, []tracked{{kind: KindInterface, name: "eth1", state: Failing}}, 150, true,
			"FAULT: eth1 down (weight 0); priority 150"},
		{"fault and weights", 150, []tracked{{kind: KindProcess, name: "haproxy", state: Failing}, script("chk", -60, Failing)}, 90, true,
			"FAULT: haproxy failing (weight 0); priority 150 -> 90: chk failing (-60)"},

		// Unknown (no result yet): nothing, as keepalived's INIT.
		{"unknown, negative weight", 150, []tracked{script("chk", -60, Unknown)}, 150, false, "priority 150"},
		{"unknown, positive weight", 150, []tracked{script("chk", 60, Unknown)}, 150, false, "priority 150"},
		{"unknown, weight 0", 150, []tracked{script("chk", 0, Unknown)}, 150, false, "priority 150"},
		// Awaiting a first result: weight 0 holds the instance in FAULT, nothing else moves.
		{"awaiting, weight 0", 255, []tracked{{kind: KindHAProxy, name: "lb", state: Unknown, awaiting: true}}, 255, true,
			"FAULT: lb: no result yet (weight 0); priority 255"},
		{"awaiting, weight 0, reverse", 150, []tracked{{kind: KindScript, name: "chk", reverse: true, state: Unknown, awaiting: true}}, 150, true,
			"FAULT: chk: no result yet (weight 0, reverse); priority 150"},
		{"awaiting, negative weight", 150, []tracked{{kind: KindScript, name: "chk", weight: -60, state: Unknown, awaiting: true}}, 150, false,
			"priority 150"},

		// The address owner.
		{"owner ignores weights", 255, []tracked{script("chk", -60, Failing), script("up", 10, OK)}, 255, false,
			"priority 255 (address owner: weights ignored)"},
		{"owner faults", 255, []tracked{{kind: KindInterface, name: "eth1", state: Failing}}, 255, true,
			"FAULT: eth1 down (weight 0); priority 255"},
		{"owner faults on a file", 255, []tracked{file("drain", 1, -254)}, 255, true,
			"FAULT: drain = -254 (-254 or less); priority 255"},

		// Kept within 1..254.
		{"clamp low", 100, []tracked{script("a", -200, Failing), script("b", -100, Failing)}, 1, false,
			"priority 100 -> 1: a failing (-200), b failing (-100) (-200, kept within 1..254)"},
		{"clamp to 1 exactly", 100, []tracked{script("a", -99, Failing)}, 1, false, "priority 100 -> 1: a failing (-99)"},
		{"clamp high", 200, []tracked{script("a", 100, OK)}, 254, false,
			"priority 200 -> 254: a ok (+100) (300, kept within 1..254)"},
		{"no climb to 255", 254, []tracked{script("a", 1, OK)}, 254, false,
			"priority 254 -> 254: a ok (+1) (255, kept within 1..254)"},

		// Files: value x weight.
		{"file weight 1", 150, []tracked{file("drain", 1, -100)}, 50, false, "priority 150 -> 50: drain = -100 (-100)"},
		{"file value x weight", 150, []tracked{file("load", -10, 5)}, 100, false, "priority 150 -> 100: load = 5 x -10 (-50)"},
		{"file 0", 150, []tracked{file("drain", 1, 0)}, 150, false, "priority 150"},
		{"file -254 faults", 150, []tracked{file("drain", 1, -254)}, 150, true, "FAULT: drain = -254 (-254 or less); priority 150"},
		{"file -127 x 2 faults", 150, []tracked{file("drain", 2, -127)}, 150, true,
			"FAULT: drain = -127 x 2 (-254 or less); priority 150"},
		{"file -253 does not fault", 254, []tracked{file("drain", 1, -253)}, 1, false, "priority 254 -> 1: drain = -253 (-253)"},
		{"file at most +253", 1, []tracked{file("bonus", 2, 200)}, 254, false, "priority 1 -> 254: bonus = 200 x 2 (+253, at most)"},
		{"file weight 0, non-zero", 150, []tracked{file("stop", 0, 1)}, 150, true, "FAULT: stop = 1 (weight 0); priority 150"},
		{"file weight 0, zero", 150, []tracked{file("stop", 0, 0)}, 150, false, "priority 150"},
		{"file unknown", 150, []tracked{{kind: KindFile, name: "drain", weight: 1}}, 150, false, "priority 150"},

		// Several trackers add up.
		{"sum", 150, []tracked{
			script("chk_haproxy", -60, Failing),
			{kind: KindInterface, name: "eth1", weight: -50, state: Failing},
			{kind: KindProcess, name: "haproxy", weight: 10, state: OK},
			file("load", -5, 3),
			{kind: KindHAProxy, name: "lb", weight: -100, state: OK},
		}, 35, false, "priority 150 -> 35: chk_haproxy failing (-60), eth1 down (-50), haproxy ok (+10), load = 3 x -5 (-15)"},
		{"several faults", 150, []tracked{
			{kind: KindProcess, name: "haproxy", state: Failing},
			{kind: KindHAProxy, name: "lb", state: Failing},
		}, 150, true, "FAULT: haproxy failing (weight 0), lb failing (weight 0); priority 150"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compose(tt.base, tt.trackers)
			if p.Priority != tt.want || p.Fault != tt.fault || p.Explanation != tt.explain || p.Base != tt.base {
				t.Errorf("got %d fault=%v %q, want %d fault=%v %q", p.Priority, p.Fault, p.Explanation, tt.want, tt.fault, tt.explain)
			}
			if len(p.Contributions) != len(tt.trackers) {
				t.Fatalf("%d contributions for %d trackers", len(p.Contributions), len(tt.trackers))
			}
			sum := int(tt.base)
			for _, c := range p.Contributions {
				sum += c.Delta
			}
			if tt.base != ownerPriority && uint8(min(max(sum, 1), 254)) != p.Priority {
				t.Errorf("contributions add up to %d, priority %d", sum, p.Priority)
			}
		})
	}
}

func TestEffectiveFaultReason(t *testing.T) {
	p := compose(150, []tracked{{kind: KindProcess, name: "haproxy", state: Failing}})
	if p.FaultReason != "haproxy failing (weight 0)" {
		t.Errorf("FaultReason = %q", p.FaultReason)
	}
	c := p.Contributions[0]
	if !c.Fault || c.Delta != 0 || c.Kind != KindProcess || c.State != Failing {
		t.Errorf("contribution %+v", c)
	}
	owner := compose(255, []tracked{{kind: KindScript, name: "chk", weight: -60, state: Failing}})
	if c := owner.Contributions[0]; c.Delta != 0 || c.Text != "chk failing (-60) ignored by the address owner" {
		t.Errorf("owner's contribution %+v", c)
	}
}

func TestRefs(t *testing.T) {
	tr := config.Track{
		Scripts:    []config.TrackRef{{Name: "s"}},
		Interfaces: []config.TrackRef{{Name: "i"}},
		Processes:  []config.TrackRef{{Name: "p"}},
		Files:      []config.TrackRef{{Name: "f"}},
		HAProxy:    []config.TrackRef{{Name: "h"}},
	}
	var got []string
	for _, r := range Refs(tr) {
		got = append(got, string(r.Kind)+":"+r.Name)
	}
	want := "[script:s interface:i process:p file:f haproxy:h]"
	if s := fmt.Sprint(got); s != want {
		t.Errorf("Refs = %s, want %s", s, want)
	}
}

func TestDebounce(t *testing.T) {
	c := newFakeClock()
	var d debounce
	step := func(s State, delay time.Duration, want State, wantWait time.Duration) {
		t.Helper()
		got, wait := d.observe(s, c.Now(), delay)
		if got != want || wait != wantWait {
			t.Fatalf("observe(%v) = %v, %v; want %v, %v", s, got, wait, want, wantWait)
		}
	}
	step(OK, 2*time.Second, OK, 0) // the first state at once
	step(Failing, 2*time.Second, OK, 2*time.Second)
	c.Advance(time.Second)
	step(Failing, 2*time.Second, OK, time.Second)
	step(OK, 2*time.Second, OK, 0) // back before the delay: nothing happened
	step(Failing, 2*time.Second, OK, 2*time.Second)
	c.Advance(2 * time.Second)
	step(Failing, 2*time.Second, Failing, 0)
	step(OK, 0, OK, 0) // no delay
}
