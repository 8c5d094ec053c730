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
	// DefaultSocketGroup may use the control socket when socket_group is not set and
	// the group exists (the packages create it).
	DefaultSocketGroup = "vrrpd"
)

// Shortest durations a file may set; 0 stays allowed where it means none or off.
const (
	// MinTimer bounds every interval, timeout and delay: 10 ms, the unit of VRRPv3's
	// advert interval. Shorter is a slip of the unit (1ms for 1s), or a check run faster
	// than any failover could follow it.
	MinTimer = 10 * time.Millisecond
	// MinGARPRefresh bounds garp.refresh: Linux neighbours ignore ARP updates within 1 s
	// of the last (locktime), so refreshing more often only adds traffic.
	MinGARPRefresh = time.Second
)

// Config is one node's configuration, validated and with every default filled in.
type Config struct {
	// File is the path the configuration was read from.
	File string
	// Node names this node in logs and `vrrpd show`; the hostname by default.
	Node string
	// Socket is the control socket of `vrrpd show`.
	Socket string
	// SocketGroup owns the control socket (mode 0660), so that its members may run
	// `vrrpd show` without root. When it is the default and the group does not exist,
	// the socket stays root's; a group the file names must exist (Check).
	SocketGroup string
	// StateFile records the VIPs vrrpd added, so that a restart after a crash removes
	// them and never a node's own address.
	StateFile string
	// ScriptUser runs scripts and notify hooks; never root unless it says root.
	ScriptUser string
	// RealtimePriority runs every thread of vrrpd under SCHED_RR at this priority
	// (1..99), keepalived's vrrp_rt_priority; 0, the default, leaves the default policy.
	RealtimePriority int
	// LockMemory locks vrrpd's memory (mlockall), keepalived's vrrp_no_swap.
	LockMemory bool
	// Scripts are the named health checks instances may track.
	Scripts []Script
	// Processes are the named process checks (`processes:`), keepalived's
	// vrrp_track_process.
	Processes []Process
	// Files are the named files holding a number (`files:`), keepalived's
	// vrrp_track_file.
	Files []File
	// HAProxy are the named checks of HAProxy's Runtime API (`haproxy:`).
	HAProxy []HAProxy
	// BFDSessions are the named BFD sessions (`bfd:`), keepalived's bfd_instance.
	BFDSessions []BFDSession
	// Metrics is the Prometheus endpoint; nil when it is off, the default.
	Metrics *Metrics
	// Instances are the virtual routers, in file order.
	Instances []Instance
	// SyncGroups are the sets of instances that fail over together, in file order.
	SyncGroups []SyncGroup
	// BGP announces routes to upstream routers while they are healthy; nil without a
	// bgp section.
	BGP *BGP
	// Warnings are the problems that did not stop the file from loading, such as an
	// auth password longer than 8 characters, sorted by line. Nil when there are none.
	Warnings Problems

	// pos says where each setting is in the file, by path ("instances[web].vrid"), so
	// that Check can point at the line a problem on the machine comes from.
	pos map[string]position
}

// DefaultStartupGrace is startup_grace unless set: at 100 ms adverts a priority-150
// router's first Master_Down_Interval grows by 62 ms, a priority-100 one's by 91 ms, both
// counted from vrrpd's launch; at 250 ms adverts and more, by nothing.
const DefaultStartupGrace = 250 * time.Millisecond

// ForgetPositions drops what says where each setting is in the file, which only Check
// needs: a thousand instances' worth is megabytes a running daemon has no use for.
// Check still works after, without lines.
func (c *Config) ForgetPositions() { c.pos = nil }

// Metrics is the HTTP endpoint Prometheus scrapes (`metrics:`).
type Metrics struct {
	// Listen is host:port, the host an IP address, or empty for every address of the
	// node.
	Listen string
	// Path is the URL path of the metrics; default /metrics.
	Path string
	Line int
}

// DefaultMetricsPath is where the metrics are when metrics.path is not set.
const DefaultMetricsPath = "/metrics"

// Script is a named health check (`scripts:`), run by the tracker.
type Script struct {
	Name     string
	Exec     []string // argv, run directly, no shell unless argv names one
	Interval time.Duration
	Timeout  time.Duration
	Fall     int
	Rise     int
	User     string // overrides ScriptUser
	// InitFail starts the script failing until its first success, as keepalived's
	// init_fail; otherwise its first result decides.
	InitFail bool
	Line     int
}

// Process is a named process check (`processes:`), keepalived's vrrp_track_process: it
// passes while the number of running processes that match is within Min..Max.
type Process struct {
	Name string
	// Match is the process name (its comm, or the base name of its argv[0] for names
	// longer than the 15 bytes of comm), or with Cmdline a substring of the command
	// line, its arguments joined by spaces. Default: Name.
	Match   string
	Cmdline bool
	// Min is the quorum, default 1; Max the most processes allowed, 0 for no maximum.
	Min, Max int
	// Delay is how long a change of the quorum must last before it is reported,
	// keepalived's delay (fork_delay and terminate_delay). Default 0.
	Delay time.Duration
	Line  int
}

// File is a named file holding a number (`files:`), keepalived's vrrp_track_file. An
// instance tracking it adds the number times its weight to its priority.
type File struct {
	Name string
	Path string // absolute
	Line int
}

// HAProxy is a named check of HAProxy's Runtime API (`haproxy:`): the state of
// backends and frontends read with `show stat` every Interval.
type HAProxy struct {
	Name string
	// Socket is the stats socket: an absolute path (unix socket) or host:port (TCP).
	Socket   string
	Interval time.Duration // default 1s
	Timeout  time.Duration // default Interval
	// Rule says which backends and frontends must be up for the check to pass.
	Rule HAProxyRule
	Line int
}

// BFDSession is a named single-hop BFD session to a neighbour (`bfd:`), keepalived's
// bfd_instance (RFC 5880, 5881). Every session defined runs; instances track it.
type BFDSession struct {
	Name     string
	Neighbor netip.Addr
	// Source is the address packets are sent from; invalid: the kernel's choice.
	Source netip.Addr
	// Interface binds the session to a link; required for a link-local neighbour.
	Interface string
	// MinRx is the Required Min RX Interval, MinTx the Desired Min TX Interval while
	// Up, IdleTx the one while not Up (1 s at least); keepalived's defaults: 10ms,
	// 10ms, 1s.
	MinRx, MinTx, IdleTx time.Duration
	// Multiplier is the Detect Mult, 1..255; default 5.
	Multiplier int
	// Passive sends nothing until the neighbour is heard.
	Passive bool
	Line    int
}

// BFD session defaults, keepalived's.
const (
	DefaultBFDMinRx      = 10 * time.Millisecond
	DefaultBFDMinTx      = 10 * time.Millisecond
	DefaultBFDIdleTx     = time.Second
	DefaultBFDMultiplier = 5
)

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
	// DownTimerAdverts: 1..100, default 3.
	DownTimerAdverts int
	// LowerPriorityNoAdvert: default false (answer lower-priority adverts at once).
	LowerPriorityNoAdvert bool
	// MakeBeforeBreak keeps a leaving master's VIPs until the next master announces;
	// default true. See docs/timing.md for these three.
	MakeBeforeBreak bool
	// FastHandover: a backup takes over in Skew_Time when its master advertises a
	// priority below its own; default true.
	FastHandover bool
	// HealSplitBrain: a master that yields sends one advert at priority 1, so that the
	// winner announces its VIPs at once; default true.
	HealSplitBrain bool
	// StartupGrace counts the first Skew_Time after a start over at least this long,
	// so that nodes started together elect the highest priority; default
	// DefaultStartupGrace, 0 for none.
	StartupGrace time.Duration
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
	// SyncGroup names the sync group the instance is a member of; "" for none.
	SyncGroup string
	// Group is the multicast group adverts go to and come from, when not the RFC's
	// (keepalived's mcast_dst_ip); invalid for the RFC's.
	Group netip.Addr
	// IgnoreLink keeps the instance out of FAULT while its interface is down
	// (track_interface: false, keepalived's dont_track_primary); default false.
	IgnoreLink bool
	// TrackSource puts the instance in FAULT while Source is not on its interface
	// (keepalived's track_src_ip); default false.
	TrackSource bool
	// PromoteSecondaries sets the interface's promote_secondaries, so that removing
	// a VIP does not take the other addresses of its subnet with it; default false.
	PromoteSecondaries bool
	// Routes and Rules are added while master, after the VIPs, and removed with them.
	Routes []VirtualRoute
	Rules  []VirtualRule
	// VMAC, when not nil, puts the VIPs of the instance's interface and family on a
	// virtual MAC interface.
	VMAC *VMAC
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
	// PeerPriorities holds the priorities peers are configured with, where the file
	// says ({address: ..., priority: ...}), so that `vrrpd check` can tell whether a
	// failing tracker moves the VIP at all.
	PeerPriorities map[netip.Addr]uint8
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
	// RefreshOtherInterfaces re-announces, while master, the VIPs on other interfaces
	// than the instance's (keepalived's garp_extra_if); default 0: off.
	RefreshOtherInterfaces time.Duration
}

// Track lists what an instance follows, each with a weight.
type Track struct {
	Scripts    []TrackRef
	Interfaces []TrackRef
	Processes  []TrackRef
	Files      []TrackRef
	HAProxy    []TrackRef
	BFD        []TrackRef
}

// TrackRef names a tracker with its weight. A positive weight is added while the check
// passes, a negative one while it fails; 0 puts the instance in FAULT while it fails.
// Reverse negates what the weight adds, and with weight 0 faults while the check passes.
// A file adds its number times the weight instead.
type TrackRef struct {
	Name    string
	Weight  int
	Reverse bool
	// DownDelay and UpDelay, for interfaces only, are how long a link must stay down
	// (up) before the change counts, against flapping. Default 0.
	DownDelay, UpDelay time.Duration
	Line               int
}

// Notify holds the argv of each hook; nil for none. Any runs on every transition with
// keepalived-style arguments appended: INSTANCE name STATE priority.
type Notify struct {
	Master []string
	Backup []string
	Fault  []string
	Stop   []string
	Any    []string
	// MasterRxLowerPri runs when the master hears a lower priority (at most once per
	// advert interval), with Any's arguments and MASTER_RX_LOWER_PRI as the state.
	MasterRxLowerPri []string
	// Priority runs when the effective priority changes, with Any's arguments and
	// MASTER_PRIORITY or BACKUP_PRIORITY as the state (keepalived's
	// notify_priority_changes).
	Priority []string
	// Deleted sends DELETED, not STOP, to Any when a reload removes the instance, and
	// runs DeletedHook then (keepalived's notify_deleted).
	Deleted     bool
	DeletedHook []string
}
