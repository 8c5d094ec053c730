package netops

import (
	"sync"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Inbox gathers the packets of several subscriptions for one reader, behind one channel
// that says there is something to read: a goroutine can serve hundreds of virtual
// routers without a channel, or a goroutine, each. Each subscription's packets still
// queue apart, at most QueueLen of them, so that a flood on one VRID cannot crowd out
// another's adverts; Next takes them in turn. It is safe for concurrent use.
type Inbox struct {
	mu    sync.Mutex
	ready []*Subscription // subscriptions with packets queued, in turn
	wake  chan struct{}
}

// NewInbox returns an empty inbox.
func NewInbox() *Inbox { return &Inbox{wake: make(chan struct{}, 1)} }

// Wake delivers a value when packets were queued since the last Next found none; read
// with Next until it returns nil.
func (i *Inbox) Wake() <-chan struct{} { return i.wake }

// Next returns the next packet, from each subscription in turn, and nil when none is
// queued. The packet is the caller's until it calls Release.
func (i *Inbox) Next() *Packet {
	i.mu.Lock()
	defer i.mu.Unlock()
	for len(i.ready) > 0 {
		s := i.ready[0]
		i.ready = i.ready[1:]
		if len(s.queue) == 0 {
			s.waiting = false
			continue
		}
		p := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if len(s.queue) > 0 {
			i.ready = append(i.ready, s) // its turn comes again after the others
		} else {
			s.waiting = false
		}
		return p
	}
	return nil
}

// put queues p for s, or drops it when s's queue is full. Called by the Mux's reader.
func (i *Inbox) put(s *Subscription, p *Packet) bool {
	i.mu.Lock()
	if len(s.queue) >= QueueLen {
		i.mu.Unlock()
		return false
	}
	if len(s.queue) == 0 && cap(s.queue) < QueueLen {
		s.queue = make([]*Packet, 0, QueueLen)
	}
	s.queue = append(s.queue, p)
	if !s.waiting {
		s.waiting = true
		i.ready = append(i.ready, s)
	}
	i.mu.Unlock()
	select {
	case i.wake <- struct{}{}:
	default:
	}
	return true
}

// forget drops what s has queued, when it closes.
func (i *Inbox) forget(s *Subscription) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, p := range s.queue {
		p.Release()
	}
	s.queue = nil
}

// SubscribeInbox is Subscribe with the packets going to inbox instead of a channel of
// the subscription's own.
func (m *Mux) SubscribeInbox(ifname string, family vrrp.Family, vrid uint8, inbox *Inbox) (*Subscription, error) {
	return m.subscribe(ifname, family, vrid, inbox)
}

// Poke makes Wake deliver again if packets are still queued: for a reader that stopped
// before Next returned nil.
func (i *Inbox) Poke() {
	i.mu.Lock()
	pending := len(i.ready) > 0
	i.mu.Unlock()
	if pending {
		select {
		case i.wake <- struct{}{}:
		default:
		}
	}
}
