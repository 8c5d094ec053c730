// Package vrrp is the Virtual Router Redundancy Protocol itself, in pure Go: the packet
// codec, the receive checks and the state machine of one virtual router. It makes no
// system calls, starts no goroutines and reads time only from an injected Clock, so
// everything in it is tested without a network, in simulated time.
//
// # Packets
//
// Advertisement is one type for VRRPv2 (RFC 3768 section 5) and VRRPv3 (RFC 5798 and
// RFC 9568 section 5), IPv4 and IPv6, with MarshalBinary and UnmarshalBinary on the wire
// format. Checksum and Advertisement.Encode compute the checksum: over the message for
// VRRPv2, over the IPv6 pseudo-header and message for VRRPv3 IPv6, and for VRRPv3 IPv4
// in either of the two forms found in the field (ChecksumForm): with the IPv4
// pseudo-header as keepalived sends it, or over the message alone as RFC 9568 does.
//
// # Receive checks
//
// Validate applies RFC 5798 section 7.1 in the order keepalived applies them and returns
// a *DiscardError with a Reason (a counter name) and a detail a person can act on, such
// as "version 2, expected 3". Multicast adverts need TTL 255; unicast ones do not,
// since keepalived sends IPv6 unicast with hop limit 64. Either VRRPv3 IPv4 checksum form
// is accepted and the one that matched is reported.
//
// # State machine
//
// Router is RFC 5798/9568 section 6.4: Initialize, Backup and Master, plus Fault for
// health trackers. Events go in (Startup, AdvertReceived, TimerFired, PriorityChanged,
// FaultRaised, FaultCleared, Shutdown) and actions come out (SendAdvert, AddVIPs,
// RemoveVIPs, AnnounceVIPs, Transition with a reason a person can read). The timers of
// section 6.1 (Skew_Time, Master_Down_Interval) follow each version: VRRPv2's skew is
// independent of the interval, VRRPv3 backups learn the master's interval. Beyond the
// RFC, as keepalived users expect: preempt_delay, down_timer_adverts, a configurable
// answer to lower-priority adverts (section 6.4.3 of RFC 9568), priority 0 when a master
// enters Fault, and timers that move when the effective priority changes.
//
// # Sync groups
//
// SyncGroup holds keepalived's rules for a vrrp_sync_group, pure like Router: fed each
// member's state, it orders the others (GroupAllowsMaster, GroupMaster, GroupBackup,
// FaultRaised, FaultCleared). A member becomes master only when every other member is
// master or wants to be (WantMaster): a group prefers backup to thrashing.
package vrrp
