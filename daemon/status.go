package daemon

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/vrrp"
)

func fillRouterStatus(s *control.InstanceStatus, r vrrp.Status) {
	s.State, s.Since, s.Reason = r.State.String(), r.Since, r.Reason
	s.BasePriority, s.Priority = int(r.BasePriority), int(r.Priority)
	if r.Master.IsValid() {
		s.Master, s.MasterPriority = r.Master.String(), int(r.MasterPriority)
	}
	s.AdvertInterval = control.Duration(r.AdvertInterval)
	s.MasterAdvertInterval = control.Duration(r.MasterAdverInterval)
	s.SkewTime = control.Duration(r.SkewTime)
	s.MasterDownInterval = control.Duration(r.MasterDownInterval)
	st := r.Stats
	s.AdvertsSent, s.AdvertsReceived = st.AdvertsSent, st.AdvertsReceived
	s.AdvertLatenessMax = control.Duration(st.AdvertLatenessMax)
	s.SplitBrainsHealed = st.SplitBrainsHealed
	s.Holding = r.Holding
	s.WantsMaster = r.WantsMaster
	s.PriorityZeroSent, s.PriorityZeroReceived = st.PriorityZeroSent, st.PriorityZeroReceived
	s.Drops = map[string]uint64{}
	for reason, n := range st.Drops {
		if n > 0 {
			s.Drops[vrrp.Reason(reason).String()] = n
		}
	}
	for state, n := range st.Transitions {
		if n > 0 {
			if s.Transitions == nil {
				s.Transitions = map[string]uint64{}
			}
			s.Transitions[vrrp.State(state).String()] = n
		}
	}
	if st.ChecksumForms != [2]uint64{} {
		s.ChecksumForms = map[string]uint64{
			vrrp.ChecksumPseudoHeader.String(): st.ChecksumForms[vrrp.ChecksumPseudoHeader],
			vrrp.ChecksumMessageOnly.String():  st.ChecksumForms[vrrp.ChecksumMessageOnly],
		}
	}
	if !st.LastDrop.At.IsZero() {
		s.LastDrop = &control.DropStatus{Time: st.LastDrop.At, From: addrString(st.LastDrop.From),
			Reason: st.LastDrop.Reason.String(), Detail: st.LastDrop.Detail}
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// broadcaster hands events to every subscriber; a subscriber that falls behind loses
// events rather than slowing the daemon, and they are counted.
type broadcaster struct {
	mu      sync.Mutex
	subs    map[chan control.Event]struct{}
	dropped atomic.Uint64
}

func (b *broadcaster) subscribe() (<-chan control.Event, func()) {
	ch := make(chan control.Event, 256)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan control.Event]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *broadcaster) publish(e control.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
}
