package vrrp

import (
	"net/netip"
	"time"
)

// Stats counts what a router sent, received and dropped.
type Stats struct {
	AdvertsSent          uint64
	AdvertsReceived      uint64 // adverts that passed every check
	PriorityZeroSent     uint64
	PriorityZeroReceived uint64
	// Drops counts discarded packets by Reason.
	Drops [NumReasons]uint64
	// ChecksumForms counts accepted VRRPv3 IPv4 adverts by the checksum form that matched.
	ChecksumForms [2]uint64
	// LastDrop is the most recent discard, zero when none.
	LastDrop Drop
	// SplitBrainsHealed counts the adverts of lower-priority masters a master answered
	// at once with its own advert and gratuitous ARP.
	SplitBrainsHealed uint64
	// AdvertLatenessMax is the most a master's periodic advert went out after its
	// Adver_Timer was due: how late the daemon got to it (a loaded CPU, a pause).
	AdvertLatenessMax time.Duration
	// Transitions counts the state changes by the state entered.
	Transitions [NumStates]uint64
}

// Dropped returns the number of discarded packets, whatever the reason.
func (s *Stats) Dropped() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}

// Drop describes one discarded packet.
type Drop struct {
	At     time.Time
	From   netip.Addr
	Reason Reason
	Detail string
}

// lastDrop is the most recent discard, its detail not formatted yet.
type lastDrop struct {
	at   time.Time
	from netip.Addr
	why  discard
}

func (r *Router) drop(now time.Time, from netip.Addr, d *discard) {
	r.stats.Drops[d.reason]++
	r.dropped++
	if r.last == nil {
		r.last = new(lastDrop) // once: most routers never discard a packet
	}
	*r.last = lastDrop{at: now, from: from, why: *d}
}

// lastDropped formats the most recent discard, zero when none.
func (r *Router) lastDropped() Drop {
	if r.last == nil {
		return Drop{}
	}
	return Drop{At: r.last.at, From: r.last.from, Reason: r.last.why.reason, Detail: r.last.why.detail()}
}

// Status is a snapshot of a router, for `vrrpd show`.
type Status struct {
	State  State
	Since  time.Time
	Reason string // why the router entered State

	BasePriority uint8
	Priority     uint8 // effective priority
	Faulted      bool

	// Master is the address of the master as far as the router knows: its own address
	// when it is master, the source of the last accepted advert when backup.
	Master         netip.Addr
	MasterPriority uint8

	AdvertInterval      time.Duration // configured
	MasterAdverInterval time.Duration // learned from the master (VRRPv3) or configured
	SkewTime            time.Duration
	MasterDownInterval  time.Duration
	// NextDeadline is when the running timer fires; zero when none runs.
	NextDeadline time.Time
	// Holding: the router left mastership and keeps the VIPs until another master
	// appears (MakeBeforeBreak).
	Holding bool
	// WantsMaster: a member of a sync group whose Master_Down_Timer ran out waits for
	// the other members to take mastership.
	WantsMaster bool

	Stats Stats
}

// Status returns a snapshot of the router.
func (r *Router) Status() Status {
	s := Status{
		State:               r.state,
		Since:               r.since,
		Reason:              r.reason,
		BasePriority:        r.cfg.Priority,
		Priority:            r.priority,
		Faulted:             r.faulted,
		AdvertInterval:      r.cfg.AdvertInterval,
		MasterAdverInterval: r.masterAdverInterval,
		SkewTime:            r.SkewTime(),
		MasterDownInterval:  r.MasterDownInterval(),
		Stats:               r.stats,
	}
	s.Stats.LastDrop = r.lastDropped()
	switch r.state {
	case Master:
		s.Master, s.MasterPriority = r.cfg.Address, r.priority
	case Backup:
		s.Master, s.MasterPriority = r.master, r.masterPriority
	}
	if d, ok := r.NextDeadline(); ok {
		s.NextDeadline = d
	}
	s.Holding = r.Holding()
	s.WantsMaster = r.wantMaster
	return s
}

// LastDrop returns the most recent discarded packet, zero when none. Its detail is
// formatted at each call: compare Dropped first.
func (r *Router) LastDrop() Drop { return r.lastDropped() }

// Dropped returns the number of packets the router has discarded; reading it costs
// nothing, so a caller can see whether a packet was dropped without LastDrop.
func (r *Router) Dropped() uint64 { return r.dropped }

// LastDropReason returns the reason of the most recent discard and its sender.
func (r *Router) LastDropReason() (Reason, netip.Addr) {
	if r.last == nil {
		return 0, netip.Addr{}
	}
	return r.last.why.reason, r.last.from
}

// State returns the router's state.
func (r *Router) State() State { return r.state }

// Config returns the router's configuration.
func (r *Router) Config() Config { return r.cfg }
