package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vrrpd/vrrpd/internal/daemons"
	"github.com/vrrpd/vrrpd/internal/probe"
)

// pairRun is one repetition of a failover scenario: both nodes run kind at interval.
type pairRun struct {
	p        *pair
	kind     daemons.Kind
	interval time.Duration
	vrrpd    string // the binary
	runs     [2]*daemonRun
}

// instances returns the one virtual router of node idx: the VIP, tracked files lower
// (weight -60) and fault (weight 0), one gratuitous ARP burst (none 5 s later: the
// scenarios act sooner than that, on both daemons alike).
func (pr *pairRun) instances(idx int) []daemons.Instance {
	prio := masterPriority
	if idx == 2 {
		prio = backupPriority
	}
	return []daemons.Instance{{Name: "web", Interface: "eth0", VRID: 51, Priority: prio, Version: 3, Interval: pr.interval,
		VIPs:  []netip.Prefix{pr.p.vip},
		Track: []daemons.Track{{File: "lower", Weight: lowerWeight}, {File: "fault", Weight: 0}},
		GARP:  &daemons.GARP{Repeat: 5}}}
}

// setUp starts both daemons and waits until node 1 is master and serves the client,
// node 2 backup.
func (pr *pairRun) setUp() error {
	if err := pr.p.heal(); err != nil {
		return err
	}
	for i, n := range pr.p.nodes {
		for _, f := range []string{"lower", "fault"} {
			if err := n.setFile(f, false); err != nil {
				return err
			}
		}
		if err := setPort(n.ports[0], true); err != nil {
			return err
		}
		if err := n.cleanVIPs(); err != nil {
			return err
		}
		r, err := n.start(pr.kind, n.nodeConfig(pr.instances(i+1)), pr.vrrpd)
		if err != nil {
			return err
		}
		pr.runs[i] = r
	}
	pr.p.rec.begin()
	m, b := pr.runs[0], pr.runs[1]
	if err := waitFor(masterDown(pr.interval)+10*time.Second, func() bool {
		return m.log.stateOf("web") == "MASTER" && b.log.stateOf("web") == "BACKUP" && pr.p.rec.servedBy("n1", 10)
	}, "n1 is not master serving the client (n1 %q, n2 %q):\n%s\n--- n2:\n%s", m.log.stateOf("web"), b.log.stateOf("web"), m.log, b.log); err != nil {
		return err
	}
	// The backup's first adverts and the master's announcements are past.
	time.Sleep(max(3*pr.interval, 300*time.Millisecond))
	pr.p.rec.begin()
	time.Sleep(50 * time.Millisecond) // some answers before the event
	return nil
}

// tearDown kills what runs and removes what the daemons left.
func (pr *pairRun) tearDown() error {
	pr.p.rec.stop()
	var errs []error
	for i, r := range pr.runs {
		if r != nil && !r.proc.Exited() {
			errs = append(errs, r.kill())
		}
		n := pr.p.nodes[i]
		errs = append(errs, setPort(n.ports[0], true), n.cleanVIPs())
		n.run = nil
	}
	errs = append(errs, pr.p.heal())
	return errors.Join(errs...)
}

// waitServed waits until node name answers the client, k times in a row.
func (pr *pairRun) waitServed(name string, within time.Duration) error {
	return waitFor(within, func() bool { return pr.p.rec.servedBy(name, 5) }, "the client is not served by %s", name)
}

// outageAfter is the longest time the client's probes went unanswered after t0; and an
// error if no probe was answered after it.
func outageAfter(c *probe.Client, answers []probe.Answer, t0 time.Time) (time.Duration, error) {
	last := time.Time{}
	for _, a := range answers {
		last = later(last, a.Sent)
	}
	if !last.After(t0) {
		return 0, errors.New("no answer after the event")
	}
	var worst time.Duration
	for _, g := range probe.Gaps(answers) {
		if g.After.Sent.After(t0) {
			worst = max(worst, c.Outage(g))
		}
	}
	return worst, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// firstFrom is how long after t0 the first probe node name answered was sent.
func firstFrom(answers []probe.Answer, name string, t0 time.Time) (time.Duration, error) {
	first := time.Time{}
	for _, a := range answers {
		if a.From == name && a.Sent.After(t0) && (first.IsZero() || a.Sent.Before(first)) {
			first = a.Sent
		}
	}
	if first.IsZero() {
		return 0, fmt.Errorf("%s never answered", name)
	}
	return first.Sub(t0), nil
}

// failoverFigures is what one repetition measured, by figure name.
type failoverFigures map[string]float64

// runFailover runs one repetition of scenario id and returns its figures.
func (pr *pairRun) runFailover(id string) (failoverFigures, error) {
	if err := pr.setUp(); err != nil {
		return nil, fmt.Errorf("set up: %w", err)
	}
	m := pr.runs[0]
	down := masterDown(pr.interval) + 5*time.Second
	var t0 time.Time
	var err error
	figs := failoverFigures{}
	switch id {
	case "stop":
		t0 = time.Now()
		m.term()
		err = pr.waitServed("n2", down)
	case "fault":
		t0 = time.Now()
		err = errors.Join(pr.p.nodes[0].setFile("fault", true), pr.waitServed("n2", down))
	case "lowered":
		t0 = time.Now()
		err = errors.Join(pr.p.nodes[0].setFile("lower", true), pr.waitServed("n2", down))
	case "host-loss":
		t0 = time.Now()
		err = errors.Join(setPort(pr.p.nodes[0].ports[0], false), m.kill(), pr.waitServed("n2", down))
	case "sigkill":
		t0 = time.Now()
		err = errors.Join(m.kill(), pr.waitServed("n2", down))
	case "preempt":
		m.term()
		if !m.proc.Wait(30 * time.Second) {
			return nil, errors.New("n1 did not stop within 30 s of SIGTERM")
		}
		if err := pr.waitServed("n2", down); err != nil {
			return nil, err
		}
		time.Sleep(max(3*pr.interval, 300*time.Millisecond))
		t0 = time.Now()
		var r *daemonRun
		if r, err = pr.p.nodes[0].start(pr.kind, pr.p.nodes[0].nodeConfig(pr.instances(1)), pr.vrrpd); err == nil {
			pr.runs[0] = r
			err = pr.waitServed("n1", down+5*time.Second)
		}
	case "split-brain":
		return pr.splitBrain()
	default:
		return nil, fmt.Errorf("no scenario %q", id)
	}
	if err != nil {
		return nil, err
	}
	// A moment of service after the change, then the figures.
	time.Sleep(100 * time.Millisecond)
	answers, _ := pr.p.rec.snapshot()
	o, err := outageAfter(pr.p.prober, answers, t0)
	if err != nil {
		return nil, err
	}
	figs["client outage"] = o.Seconds()
	switch id {
	case "lowered":
		d, err := firstFrom(answers, "n2", t0)
		if err != nil {
			return nil, err
		}
		figs["time from the change until the backup serves"] = d.Seconds()
	case "sigkill":
		d, err := firstFrom(answers, "n2", t0)
		if err != nil {
			return nil, err
		}
		figs["time until the backup serves"] = d.Seconds()
	case "preempt":
		d, err := firstFrom(answers, "n1", t0)
		if err != nil {
			return nil, err
		}
		figs["time until the master serves again"] = d.Seconds()
	}
	return figs, nil
}

// strandedAfter is how long a client without an answer counts as stranded on the
// loser of a split brain: longer than its neighbour entry's timers take to notice
// (seconds), far longer than any announcement takes.
const strandedAfter = time.Second

// healWindow bounds the wait for the client to be served again after a heal.
const healWindow = 30 * time.Second

// splitBrain cuts the nodes off from each other until both are master and the client
// follows node 2, whose announcements came last, then heals and measures how long the
// client waited for node 1, the winner.
func (pr *pairRun) splitBrain() (failoverFigures, error) {
	m, b := pr.runs[0], pr.runs[1]
	if err := pr.p.split(); err != nil {
		return nil, err
	}
	if err := waitFor(masterDown(pr.interval)+10*time.Second, func() bool {
		return b.log.stateOf("web") == "MASTER" && pr.p.rec.servedBy("n2", 5)
	}, "n2 did not become master serving the client while cut off (n2 %q)", b.log.stateOf("web")); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := pr.p.heal(); err != nil {
		return nil, err
	}
	err := waitFor(healWindow, func() bool {
		return pr.p.rec.servedBy("n1", 5) && b.log.stateOf("web") == "BACKUP" && m.log.stateOf("web") == "MASTER"
	}, "the client is not served by n1, with n2 backup, after the heal (n1 %q, n2 %q)", m.log.stateOf("web"), b.log.stateOf("web"))
	answers, neigh := pr.p.rec.snapshot()
	if err != nil {
		if slices.ContainsFunc(answers, func(a probe.Answer) bool { return a.Sent.After(t0) }) {
			return nil, err
		}
		// Never served again within the window: stranded for all of it.
		return failoverFigures{"runs with clients stranded on the loser (no answer for > 1 s)": 1,
			"client outage after the heal":                             healWindow.Seconds(),
			"time until the client's neighbour entry names the winner": entryMoved(neigh, pr.p.vip.Addr(), pr.p.nodes[0].mac, t0).Seconds()}, nil
	}
	time.Sleep(100 * time.Millisecond)
	answers, neigh = pr.p.rec.snapshot()
	o, err := outageAfter(pr.p.prober, answers, t0)
	if err != nil {
		return nil, err
	}
	stranded := 0.0
	if o > strandedAfter {
		stranded = 1
	}
	return failoverFigures{"runs with clients stranded on the loser (no answer for > 1 s)": stranded,
		"client outage after the heal":                             o.Seconds(),
		"time until the client's neighbour entry names the winner": entryMoved(neigh, pr.p.vip.Addr(), pr.p.nodes[0].mac, t0).Seconds()}, nil
}

// entryMoved is how long after t0 the client's neighbour entry for vip first named mac;
// healWindow when it never did.
func entryMoved(neigh []neighbourEvent, vip netip.Addr, mac string, t0 time.Time) time.Duration {
	for _, e := range neigh {
		if e.addr == vip && e.mac == mac && e.at.After(t0) {
			return e.at.Sub(t0)
		}
	}
	return healWindow
}
