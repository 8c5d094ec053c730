//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// runners holds the body of each scenario; TestInterop runs it in every column it applies
// to.
var runners = map[string]func(b *bed){
	"election-vrrpd-higher":    func(b *bed) { election(b, b.g) },
	"election-peer-higher":     func(b *bed) { election(b, b.p) },
	"tie-vrrpd-higher-address": tie,
	"tie-peer-higher-address":  tie,
	"partition-vrrpd-higher":   func(b *bed) { partition(b, b.g) },
	"partition-peer-higher":    func(b *bed) { partition(b, b.p) },
	"crash-vrrpd-master":       func(b *bed) { crash(b, b.g) },
	"crash-peer-master":        func(b *bed) { crash(b, b.p) },
	"handover-vrrpd-to-peer":   func(b *bed) { handover(b, b.g) },
	"handover-peer-to-vrrpd":   func(b *bed) { handover(b, b.p) },
	"preempt-vrrpd":            func(b *bed) { preempt(b, b.g) },
	"preempt-peer":             func(b *bed) { preempt(b, b.p) },
	"nopreempt-peer":           nopreempt,
	"learn-interval-vrrpd":     func(b *bed) { learn(b, b.p) },
	"learn-interval-peer":      func(b *bed) { learn(b, b.g) },
	"password-right":           passwordRight,
	"password-wrong":           passwordWrong,
	"checksum-peer-default":    checksumPeerDefault,
	"checksum-message-only":    checksumMessageOnly,
	"vips-order-excluded":      vipsOrderExcluded,
	"announce-vrrpd":           func(b *bed) { announce(b, b.g) },
	"announce-peer":            func(b *bed) { announce(b, b.p) },
	"mismatch-version":         mismatchVersion,
	"mismatch-vips":            mismatchVIPs,
	"mismatch-interval":        mismatchInterval,
}

// TestInterop runs the matrix. Cells run in parallel, each on a bridge of its own.
func TestInterop(t *testing.T) {
	netnstest.Require(t)
	for _, s := range scenarios {
		if runners[s.id] == nil {
			t.Fatalf("scenario %s has no runner", s.id)
		}
	}
	res := newResults()
	t.Run("matrix", func(t *testing.T) {
		for _, c := range columns {
			t.Run(c.id(), func(t *testing.T) {
				t.Parallel()
				for _, s := range scenarios {
					t.Run(s.id, func(t *testing.T) {
						if why := notApplicable(c, s); why != "" {
							t.Skip(why)
						}
						t.Parallel()
						runCell(t, res, c, s)
					})
				}
			})
		}
	})
	if path := os.Getenv("VRRPD_INTEROP_DOC"); path != "" {
		if err := os.WriteFile(path, []byte(renderDoc(res, currentEnvironment(t))), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}

func runCell(t *testing.T, res *results, c column, s scenario) {
	gIdx := 1
	if s.id == "tie-vrrpd-higher-address" {
		gIdx = 2
	}
	var b *bed
	start := time.Now()
	t.Cleanup(func() {
		o := outcome{status: "pass"}
		if b != nil {
			o.note = strings.Join(append(b.figures, b.notes...), "; ")
		}
		switch {
		case t.Failed():
			o.status = "FAIL"
		case t.Skipped():
			o.status = "not run"
		}
		res.set(c, s, o)
		t.Logf("%s in %s: %s %s", c.id(), secs(time.Since(start)), o.status, o.note)
	})
	b = newBed(t, c, gIdx)
	runners[s.id](b)
	b.finish()
}

func currentEnvironment(t *testing.T) environment {
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	return environment{
		date:       time.Now(),
		keepalived: run("keepalived", "--version"),
		frr:        run(frrDir+"/vrrpd", "--version"),
		kernel:     run("uname", "-sr"),
		goVersion:  runtime.Version(),
	}
}

// peerOf returns the router that is not r.
func (b *bed) peerOf(r router) router {
	if r == router(b.g) {
		return b.p
	}
	return b.g
}

// elect starts m, configured as ms, and waits until it is master, then o, configured as
// bs, and waits until it is backup behind m.
func (b *bed) elect(m router, ms side, o router, bs side) {
	b.t.Helper()
	m.start(ms)
	b.expectMaster(m, mdi(ms, ms.interval)+5*time.Second)
	o.start(bs)
	b.expectMaster(m, 5*time.Second)
}

// election: the higher-priority router starts first; the other joins and stays backup
// for longer than its down interval.
func election(b *bed, m router) {
	o := b.peerOf(m)
	ms, bs := b.side(150, b.fast()), b.side(100, b.fast())
	b.elect(m, ms, o, bs)
	b.steady(m, mdi(bs, ms.interval)+time.Second)
	if m == router(b.p) {
		if st := b.g.mustStatus(); st.Master != b.p.source().String() || st.MasterPriority != 150 {
			b.t.Errorf("vrrpd follows %s at %d, want %s at 150", st.Master, st.MasterPriority, b.p.source())
		}
		if ads := b.wire.from(b.p, time.Time{}, alive); len(ads) > 0 && ads[0].ttl != 255 {
			b.figure("peer hop limit %d", ads[0].ttl)
		}
	}
}

// tie: equal priorities. Cut off from each other, both become master; healed, the higher
// address stays master. It then stops, the lower takes over, and the higher, started
// again, stays backup behind the lower-address master.
func tie(b *bed) {
	high, low := b.router(2), b.router(1)
	s := b.side(100, b.fast())
	b.splitBrain = true
	b.cut()
	high.start(s)
	low.start(s)
	b.expectBothMasters(mdi(s, s.interval) + 5*time.Second)
	b.heal()
	b.expectMaster(high, 3*time.Second)
	b.steady(high, mdi(s, s.interval)+time.Second)
	high.stop()
	b.expectMaster(low, 3*time.Second)
	high.start(s)
	b.steady(low, 3*mdi(s, s.interval)+time.Second)
}

// router returns the router with address index idx.
func (b *bed) router(idx int) router {
	if b.g.idx == idx {
		return b.g
	}
	return b.p
}

// partition: both master while cut off; healed, the lower one steps down as soon as it
// hears the higher one's next advert.
func partition(b *bed, high router) {
	low := b.peerOf(high)
	hs, ls := b.side(150, b.fast()), b.side(100, b.fast())
	b.splitBrain = true
	b.cut()
	high.start(hs)
	low.start(ls)
	b.expectBothMasters(mdi(ls, ls.interval) + 5*time.Second)
	healed := time.Now()
	b.heal()
	b.expectMaster(high, hs.interval+2*time.Second)
	// From the first advert of the higher router that could reach the lower one (in
	// unicast, it may wait for ARP or ND after the cut) to the lower one's step-down, as
	// the lower one reports it.
	next := b.wire.first(b.t, high, healed, alive, time.Second, "advert")
	down := low.since()
	b.figure("%s after the heal", secs(down.Sub(healed)))
	if took := down.Sub(next.at); took > 500*time.Millisecond {
		b.t.Errorf("%s stepped down %v after %s's first advert after the heal, want at once", low.name(), took, high.name())
	}
	b.steady(high, mdi(ls, hs.interval)+time.Second)
}

// crash: the master loses power; the backup takes over after its Master_Down_Interval,
// counted from the master's last advert.
func crash(b *bed, m router) {
	o := b.peerOf(m)
	interval := b.shortInterval()
	ms, bs := b.side(150, interval), b.side(100, interval)
	b.elect(m, ms, o, bs)
	b.steady(m, 2*interval)
	failover(b, m, o, bs, ms.interval)
}

// failover crashes m and checks that o takes over after its down interval behind a
// master advertising every masterInterval, counted from m's last advert on the wire to
// the takeover o reports.
func failover(b *bed, m, o router, bs side, masterInterval time.Duration) {
	b.t.Helper()
	want := mdi(bs, masterInterval)
	m.crash()
	crashed := time.Now()
	last, ok := b.wire.lastBefore(m, crashed)
	if !ok {
		b.t.Fatalf("no advert from %s before the crash", m.name())
	}
	took := b.takeover(o, crashed, want+3*time.Second).Sub(last.at)
	b.figure("%s (MDI %s)", secs(took), secs(want))
	if took < want*8/10 || took > want+time.Second {
		b.t.Errorf("%s took over %v after %s's last advert, want between %v and %v", o.name(), took, m.name(), want*8/10, want+time.Second)
	}
}

// takeover waits until r is the one master, and returns when r says it became master.
// It also waits for r's first advert as master, and notes it when it came late.
func (b *bed) takeover(r router, since time.Time, within time.Duration) time.Time {
	b.t.Helper()
	b.expectMaster(r, within)
	at := r.since()
	first := b.wire.first(b.t, r, since, alive, 3*time.Second, "advert")
	if lag := first.at.Sub(at); lag > 300*time.Millisecond {
		b.notes = append(b.notes, fmt.Sprintf("%s's first advert as master %s later", r.name(), secs(lag)))
	}
	return at
}

// handover: the master stops, sends priority 0, and the backup takes over in Skew_Time.
func handover(b *bed, m router) {
	o := b.peerOf(m)
	ms, bs := b.side(150, time.Second), b.side(100, time.Second)
	b.elect(m, ms, o, bs)
	b.steady(m, 1500*time.Millisecond)
	stopped := time.Now()
	m.stop()
	zero := b.wire.first(b.t, m, stopped, leaving, time.Second, "priority-0 advert")
	took, want := b.takeover(o, zero.at, 5*time.Second).Sub(zero.at), skew(bs, ms.interval)
	b.figure("%s (skew %s)", secs(took), secs(want))
	if took > want+500*time.Millisecond {
		b.t.Errorf("%s took over %v after priority 0, want within Skew_Time %v + 0.5 s", o.name(), took, want)
	}
}

// preempt: the higher router stops, the lower takes over, and the higher one, started
// again, takes over after its own down interval.
func preempt(b *bed, m router) {
	o := b.peerOf(m)
	ms, bs := b.side(150, b.fast()), b.side(100, b.fast())
	b.elect(m, ms, o, bs)
	m.stop()
	b.expectMaster(o, 3*time.Second)
	b.steady(o, 2*bs.interval)
	restarted := time.Now()
	m.start(ms)
	want := mdi(ms, bs.interval)
	took := b.takeover(m, restarted, want+5*time.Second).Sub(restarted)
	if m == router(b.g) {
		// vrrpd's fast_handover: a backup that hears a master below it takes over after
		// its Skew_Time, once it has heard one of the master's adverts.
		sk := skew(ms, bs.interval)
		b.figure("%s after start (Skew_Time %s after the peer's next advert)", secs(took), secs(sk))
		if took < sk || took > bs.interval+sk+1500*time.Millisecond {
			b.t.Errorf("vrrpd took over %v after its start, want the peer's interval %v and Skew_Time %v at most", took, bs.interval, sk)
		}
	} else {
		b.figure("%s after start (MDI %s)", secs(took), secs(want))
		if took < want*8/10 || took > want+1500*time.Millisecond {
			b.t.Errorf("%s took over %v after its start, want about its down interval %v", m.name(), took, want)
		}
	}
	b.steady(m, mdi(bs, ms.interval)+time.Second)
}

// nopreempt: a higher-priority peer with preemption off stays backup behind vrrpd.
func nopreempt(b *bed) {
	gs, ps := b.side(100, b.fast()), b.side(150, b.fast())
	ps.nopreempt = true
	b.elect(b.g, gs, b.p, ps)
	b.steady(b.g, 3*mdi(ps, gs.interval)+500*time.Millisecond)
}

// learn: m advertises every second, the other router o is configured for 0.2 s and must
// learn 1 s: when m crashes, o waits the learned down interval.
//
// o starts first and m preempts it: a backup that joins a master with a longer interval
// starts with its own Master_Down_Interval (0.722 s here) and, as the RFC has it, may
// take over once before it hears the master's first advert.
func learn(b *bed, m router) {
	o := b.peerOf(m)
	ms, bs := b.side(150, time.Second), b.side(100, 200*time.Millisecond)
	o.start(bs)
	b.expectMaster(o, mdi(bs, bs.interval)+5*time.Second)
	m.start(ms)
	b.expectMaster(m, mdi(ms, bs.interval)+5*time.Second)
	b.steady(m, 1500*time.Millisecond)
	switch o := o.(type) {
	case *vrrpdNode:
		st := o.mustStatus()
		if got := time.Duration(st.MasterAdvertInterval); got != time.Second {
			b.t.Errorf("vrrpd's master_advert_interval is %v, want 1s", got)
		}
		if got, want := time.Duration(st.MasterDownInterval), mdi(bs, time.Second); got != want {
			b.t.Errorf("vrrpd's master_down_interval is %v, want %v", got, want)
		}
	case *frrNode:
		if got := o.show().MasterAdverInterval; got != 1000 {
			b.t.Errorf("FRR's masterAdverInterval is %d ms, want 1000", got)
		}
	}
	failover(b, m, o, bs, ms.interval)
}

// passwordRight: the same 10-character password on both sides; both use its first 8.
func passwordRight(b *bed) {
	gs, ps := b.side(150, time.Second), b.side(100, time.Second)
	gs.password, ps.password = "interop-pw", "interop-pw"
	b.elect(b.g, gs, b.p, ps)
	b.steady(b.g, mdi(ps, gs.interval)+time.Second)
}

// passwordWrong: different passwords; both become master and vrrpd says why.
func passwordWrong(b *bed) {
	gs, ps := b.side(100, time.Second), b.side(150, time.Second)
	gs.password, ps.password = "secret-a", "secret-b"
	misconfigured(b, gs, ps, "auth", "wrong password")
}

// misconfigured starts the peer (higher) and vrrpd, configured differently: vrrpd drops
// every advert of the peer and becomes master beside it. Its log names the reason at
// most once per 10 s, and `vrrpd show` has it as the last drop.
func misconfigured(b *bed, gs, ps side, reason, detail string) {
	b.t.Helper()
	b.allowDrops = append(b.allowDrops, reason)
	b.peerMayComplain = true
	b.p.start(ps)
	b.g.start(gs)
	// From when vrrpd listens: its start may wait for the build of the binary.
	started := b.g.mustStatus().Since
	b.expectBothMasters(mdi(gs, gs.interval) + mdi(ps, ps.interval) + 5*time.Second)
	msg := fmt.Sprintf("adverts from %s dropped: %s", b.p.source(), detail)
	var lines []time.Time
	netnstest.Eventually(b.t, 5*time.Second, func() bool { lines = b.dropLines(msg); return len(lines) > 0 },
		"vrrpd does not log %q", msg)
	st := b.g.mustStatus()
	if d := st.LastDrop; d == nil || d.From != b.p.source().String() || d.Reason != reason || d.Detail != detail {
		b.t.Errorf("vrrpd show --json: last_drop %+v, want from %s, reason %s, detail %q", d, b.p.source(), reason, detail)
	}
	// And as an operator reads it.
	show, err := exec.Command(vrrpdBinary(b.t), "show", "--socket", b.g.socket()).CombinedOutput()
	if want := regexp.MustCompile(`(?m)^  last drop from ` + regexp.QuoteMeta(b.p.source().String()) + ` \d+s ago: ` + regexp.QuoteMeta(detail) + `$`); err != nil || !want.Match(show) {
		b.t.Errorf("vrrpd show (%v) does not say %q:\n%s", err, want, show)
	}
	// Rate limit: the second line comes with the first drop 10 s after the first line.
	first := lines[0]
	netnstest.Eventually(b.t, 10*time.Second+2*ps.interval+3*time.Second, func() bool { lines = b.dropLines(msg); return len(lines) > 1 },
		"vrrpd logged %q once in more than 10 s; the peer sent %s adverts since", msg, lazy(func() string { return fmt.Sprint(len(b.wire.from(b.p, first, nil))) }))
	// Not before 10 s, and at the latest with the first advert the peer sent after 10 s.
	// The limit holds between the drops' own times, which the log's times follow by
	// however long logging took, and the capture's by however long reading took: 0.1 s of
	// slack either side of 10 s.
	gap := lines[1].Sub(first)
	due := b.wire.first(b.t, b.p, first.Add(10*time.Second+100*time.Millisecond), nil, 2*ps.interval+time.Second, "advert")
	if gap < 10*time.Second-100*time.Millisecond || lines[1].After(due.at.Add(500*time.Millisecond)) {
		b.t.Errorf("vrrpd logged %q again after %v, want after 10 s and with the peer's advert %v after the first line", msg, gap, due.at.Sub(first))
	}
	st = b.g.mustStatus()
	// vrrpd counts every advert the peer sent since vrrpd started, give or take the
	// ones in flight at either end.
	sent := len(b.wire.from(b.p, started, nil))
	b.figure("`%s`, %d drops (the peer sent %d), logged twice %s apart", msg, st.Drops[reason], sent, secs(gap))
	if n := int(st.Drops[reason]); n < 2 || n < sent-2 || n > sent+1 {
		b.t.Errorf("vrrpd counted %d drops (%s) of the %d adverts the peer sent", n, reason, sent)
	}
	b.expectBothMasters(time.Second)
}

// checksumPeerDefault: vrrpd is backup behind the peer and counts the checksum form of
// the peer's adverts.
func checksumPeerDefault(b *bed) {
	ps, gs := b.side(150, b.fast()), b.side(100, b.fast())
	b.elect(b.p, ps, b.g, gs)
	b.steady(b.p, mdi(gs, ps.interval)+time.Second)
	st := b.g.mustStatus()
	ph, mo := st.ChecksumForms["pseudo-header"], st.ChecksumForms["message-only"]
	b.figure("peer sends %s; vrrpd counted %d pseudo-header, %d message-only", b.peerForm(), ph, mo)
	if ph == 0 || mo != 0 {
		b.t.Errorf("vrrpd counted checksum forms %v, want pseudo-header only (the peer's default)", st.ChecksumForms)
	}
}

// peerForm returns the checksum forms of the peer's adverts on the wire.
func (b *bed) peerForm() string {
	forms := map[string]bool{}
	for _, a := range b.wire.from(b.p, time.Time{}, nil) {
		forms[a.form] = true
	}
	var out []string
	for f := range forms {
		out = append(out, f)
	}
	return strings.Join(out, "+")
}

// checksumMessageOnly: vrrpd sends the message-only form; the peers tested verify the
// pseudo-header form only, so the peer must refuse vrrpd's adverts and say so.
func checksumMessageOnly(b *bed) {
	gs, ps := b.side(150, b.fast()), b.side(100, b.fast())
	gs.messageOnly = true
	b.peerMayComplain = true
	b.splitBrain = true // the peer cannot check vrrpd's adverts and stays master
	b.g.start(gs)
	b.expectMaster(b.g, mdi(gs, gs.interval)+5*time.Second)
	b.p.start(ps)
	b.expectBothMasters(mdi(ps, gs.interval) + 5*time.Second)
	netnstest.Eventually(b.t, 5*time.Second, func() bool {
		for _, c := range b.p.complaints() {
			if strings.Contains(strings.ToLower(c), "checksum") {
				return true
			}
		}
		return false
	}, "%s does not complain about the checksum of vrrpd's message-only adverts", b.p.name())
	if st := b.g.mustStatus(); st.ChecksumForms["pseudo-header"] == 0 {
		b.t.Errorf("vrrpd counted checksum forms %v: it must still accept the peer's pseudo-header form", st.ChecksumForms)
	}
	for _, c := range b.p.complaints() {
		if strings.Contains(strings.ToLower(c), "checksum") {
			b.figure("%s: %s", b.p.name(), complaintText(c))
			break
		}
	}
}

// complaintText strips a log line of its timestamp and prefixes, for the doc.
func complaintText(line string) string {
	if i := strings.LastIndex(line, "] "); i >= 0 {
		return strings.TrimSpace(line[i+2:]) // FRR: "date time VRRP: [id] [CORE] ... text"
	}
	if i := strings.Index(line, ": "); i >= 0 {
		return strings.TrimSpace(line[i+2:]) // keepalived: "date: (VI_1) text"
	}
	return strings.TrimSpace(line)
}

// vipsOrderExcluded: two VIPs, listed in opposite orders on the two sides, and an
// excluded VIP on vrrpd's side that its adverts never carry. The peer is backup behind
// vrrpd, then master in front of it: neither side drops an advert.
func vipsOrderExcluded(b *bed) {
	second := b.other
	third := netip.PrefixFrom(second.Addr().Next(), second.Bits())
	gs, ps := b.side(150, b.fast()), b.side(100, b.fast())
	gs.vips, gs.excluded = []netip.Prefix{b.vip, second}, []netip.Prefix{third}
	ps.vips = []netip.Prefix{second, b.vip}
	b.elect(b.g, gs, b.p, ps)
	b.steady(b.g, mdi(ps, gs.interval)+time.Second)
	b.g.stop()
	b.expectMaster(b.p, 3*time.Second)
	gs.priority = 50
	b.g.start(gs)
	b.steady(b.p, mdi(gs, ps.interval)+time.Second)
}

// announce: a client talks to the VIP while m is master; when m crashes, o takes over
// and its gratuitous ARP or unsolicited NA moves the client's neighbour entry to o.
func announce(b *bed, o router) {
	m := b.peerOf(o)
	interval := b.shortInterval()
	ms, bs := b.side(150, interval), b.side(100, interval)
	b.elect(m, ms, o, bs)
	b.steady(m, 2*interval)
	cl := b.client()
	vip := b.vip.Addr()
	var ping string
	netnstest.Eventually(b.t, 5*time.Second, func() bool {
		ping, _ = cl.Exec("ping", "-c", "1", "-W", "1", vip.String())
		return neighbour(b.t, cl, vip) == m.vipMAC()
	}, "the client does not reach %v at %s's MAC %s: it has %q\n%s", vip, m.name(), m.vipMAC(),
		lazy(func() string { return neighbour(b.t, cl, vip) }), lazy(func() string { return ping }))
	failover(b, m, o, bs, ms.interval)
	tookOver := o.since()
	netnstest.Eventually(b.t, 3*time.Second, func() bool { return neighbour(b.t, cl, vip) == o.vipMAC() },
		"the client's neighbour entry for %v is %q, want %s's MAC %s", vip, lazy(func() string { return neighbour(b.t, cl, vip) }), o.name(), o.vipMAC())
	b.figure("client updated %s after the takeover", secs(time.Since(tookOver)))
}

// mismatchVersion: the peer speaks the other version.
func mismatchVersion(b *bed) {
	gs, ps := b.side(100, time.Second), b.side(150, time.Second)
	ps.version = 5 - b.col.version
	misconfigured(b, gs, ps, "version", fmt.Sprintf("version %d, expected %d", ps.version, gs.version))
}

// mismatchVIPs: the peer advertises another VIP.
func mismatchVIPs(b *bed) {
	gs, ps := b.side(100, b.fast()), b.side(150, b.fast())
	ps.vips = []netip.Prefix{b.other}
	misconfigured(b, gs, ps, "address_list", fmt.Sprintf("%s missing from [%s]", b.vip.Addr(), b.other.Addr()))
}

// mismatchInterval: VRRPv2 with different intervals. The peer has the shorter one:
// keepalived 2.2.7, as master, sends nothing while it drops mismatched adverts more
// often than its own interval, and vrrpd must see the peer's adverts to report them.
func mismatchInterval(b *bed) {
	gs, ps := b.side(100, 2*time.Second), b.side(150, time.Second)
	misconfigured(b, gs, ps, "interval", "advert interval 1s, expected 2s")
}

// shortInterval is the advert interval of cells that need no particular one: 0.5 s, or
// 1 s in VRRPv2, which advertises whole seconds.
func (b *bed) shortInterval() time.Duration {
	if b.col.version == 2 {
		return time.Second
	}
	return 500 * time.Millisecond
}
