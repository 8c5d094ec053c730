package tracker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vrrpd/vrrpd/config"
)

// Ref is one tracker an instance follows, with the weight it gives it.
type Ref struct {
	Kind Kind
	config.TrackRef
}

// Refs lists what track names, in the order of the configuration: scripts,
// interfaces, processes, files, haproxy checks, BFD sessions.
func Refs(t config.Track) []Ref {
	var refs []Ref
	for i, list := range [...][]config.TrackRef{t.Scripts, t.Interfaces, t.Processes, t.Files, t.HAProxy, t.BFD} {
		for _, r := range list {
			refs = append(refs, Ref{Kind: kinds[i], TrackRef: r})
		}
	}
	return refs
}

// SectionKind returns the kind of tracker a configuration section defines ("scripts",
// "interfaces", "processes", "files", "haproxy"): the Kind in the singular.
func SectionKind(section string) (Kind, bool) {
	switch section {
	case "scripts":
		return KindScript, true
	case "interfaces":
		return KindInterface, true
	case "processes":
		return KindProcess, true
	case "files":
		return KindFile, true
	case "haproxy":
		return KindHAProxy, true
	}
	return "", false
}

// ConditionRefs lists the trackers a route's condition names, without weights.
func ConditionRefs(c config.Condition) []Ref {
	var refs []Ref
	for _, it := range c.Items {
		if k, ok := SectionKind(it.Section); ok {
			refs = append(refs, Ref{Kind: k, TrackRef: config.TrackRef{Name: it.Name}})
		}
	}
	return refs
}

// Priority is an instance's effective priority and why.
type Priority struct {
	// Base is the configured priority.
	Base uint8
	// Priority is what adverts carry: Base plus the contributions, kept within
	// 1..254; Base itself for the address owner (255).
	Priority uint8
	// Fault is set while a tracker with weight 0 fails (or passes, with reverse), or a
	// file's number times its weight is -254 or less: the instance must be in FAULT.
	Fault bool
	// FaultReason names what faults, such as "haproxy failing (weight 0)".
	FaultReason string
	// Explanation is one line for logs and `vrrpd show`:
	// "priority 150 -> 90: chk_haproxy failing (-60)", or "priority 150" when
	// nothing moves it, preceded by "FAULT: reason; " in FAULT.
	Explanation string
	// Contributions are the trackers of the instance, in the order of Refs.
	Contributions []Contribution
}

// Contribution is what one tracker does to an instance's priority.
type Contribution struct {
	Kind    Kind
	Name    string
	Weight  int
	Reverse bool
	State   State
	// Value is the number a file tracker read.
	Value int
	// Delta is what the tracker adds to the priority now (0 for the address owner).
	Delta int
	// Fault reports that the tracker puts the instance in FAULT.
	Fault bool
	// Text says it in words: "chk_haproxy failing (-60)", "eth1 up (+10)",
	// "drain = -1000 (FAULT: -254 or less)".
	Text string
}

// The address owner's priority, which no weight moves (RFC 5798 section 5.2.4).
const ownerPriority = 255

// Effective composes the effective priority of an instance from its base priority and
// the state of what it tracks, as keepalived does (vrrp_track.c; keepalived.conf(5)):
//
//   - A weight w > 0 adds w while the tracker is OK; w < 0 adds w while it is failing.
//   - reverse negates what the weight adds, under the same condition: w > 0 subtracts
//     w while OK, w < 0 adds |w| while failing (the table of keepalived.conf(5)).
//   - Weight 0 puts the instance in FAULT while the tracker fails, or with reverse
//     while it is OK.
//   - A file adds its number times the weight, at most 253; -254 or less means FAULT.
//     With weight 0, any number but 0 means FAULT. reverse does not apply to files.
//   - Unknown, a tracker without a result yet, adds nothing and faults nothing,
//     except with weight 0 while the tracker is Awaiting its first result: then it
//     faults, "chk: no result yet (weight 0)", so that an instance that has just
//     started is held out of MASTER as by keepalived's INIT state of a script.
//   - The address owner (255) ignores every weight; FAULT still applies.
//   - The sum is kept within 1..254.
//
// status returns the state of a tracker the instance names.
func Effective(base uint8, refs []Ref, status func(Ref) Status) Priority {
	p := Priority{Base: base}
	owner := base == ownerPriority
	total, ignored := int(base), false
	var moves, faults []string
	for _, ref := range refs {
		c := contribution(ref, status(ref))
		if c.Fault {
			faults = append(faults, c.Text)
		}
		if c.Delta != 0 && owner {
			ignored, c.Delta = true, 0
			c.Text += " ignored by the address owner"
		}
		if c.Delta != 0 {
			moves = append(moves, c.Text)
			total += c.Delta
		}
		p.Contributions = append(p.Contributions, c)
	}

	var line string
	switch {
	case owner:
		p.Priority = ownerPriority
		line = "priority 255"
		if ignored {
			line += " (address owner: weights ignored)"
		}
	case len(moves) == 0:
		p.Priority = base
		line = fmt.Sprintf("priority %d", base)
	default:
		p.Priority = uint8(min(max(total, 1), ownerPriority-1))
		line = fmt.Sprintf("priority %d -> %d: %s", base, p.Priority, strings.Join(moves, ", "))
		if int(p.Priority) != total {
			line += fmt.Sprintf(" (%d, kept within 1..254)", total)
		}
	}
	if len(faults) > 0 {
		p.Fault = true
		p.FaultReason = strings.Join(faults, ", ")
		line = "FAULT: " + p.FaultReason + "; " + line
	}
	p.Explanation = line
	return p
}

// contribution is what one tracker in state st does for ref, before the address owner
// is considered.
func contribution(ref Ref, st Status) Contribution {
	c := Contribution{Kind: ref.Kind, Name: ref.Name, Weight: ref.Weight, Reverse: ref.Reverse, State: st.State, Value: st.Value}
	if ref.Kind == KindFile {
		fileContribution(&c)
		return c
	}
	word := stateWord(ref.Kind, st.State)
	sign := 1
	if ref.Reverse {
		sign = -1
	}
	switch {
	case st.State == Unknown && st.Awaiting && ref.Weight == 0:
		c.Fault = true
		c.Text = ref.Name + ": no result yet (weight 0"
		if ref.Reverse {
			c.Text += ", reverse"
		}
		c.Text += ")"
	case st.State == Unknown:
		c.Text = ref.Name + " " + word
	case ref.Weight == 0:
		c.Fault = (st.State == Failing) != ref.Reverse
		c.Text = ref.Name + " " + word
		if c.Fault && ref.Reverse {
			c.Text += " (weight 0, reverse)"
		} else if c.Fault {
			c.Text += " (weight 0)"
		}
	case ref.Weight > 0 && st.State == OK, ref.Weight < 0 && st.State == Failing:
		c.Delta = ref.Weight * sign
		c.Text = fmt.Sprintf("%s %s (%+d", ref.Name, word, c.Delta)
		if ref.Reverse {
			c.Text += ", reverse"
		}
		c.Text += ")"
	default:
		c.Text = ref.Name + " " + word
	}
	return c
}

// fileContribution applies keepalived's track_file rule to c: weight 0 faults on any
// number but 0; otherwise the number times the weight, at most 253, and -254 or less
// faults.
func fileContribution(c *Contribution) {
	c.Text = fmt.Sprintf("%s = %d", c.Name, c.Value)
	if c.State == Unknown {
		c.Text = c.Name + " unknown"
		return
	}
	if c.Weight == 0 {
		if c.Value != 0 {
			c.Fault = true
			c.Text += " (weight 0)"
		}
		return
	}
	if c.Weight != 1 {
		c.Text += fmt.Sprintf(" x %d", c.Weight)
	}
	switch v := c.Value * c.Weight; {
	case v <= -254:
		c.Fault = true
		c.Text += " (-254 or less)"
	case v > 253:
		c.Delta = 253
		c.Text += " (+253, at most)"
	case v != 0:
		c.Delta = v
		c.Text += fmt.Sprintf(" (%+d)", v)
	}
}

// stateWord names a state for explanations: links are up or down.
func stateWord(k Kind, s State) string {
	if k == KindInterface {
		switch s {
		case OK:
			return "up"
		case Failing:
			return "down"
		}
	}
	return s.String()
}

// same reports whether p and q tell an instance the same thing, down to the state of
// each tracker, which `vrrpd show` shows even when it moves nothing.
func (p Priority) same(q Priority) bool {
	return p.Priority == q.Priority && p.Fault == q.Fault && p.FaultReason == q.FaultReason && p.Explanation == q.Explanation &&
		slices.Equal(p.Contributions, q.Contributions)
}

// held reports whether a tracker awaiting its first result holds the instance in FAULT.
func (p Priority) held() bool {
	return slices.ContainsFunc(p.Contributions, func(c Contribution) bool { return c.Fault && c.State == Unknown })
}
