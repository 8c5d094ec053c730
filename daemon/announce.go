package daemon

import (
	"net/netip"
	"time"

	"github.com/vrrpd/vrrpd/netops"
)

// announcing is an instance's announcement of its VIPs while master (gratuitous ARP,
// unsolicited NA): one schedule per interface, run by the instance's port at the
// instance's deadlines, as its adverts are. A thousand masters need no goroutine or
// timer of their own, and a burst never follows the end of mastership: both happen in
// the port's goroutine.
type announcing struct {
	runs []announceRun
}

// announceRun is the schedule of the VIPs on one interface.
type announceRun struct {
	ifname string
	vips   []netip.Addr
	reply  bool
	sched  *netops.AnnounceSchedule
}

// startAnnouncing (re)starts the announcement schedule of every VIP, per interface. The
// first bursts are due at once: the port sends them when it next looks at the
// instance's deadline, after the VIPs of every instance taking over with it are added.
func (in *instance) startAnnouncing() {
	now := in.d.clock.Now()
	a := &announcing{}
	g := in.cfg.GARP
	cfg := netops.AnnounceConfig{Repeat: g.Repeat, Delay: g.Delay, Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat, Reply: g.Reply}
	for _, v := range in.vips() {
		i := 0
		for i < len(a.runs) && a.runs[i].ifname != v.Interface {
			i++
		}
		if i == len(a.runs) {
			a.runs = append(a.runs, announceRun{ifname: v.Interface, reply: cfg.Reply,
				sched: netops.NewAnnounceSchedule(in.otherInterfacesRefresh(v.Interface, cfg), now)})
		}
		a.runs[i].vips = append(a.runs[i].vips, v.Prefix.Addr())
	}
	in.announcing = a
}

func (in *instance) stopAnnouncing() { in.announcing = nil }

// announceDue returns when the next burst is due; false when none is.
func (in *instance) announceDue() (time.Time, bool) {
	var next time.Time
	if in.announcing == nil {
		return next, false
	}
	for _, r := range in.announcing.runs {
		if due, ok := r.sched.Due(); ok && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next, !next.IsZero()
}

// announce sends the bursts due at now. A failure is logged, once a burst, and the
// schedule goes on.
func (in *instance) announce(now time.Time) {
	if in.announcing == nil {
		return
	}
	a := countingAnnouncer{in.d.sys.Announcer, &in.announced}
	for _, r := range in.announcing.runs {
		count, kind, ok := r.sched.Take(now)
		if !ok {
			continue
		}
		if err := a.Announce(r.ifname, r.vips, count, r.reply); err != nil {
			in.log.Warn("announce failed", "interface", r.ifname, "burst", kind, "count", count, "err", err)
			continue
		}
		in.log.Debug("announced", "interface", r.ifname, "burst", kind, "count", count, "vips", len(r.vips))
	}
}
