package config

import (
	"net/netip"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Default paths.
const (
	DefaultPath      = "/etc/vrrpd/vrrpd.yaml"
	DefaultSocket    = "/run/vrrpd/vrrpd.sock"
	DefaultStateFile = "/run/vrrpd/vips.json"
	// DefaultScriptUser runs scripts and notify hooks when script_user is not set.
	DefaultScriptUser = "vrrpd-script"
)

// Config is one node's configuration, validated and with every default filled in.
type Config struct {
	// File is the path the configuration was read from.
	File string
	// Node names this node in logs and `vrrpd show`; the hostname by default.
	Node string
	// Socket is the control socket of `vrrpd show`.
	Socket string
	// StateFile records the VIPs vrrpd added, so that a restart after a crash removes
	// them and never a node's own address.
	StateFile string
	// ScriptUser runs scripts and notify hooks; never root unless it says root.
	ScriptUser string
	// Scripts are the named health checks instances may track.
	Scripts []Script
	// Instances are the virtual routers, in file order.
	Instances []Instance
	// Warnings are the problems that did not stop the file from loading, such as an
	// auth password longer than 8 characters, sorted by line. Nil when there are none.
	Warnings Problems

	// pos says where each setting is in the file, by path ("instances[web].vrid"), so
	// that Check can point at the line a problem on the machine comes from.
	pos map[string]position
}

// Script is a named health check (`scripts:`), run by the tracker.
type Script struct {
	Name     string
	Exec     []string // argv, run directly, no shell unless argv names one
	Interval time.Duration
	Timeout  time.Duration
	Fall     int
	Rise     int
	User     string // overrides ScriptUser
	Line     int
}

// Instance is one virtual router.
type Instance struct {
	Name      string
	Interface string
	VRID      uint8
	// Priority is the base priority, 1..255 (255: address owner). Default 100.
	Priority uint8
	// Version is 2 or 3. Default 3.
	Version vrrp.Version
	// AdvertInterval: VRRPv3 10 ms steps from 10 ms to 40.95 s; VRRPv2 whole seconds.
	// Default 1 s.
	AdvertInterval time.Duration
	// Preempt: default true. PreemptDelay: default 0.
	Preempt      bool
	PreemptDelay time.Duration
	// Accept is Accept_Mode; default true, as in keepalived.
	Accept bool
	// DownTimerAdverts: 1..100, default 3.
	DownTimerAdverts int
	// LowerPriorityNoAdvert: default false (answer lower-priority adverts at once).
	LowerPriorityNoAdvert bool
	// Checksum is the VRRPv3 IPv4 checksum form sent; default pseudo-header.
	Checksum vrrp.ChecksumForm
	// Source is the address adverts are sent from. Default: the interface's primary
	// IPv4 address, or its link-local IPv6 address. For unicast it is Unicast.Source.
	Source netip.Addr
	// Unicast, when not nil, sends to peers instead of the multicast group.
	Unicast *Unicast
	// Auth is VRRPv2 authentication; nil for none.
	Auth *Auth
	// VIPs are carried in adverts; ExcludedVIPs are managed the same way but never
	// advertised (keepalived's virtual_ipaddress_excluded).
	VIPs         []VIP
	ExcludedVIPs []VIP
	// GARP is the announcement schedule on becoming master.
	GARP GARP
	// Track lists the health checks that move the priority or cause a fault.
	Track Track
	// Notify hooks run on transitions.
	Notify Notify
	// Line is where the instance starts in the file, for messages.
	Line int
}

// Family returns the instance's address family, from its VIPs.
func (in *Instance) Family() vrrp.Family {
	if len(in.VIPs) > 0 {
		return vrrp.FamilyOf(in.VIPs[0].Prefix.Addr())
	}
	return vrrp.IPv4
}

// Unicast is the unicast mode of an instance.
type Unicast struct {
	Source netip.Addr
	Peers  []netip.Addr
	// CheckSource accepts adverts only from Peers. Default true.
	CheckSource bool
}

// Auth is VRRPv2 authentication.
type Auth struct {
	Type     vrrp.AuthType // only simple password ("pass")
	Password string        // the first 8 bytes count
}

// VIP is a virtual address.
type VIP struct {
	Prefix netip.Prefix // default length /32 or /128
	// Interface defaults to the instance's.
	Interface string
	// Label is an IPv4 label such as "eth1:vip".
	Label string
	Line  int
}

// GARP is the announcement schedule, keepalived's garp_master_* settings.
type GARP struct {
	Repeat        int           // per VIP in each burst; default 5
	Delay         time.Duration // second burst after; default 5s; 0: none
	Refresh       time.Duration // re-announce while master; default 0: off
	RefreshRepeat int           // per VIP at each refresh; default 1
	Reply         bool          // also send the ARP reply form; default false
}

// Track lists what an instance follows, each with a weight.
type Track struct {
	Scripts    []TrackRef
	Interfaces []TrackRef
	Processes  []TrackRef
	Files      []TrackRef
	HAProxy    []TrackRef
}

// TrackRef names a tracker with its weight. A positive weight is added while the check
// passes, a negative one while it fails; 0 puts the instance in FAULT while it fails.
type TrackRef struct {
	Name    string
	Weight  int
	Reverse bool
	Line    int
}

// Notify holds the argv of each hook; nil for none. Any runs on every transition with
// keepalived-style arguments appended: INSTANCE name STATE priority.
type Notify struct {
	Master []string
	Backup []string
	Fault  []string
	Stop   []string
	Any    []string
}
