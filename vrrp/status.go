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
}

// Drop describes one discarded packet.
type Drop struct {
	At     time.Time
	From   netip.Addr
	Reason Reason
	Detail string
}

func (s *Stats) drop(now time.Time, from netip.Addr, d *DiscardError) {
	s.Drops[d.Reason]++
	s.LastDrop = Drop{At: now, From: from, Reason: d.Reason, Detail: d.Detail}
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
	switch r.state {
	case Master:
		s.Master, s.MasterPriority = r.cfg.Address, r.priority
	case Backup:
		s.Master, s.MasterPriority = r.master, r.masterPriority
	}
	if d, ok := r.NextDeadline(); ok {
		s.NextDeadline = d
	}
	return s
}

// LastDrop returns the most recent discarded packet, zero when none.
func (r *Router) LastDrop() Drop { return r.stats.LastDrop }

// State returns the router's state.
func (r *Router) State() State { return r.state }

// Config returns the router's configuration.
func (r *Router) Config() Config { return r.cfg }
