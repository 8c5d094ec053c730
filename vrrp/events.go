package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// Event is an input to a Router: a packet, the passing of time, a change of health, or
// the end. The concrete types are the ones in this file.
type Event interface{ event() }

// Startup leaves Initialize (RFC 5798 section 6.4.1).
type Startup struct {
	// Listening is when the node's sockets began to listen, if earlier than the event:
	// the first Master_Down_Interval counts from there. Routers started together from
	// one instant time out together, and their adverts leave in one batch. Zero for
	// the event's own time.
	Listening time.Time
	// Launched is when the node's process started, zero if unknown or if this is not
	// its start. The StartupGrace counts from there rather than from Listening: nodes
	// started together then time out in the order of their priorities, however long
	// each took to read its configuration and open its sockets. The router still
	// listens for a whole Master_Down_Interval.
	Launched time.Time
}

// AdvertReceived carries a packet read from the instance's socket, with its metadata.
// The router validates it.
type AdvertReceived struct {
	Packet []byte
	Meta   Meta
}

// TimerFired tells the router that the clock reached its NextDeadline.
type TimerFired struct{}

// PriorityChanged sets the effective priority (1..255), the base priority adjusted by
// the trackers.
type PriorityChanged struct{ Priority uint8 }

// FaultRaised puts the router in Fault: it gives up mastership and ignores adverts until
// FaultCleared. Reason says why, for people. Immediate releases the VIPs at once even
// with MakeBeforeBreak: when the fault means nobody can reach them here (the VIPs' link
// is down, they could not be added).
type FaultRaised struct {
	Reason    string
	Immediate bool
}

// FaultCleared takes the router out of Fault, to Backup (or Master for an owner).
type FaultCleared struct{ Reason string }

// Shutdown stops the router: a master announces priority 0 and releases its VIPs.
type Shutdown struct{}

// Reconfigure replaces the router's configuration and keeps its state, for a reload.
// A master first sends an advert under the old configuration, so that no backup times
// out while the daemon applies the rest; the reload's VIP changes are the daemon's.
// When the base priority changes, the effective priority becomes the new base until the
// trackers apply theirs again. A configuration that fails Config.Validate is ignored.
type Reconfigure struct{ Config Config }

func (Startup) event()         {}
func (AdvertReceived) event()  {}
func (TimerFired) event()      {}
func (PriorityChanged) event() {}
func (FaultRaised) event()     {}
func (FaultCleared) event()    {}
func (Shutdown) event()        {}
func (Reconfigure) event()     {}

// Action is an output of a Router, for the daemon to carry out in the order given.
// The concrete types are the ones in this file.
type Action interface{ action() }

// SendAdvert asks for Advert to be sent: to the group, or to every unicast peer. The
// sender computes the checksum (Advertisement.Encode).
type SendAdvert struct{ Advert Advertisement }

// AddVIPs asks for the instance's VIPs to be added to their interfaces.
type AddVIPs struct{}

// RemoveVIPs asks for the instance's VIPs to be removed.
type RemoveVIPs struct{}

// AnnounceVIPs asks for gratuitous ARP and unsolicited NA for the instance's VIPs.
type AnnounceVIPs struct{}

// HoldVIPs asks to stop announcing the VIPs but keep them: the router left mastership
// on purpose and serves until another master takes over (MakeBeforeBreak), when a
// RemoveVIPs follows.
type HoldVIPs struct{}

// SplitBrainHealed reports that the master heard another master of lower priority (or
// equal priority and lower address) and reasserted itself at once: both had been master.
type SplitBrainHealed struct {
	Peer     netip.Addr
	Priority uint8
}

// LowerPriorityHeard reports that the master heard an advert of a lower priority
// (Config.ReportLowerPriority): keepalived's notify_master_rx_lower_pri.
type LowerPriorityHeard struct {
	Peer     netip.Addr
	Priority uint8
}

func (LowerPriorityHeard) action() {}

// Transition reports a change of state with a reason a person can read; it is the cue
// for notify hooks and the event stream.
type Transition struct {
	From, To State
	Reason   string
}

func (SendAdvert) action()       {}
func (AddVIPs) action()          {}
func (RemoveVIPs) action()       {}
func (AnnounceVIPs) action()     {}
func (HoldVIPs) action()         {}
func (SplitBrainHealed) action() {}
func (Transition) action()       {}

func (t Transition) String() string {
	return fmt.Sprintf("%v -> %v: %s", t.From, t.To, t.Reason)
}

// State is a state of the RFC 5798 section 6.4 machine, plus Fault.
type State uint8

// Router states. Fault is not in the RFC: it is where health trackers put a router that
// must not be master.
const (
	Initialize State = iota
	Backup
	Master
	Fault
	// NumStates is the number of states, for counter arrays.
	NumStates
)

// String returns the state as keepalived names it to notify scripts: INIT, BACKUP,
// MASTER, FAULT.
func (s State) String() string {
	switch s {
	case Initialize:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	}
	return fmt.Sprintf("state %d", uint8(s))
}
