package daemons

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Kind names a daemon.
type Kind string

// The daemons.
const (
	Vrrpd      Kind = "vrrpd"
	Keepalived Kind = "keepalived"
)

// File is a tracked file: keepalived's track_file, vrrpd's files. It holds a number;
// with weight 0 anything but 0 is a fault.
type File struct {
	Name string
	Path string
}

// Track is an instance's use of a tracked file.
type Track struct {
	File   string // the File's name
	Weight int
}

// GARP is how a new master announces its VIPs: Repeat announcements per VIP at once,
// and again after Delay (none when 0).
type GARP struct {
	Repeat int
	Delay  time.Duration
}

// Instance is one virtual router of a node.
type Instance struct {
	Name      string
	Interface string
	VRID      int
	Priority  int
	Version   int // 2 or 3
	Interval  time.Duration
	NoPreempt bool
	VIPs      []netip.Prefix
	// Excluded are VIPs added with the others but never advertised: vrrpd's
	// excluded_vips, keepalived's virtual_ipaddress_excluded.
	Excluded []netip.Prefix
	Track    []Track
	// Password is the VRRPv2 simple password; "" for none.
	Password string
	// UnicastSource and UnicastPeers, when the source is valid, replace multicast.
	UnicastSource netip.Addr
	UnicastPeers  []netip.Addr
	// GARP is nil for the daemon's defaults.
	GARP *GARP
	// MessageOnly makes vrrpd send the message-only VRRPv3 IPv4 checksum.
	MessageOnly bool
	// VMAC, when not "", is the virtual MAC interface the VIPs go on: vrrpd's vmac,
	// keepalived's use_vmac.
	VMAC string
	// Group, when valid, is the multicast group of the adverts instead of the RFC's:
	// vrrpd's group, keepalived's mcast_dst_ip.
	Group netip.Addr
	// VrrpdKeys are more instance keys for vrrpd, "key: value" each.
	VrrpdKeys []string
}

// Node is one node's configuration.
type Node struct {
	Name string
	// Socket and StateFile are vrrpd's control socket and state file.
	Socket    string
	StateFile string
	Files     []File
	// RealtimePriority puts the daemon under SCHED_RR at this priority: vrrpd's
	// realtime_priority, keepalived's vrrp_rt_priority. 0 leaves it off.
	RealtimePriority int
	// LockMemory locks the daemon's memory: vrrpd's lock_memory, keepalived's
	// vrrp_no_swap.
	LockMemory bool
	// Nice is the daemon's nice value: keepalived's vrrp_priority. vrrpd has no key for
	// it and takes it from whoever starts it (systemd's Nice=): VrrpdCommand's caller.
	Nice      int
	Instances []Instance
}

func joinPrefixes(ps []netip.Prefix, sep string) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, sep)
}

// VrrpdConfig is the node's vrrpd.yaml. Scripts and hooks run as root.
func (n *Node) VrrpdConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s\nsocket: %s\nstate_file: %s\nscript_user: root\n", n.Name, n.Socket, n.StateFile)
	if n.RealtimePriority > 0 {
		fmt.Fprintf(&b, "realtime_priority: %d\n", n.RealtimePriority)
	}
	if n.LockMemory {
		b.WriteString("lock_memory: true\n")
	}
	if len(n.Files) > 0 {
		b.WriteString("files:\n")
		for _, f := range n.Files {
			fmt.Fprintf(&b, "  %s: {path: %s}\n", f.Name, f.Path)
		}
	}
	b.WriteString("instances:\n")
	for _, in := range n.Instances {
		fmt.Fprintf(&b, "  - name: %s\n    interface: %s\n    vrid: %d\n    priority: %d\n    version: %d\n    advert_interval: %v\n    preempt: %v\n",
			in.Name, in.Interface, in.VRID, in.Priority, in.Version, in.Interval, !in.NoPreempt)
		if in.MessageOnly {
			b.WriteString("    checksum: message-only\n")
		}
		if in.Password != "" {
			fmt.Fprintf(&b, "    auth: {type: pass, password: %q}\n", in.Password)
		}
		if in.UnicastSource.IsValid() {
			peers := make([]string, len(in.UnicastPeers))
			for i, p := range in.UnicastPeers {
				peers[i] = p.String()
			}
			fmt.Fprintf(&b, "    unicast: {source: %s, peers: [%s]}\n", in.UnicastSource, strings.Join(peers, ", "))
		}
		if g := in.GARP; g != nil {
			fmt.Fprintf(&b, "    garp: {repeat: %d, delay: %v}\n", g.Repeat, g.Delay)
		}
		if len(in.Track) > 0 {
			refs := make([]string, len(in.Track))
			for i, tr := range in.Track {
				refs[i] = fmt.Sprintf("{name: %s, weight: %d}", tr.File, tr.Weight)
			}
			fmt.Fprintf(&b, "    track:\n      files: [%s]\n", strings.Join(refs, ", "))
		}
		if in.VMAC != "" {
			fmt.Fprintf(&b, "    vmac: {name: %s}\n", in.VMAC)
		}
		if in.Group.IsValid() {
			fmt.Fprintf(&b, "    group: '%s'\n", in.Group)
		}
		for _, kv := range in.VrrpdKeys {
			fmt.Fprintf(&b, "    %s\n", kv)
		}
		fmt.Fprintf(&b, "    vips: [%s]\n", joinPrefixes(in.VIPs, ", "))
		if len(in.Excluded) > 0 {
			fmt.Fprintf(&b, "    excluded_vips: [%s]\n", joinPrefixes(in.Excluded, ", "))
		}
	}
	return b.String()
}

// KeepalivedConfig is the node's keepalived.conf for the same routers. Every instance
// starts as BACKUP, as vrrpd's do.
func (n *Node) KeepalivedConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n", n.Name)
	if n.RealtimePriority > 0 {
		fmt.Fprintf(&b, "  vrrp_rt_priority %d\n", n.RealtimePriority)
	}
	if n.LockMemory {
		b.WriteString("  vrrp_no_swap\n")
	}
	if n.Nice != 0 {
		fmt.Fprintf(&b, "  vrrp_priority %d\n", n.Nice)
	}
	b.WriteString("}\n")
	for _, f := range n.Files {
		// The weight an instance gives the file is in the instance's track_file.
		fmt.Fprintf(&b, "track_file %s {\n  file \"%s\"\n}\n", f.Name, f.Path)
	}
	for _, in := range n.Instances {
		fmt.Fprintf(&b, "vrrp_instance %s {\n  state BACKUP\n  interface %s\n  virtual_router_id %d\n  priority %d\n",
			in.Name, in.Interface, in.VRID, in.Priority)
		if in.Version == 3 {
			// keepalived's IPv4 default is VRRPv2: say VRRPv3 when it is meant, and leave
			// VRRPv2 to the default, as a keepalived.conf written for VRRPv2 does.
			fmt.Fprintf(&b, "  version 3\n  advert_int %s\n", strconv.FormatFloat(in.Interval.Seconds(), 'f', -1, 64))
		} else {
			fmt.Fprintf(&b, "  advert_int %d\n", int(in.Interval/time.Second))
		}
		if in.NoPreempt {
			b.WriteString("  nopreempt\n")
		}
		if in.Password != "" {
			fmt.Fprintf(&b, "  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", in.Password)
		}
		if in.UnicastSource.IsValid() {
			fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n", in.UnicastSource)
			for _, p := range in.UnicastPeers {
				fmt.Fprintf(&b, "    %s\n", p)
			}
			b.WriteString("  }\n")
		}
		if g := in.GARP; g != nil {
			fmt.Fprintf(&b, "  garp_master_repeat %d\n  garp_master_delay %d\n", g.Repeat, int(g.Delay/time.Second))
		}
		if in.VMAC != "" {
			fmt.Fprintf(&b, "  use_vmac %s\n", in.VMAC)
		}
		if in.Group.IsValid() {
			fmt.Fprintf(&b, "  mcast_dst_ip %s\n", in.Group)
		}
		if len(in.Track) > 0 {
			b.WriteString("  track_file {\n")
			for _, tr := range in.Track {
				fmt.Fprintf(&b, "    %s weight %d\n", tr.File, tr.Weight)
			}
			b.WriteString("  }\n")
		}
		fmt.Fprintf(&b, "  virtual_ipaddress {\n    %s\n  }\n", joinPrefixes(in.VIPs, "\n    "))
		if len(in.Excluded) > 0 {
			fmt.Fprintf(&b, "  virtual_ipaddress_excluded {\n    %s\n  }\n", joinPrefixes(in.Excluded, "\n    "))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// Config is the node's configuration file for kind.
func (n *Node) Config(kind Kind) string {
	if kind == Keepalived {
		return n.KeepalivedConfig()
	}
	return n.VrrpdConfig()
}
