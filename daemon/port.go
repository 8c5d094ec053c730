package daemon

import (
	"container/heap"
	"runtime"
	"time"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// port runs every instance of one interface and family in one goroutine: their packets
// come through one inbox, their deadlines sit in one heap, their requests in one queue.
// A thousand instances cost a few goroutines and timers rather than a thousand, and
// those whose timers fall due together are served in one wake-up. Nothing else touches
// the instances' routers.
type port struct {
	d     *Daemon
	key   portKey
	inbox *netops.Inbox
	reqs  chan request
	// Owned by the loop: the instances by VRID, and by deadline.
	byVRID map[uint8]*instance
	due    deadlines
	// While batching (firing the due instances), their adverts wait in batch, sent
	// together by flush: hundreds of adverts due at once leave in a few system calls.
	batching bool
	batch    []netops.Outgoing
	owners   []*instance
	// later are the instances' other actions, carried out once the batch has gone;
	// several are while several instances that fired together carry out theirs.
	later   []func()
	several bool
	// fire is fireDue's list of the instances due, kept for the next call: at 100 ms
	// adverts a thousand instances fire ten thousand times a second.
	fire []*instance
	quit chan struct{} // closed to end the loop
	done chan struct{} // closed when it has ended
}

// request is a function to run in a port's goroutine, for an instance or none.
type request struct {
	in *instance
	fn func()
}

// portKey names a port.
type portKey struct {
	ifname string
	family vrrp.Family
}

func newPort(d *Daemon, key portKey) *port {
	p := &port{
		d:      d,
		key:    key,
		inbox:  netops.NewInbox(),
		reqs:   make(chan request),
		byVRID: map[uint8]*instance{},
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go p.loop()
	return p
}

func (p *port) loop() {
	defer close(p.done)
	timer := p.d.clock.NewTimer()
	defer timer.Stop()
	for {
		// Work due now (the first announcements after a takeover) is done without
		// sleeping on a timer of zero: waking up again costs the runtime a thread's
		// wake-up, half a millisecond on a virtual machine.
		due := ready
		if wait := p.wait(); wait > 0 {
			p.arm(timer, wait)
			due = timer.C()
		}
		select {
		case <-p.inbox.Wake():
			p.drain()
		case <-due:
			// Adverts that arrived meanwhile count first: a backup that stalled (a
			// loaded CPU, a long pause) must not take over while its master's adverts
			// sit unread.
			p.drain()
			p.fireDue()
		case r := <-p.reqs:
			p.drain()
			r.fn()
			if r.in != nil {
				p.settle(r.in)
			}
		case <-p.quit:
			return
		}
	}
}

// arm sets timer to wake the loop after wait: exactly when the earliest deadline is a
// backup's Master_Down_Timer, whose precision decides which backup takes over; otherwise
// as the runtime's timers do, late enough that adverts due together leave together.
func (p *port) arm(timer Timer, wait time.Duration) {
	if len(p.due) > 0 && p.due[0].router != nil && p.due[0].router.State() == vrrp.Backup {
		timer.ResetExact(wait)
		return
	}
	timer.Reset(wait)
}

// ready is always ready to receive from.
var ready = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// wait returns how long the loop may sleep before an instance has work.
func (p *port) wait() time.Duration {
	if len(p.due) == 0 {
		return time.Hour
	}
	return max(0, p.due[0].deadline.Sub(p.d.clock.Now()))
}

// drainLimit bounds the packets handled in one go, so that a flood cannot hold off the
// timers for long: what is left is taken at the next turn.
const drainLimit = 4 * netops.QueueLen

// drain hands the queued packets to their instances.
func (p *port) drain() {
	for range drainLimit {
		pkt := p.inbox.Next()
		if pkt == nil {
			return
		}
		in := p.byVRID[pkt.Data[1]]
		if in == nil {
			pkt.Release()
			continue
		}
		in.receive(pkt)
		p.settle(in)
	}
	p.inbox.Poke()
}

// fireDue runs the instances whose deadline has come, each once.
func (p *port) fireDue() {
	now := p.d.clock.Now()
	fire := p.fire[:0]
	for len(p.due) > 0 && !p.due[0].deadline.After(now) {
		in := heap.Pop(&p.due).(*instance)
		fire = append(fire, in)
	}
	p.batching = true
	for _, in := range fire {
		in.tick()
	}
	p.flush()
	p.batching = false
	p.several = len(fire) > 1
	if len(p.later) > 0 && p.several {
		// What follows is slow (VIPs, logs, announcements): let other ports whose
		// instances are due too send their adverts first. A takeover of a thousand
		// instances on four links then advertises within a few milliseconds. Not for
		// one instance: the yield can cost a thread's wake-up.
		runtime.Gosched()
	}
	for i, fn := range p.later {
		fn()
		p.later[i] = nil
	}
	p.later, p.several = p.later[:0], false
	for _, in := range fire {
		p.settle(in)
	}
	clear(fire) // no instance kept alive by the list
	p.fire = fire[:0]
}

// queue adds an advert of in to the batch.
func (p *port) queue(in *instance, o netops.Outgoing) {
	p.batch = append(p.batch, o)
	p.owners = append(p.owners, in)
	in.batched = true
}

// flush sends the batch.
func (p *port) flush() {
	if len(p.batch) == 0 {
		return
	}
	if err := p.d.mux.SendBatch(p.key.ifname, p.key.family, p.batch); err != nil {
		in := p.owners[0]
		in.drops.sendFailed(in.log, p.d.clock.Now(), p.batch[0].Dst, err)
	}
	for i, in := range p.owners {
		in.batched = false
		p.owners[i], p.batch[i] = nil, netops.Outgoing{}
	}
	p.batch, p.owners = p.batch[:0], p.owners[:0]
}

// settle puts in back in the heap at its next deadline after it handled something, or
// finishes its stop when it no longer holds VIPs for the next master.
func (p *port) settle(in *instance) {
	if in.left {
		return
	}
	if in.stopping != nil && (in.router == nil || !in.router.Holding()) {
		in.finish(in.stopping)
		return
	}
	in.deadline = in.next()
	if in.heapIndex >= 0 {
		heap.Fix(&p.due, in.heapIndex)
	} else {
		heap.Push(&p.due, in)
	}
}

// attach makes in one of the port's instances. In the port's goroutine.
func (p *port) attach(in *instance) {
	in.left, in.heapIndex = false, -1
	p.byVRID[in.cfg.VRID] = in
}

// detach removes in from the port. In the port's goroutine.
func (p *port) detach(in *instance) {
	in.left = true
	if p.byVRID[in.cfg.VRID] == in {
		delete(p.byVRID, in.cfg.VRID)
	}
	if in.heapIndex >= 0 {
		heap.Remove(&p.due, in.heapIndex)
	}
}

// run runs fn in the port's goroutine and waits for it; false if the port has ended.
func (p *port) run(in *instance, fn func()) bool {
	done := make(chan struct{})
	select {
	case p.reqs <- request{in: in, fn: func() { fn(); close(done) }}:
		<-done
		return true
	case <-p.done:
		return false
	}
}

// stop ends the loop, once its instances have gone.
func (p *port) stop() {
	close(p.quit)
	<-p.done
}

// deadlines is a heap of instances by deadline.
type deadlines []*instance

func (h deadlines) Len() int           { return len(h) }
func (h deadlines) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h deadlines) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex, h[j].heapIndex = i, j
}
func (h *deadlines) Push(x any) {
	in := x.(*instance)
	in.heapIndex = len(*h)
	*h = append(*h, in)
}
func (h *deadlines) Pop() any {
	old := *h
	in := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	in.heapIndex = -1
	return in
}
