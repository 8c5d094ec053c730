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

// loop owns the router: packets, timers and requests reach it here, one at a time.
func (in *instance) loop() {
	defer close(in.done)
	timer := in.d.clock.NewTimer()
	defer timer.Stop()
	for {
		timer.Reset(in.wait())
		var stopDeadline <-chan struct{}
		if in.stopping != nil {
			stopDeadline = in.stopping.Done()
		}
		select {
		case p := <-in.sub.Packets():
			in.receive(p)
		case <-timer.C():
			// Adverts that arrived meanwhile count first: a backup that stalled (a
			// loaded CPU, a long pause) must not take over while its master's adverts
			// sit unread.
			in.drain()
			in.tick()
		case fn := <-in.reqs:
			in.drain()
			fn()
		case <-stopDeadline:
			in.log.Warn("stop: the time is up, releasing the VIPs the next master has not taken yet")
			in.release()
		case <-in.quit:
			return
		}
		if in.stopping != nil && !in.router.Holding() {
			in.finish(in.stopping)
		}
	}
}

// release ends a stop that waits for the next master: the VIPs go now.
func (in *instance) release() {
	if in.stopping == nil {
		return
	}
	in.removeRoutes(routesOf(in.cfg))
	in.removeVIPs(in.vips())
	in.finish(in.stopping)
}

// wait returns how long the instance may sleep before tick has work.
func (in *instance) wait() time.Duration {
	now := in.d.clock.Now()
	next := now.Add(time.Hour)
	if in.router == nil {
		next = now.Add(retryEvery)
	} else if d, ok := in.router.NextDeadline(); ok {
		next = d
	}
	for _, t := range []time.Time{in.vipRetryAt, in.vipDeadline, in.vipRecoverAt} {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	return max(0, next.Sub(now))
}

// tick does what is due: create the router, retry VIPs, fire the router's timer.
func (in *instance) tick() {
	if in.router == nil {
		in.tryCreateRouter()
		return
	}
	in.vipsDue(in.d.clock.Now())
	in.handle(vrrp.TimerFired{})
}

// drain handles the packets already queued, at most a queue's worth.
func (in *instance) drain() {
	for range netops.QueueLen {
		select {
		case p := <-in.sub.Packets():
			in.receive(p)
		default:
			return
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

// do runs fn in the instance's goroutine and waits for it; false if the loop has ended.
func (in *instance) do(fn func()) bool {
	done := make(chan struct{})
	select {
	case in.reqs <- func() { fn(); close(done) }:
		<-done
		return true
	case <-in.done:
		return false
	}
}

func (in *instance) handle(ev vrrp.Event) {
	in.execute(in.router.Handle(ev))
}

// execute carries out the router's actions in order.
func (in *instance) execute(acts []vrrp.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case vrrp.SendAdvert:
			in.send(a.Advert)
		case vrrp.AddVIPs:
			in.addVIPs(in.vips())
			in.addRoutes(routesOf(in.cfg))
		case vrrp.RemoveVIPs:
			in.stopAnnouncing()
			in.removeRoutes(routesOf(in.cfg))
			in.removeVIPs(in.vips())
		case vrrp.AnnounceVIPs:
			in.startAnnouncing()
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
		b, err := adv.AppendEncoded(in.sendBuf[:0], in.src, dst, in.cfg.Checksum)
		if err == nil {
			in.sendBuf = b
			err = in.sub.Send(b, in.src, dst)
		}
		if err != nil {
			in.drops.sendFailed(in.log, in.d.clock.Now(), dst, err)
		}
	}
}
