package daemon

import (
	"net/netip"
	"time"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// retryEvery is how often an instance without a source address looks again, besides
// looking on every link and address event.
const retryEvery = 2 * time.Second

// release ends a stop that waits for the next master: the VIPs go now.
func (in *instance) release() {
	if in.stopping == nil {
		return
	}
	in.removeRoutes(routesOf(*in.cfg))
	in.removeVIPs(in.vips())
	in.finish(in.stopping)
}

// next returns when the instance next has work for tick.
func (in *instance) next() time.Time {
	now := in.d.clock.Now()
	next := now.Add(time.Hour)
	if in.router == nil {
		next = now.Add(retryEvery)
	} else if d, ok := in.router.NextDeadline(); ok {
		next = d
	}
	earliest := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	earliest(in.vipRetryAt)
	earliest(in.vipDeadline)
	earliest(in.vipRecoverAt)
	if due, ok := in.announceDue(); ok {
		earliest(due)
	}
	if in.stopping != nil {
		// A stop that waits for the next master ends at its context's deadline.
		dl, ok := in.stopping.Deadline()
		if !ok {
			dl = now.Add(time.Second) // look again: no deadline says when it ends
		}
		earliest(dl)
	}
	return next
}

// tick does what is due: end a stop whose time is up, create the router, retry VIPs,
// fire the router's timer.
func (in *instance) tick() {
	if in.stopping != nil && in.stopping.Err() != nil {
		in.log.Warn("stop: the time is up, releasing the VIPs the next master has not taken yet")
		in.release()
		return
	}
	if in.router == nil {
		in.tryCreateRouter()
		return
	}
	now := in.d.clock.Now()
	in.vipsDue(now)
	in.handle(vrrp.TimerFired{})
	if due, ok := in.announceDue(); ok && !now.Before(due) {
		if in.port.batching {
			// After the batch's adverts, as the router's other actions.
			in.port.later = append(in.port.later, func() { in.announce(now) })
		} else {
			in.announce(now)
		}
	}
}

// receive hands a packet to the router. A dropped packet costs no allocation: its
// detail is formatted only when the drop log reports it.
func (in *instance) receive(p *netops.Packet) {
	defer p.Release()
	in.received++
	if in.router == nil {
		return
	}
	before := in.router.Dropped()
	in.execute(in.router.Receive(p.Data, p.Meta))
	if in.router.Dropped() != before {
		in.drops.report(in.log, in.d.clock.Now(), in.router)
	}
}

// do runs fn in the goroutine that owns the instance, its port's, and waits for it;
// false if the instance has ended.
func (in *instance) do(fn func()) bool {
	ran := false
	ok := in.port.run(in, func() {
		if !in.left {
			fn()
			ran = true
		}
	})
	return ok && ran
}

func (in *instance) handle(ev vrrp.Event) {
	in.execute(in.router.Handle(ev))
}

// execute carries out the router's actions in order.
// While its port fires a batch of due instances, the adverts wait in the batch and the
// rest (VIPs, announcements, logs, hooks), which takes far longer, waits until the batch
// has gone: a thousand instances taking over at once do not hold back their adverts.
func (in *instance) execute(acts []vrrp.Action) {
	for i, a := range acts {
		if adv, ok := a.(vrrp.SendAdvert); ok {
			in.send(adv.Advert)
			continue
		}
		if in.port.batching {
			rest := acts[i:]
			in.port.later = append(in.port.later, func() { in.execute(rest) })
			return
		}
		in.do1(a)
	}
}

// do1 carries out one action other than sending an advert.
func (in *instance) do1(a vrrp.Action) {
	{
		switch a := a.(type) {
		case vrrp.AddVIPs:
			in.addVIPs(in.vips())
			in.addRoutes(routesOf(*in.cfg))
		case vrrp.RemoveVIPs:
			in.stopAnnouncing()
			in.removeRoutes(routesOf(*in.cfg))
			in.removeVIPs(in.vips())
		case vrrp.AnnounceVIPs:
			in.startAnnouncing()
			if !in.port.several {
				// The first burst goes before the transition is logged and published.
				// Instances taking over together send theirs once every one has its VIPs.
				in.announce(in.d.clock.Now())
			}
		case vrrp.HoldVIPs:
			in.stopAnnouncing()
		case vrrp.SplitBrainHealed:
			in.splitBrainHealed(a)
		case vrrp.Transition:
			in.transitioned(a)
		case vrrp.WantMaster:
			in.reportToGroup()
		case vrrp.LowerPriorityHeard:
			in.lowerPriorityHeard(a)
		}
	}
}

func (in *instance) send(adv vrrp.Advertisement) {
	group := [1]netip.Addr{netops.Group(in.cfg.Family())}
	if in.cfg.Group.IsValid() {
		group[0] = in.cfg.Group
	}
	dsts := group[:]
	if in.cfg.Unicast != nil {
		dsts = in.cfg.Unicast.Peers
	}
	for _, dst := range dsts {
		if in.batched {
			in.port.flush() // the batch holds our buffer: send it before reusing it
		}
		b, err := adv.AppendEncoded(in.sendBuf[:0], in.src, dst, in.cfg.Checksum)
		if err == nil {
			in.sendBuf = b
			if in.port.batching && len(dsts) == 1 {
				in.port.queue(in, netops.Outgoing{Data: b, Src: in.src, Dst: dst})
				continue
			}
			err = in.sub.Send(b, in.src, dst)
		}
		if err != nil {
			in.drops.sendFailed(in.log, in.d.clock.Now(), dst, err)
		}
	}
}
