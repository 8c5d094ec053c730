package keepalived

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options tells Convert what it cannot read from the files. The zero value reads files
// from the file system and knows nothing of the machine.
type Options struct {
	// ConfigID keeps the conditional lines "@ID ..." (and drops "@^ID ..."), as
	// keepalived -i ID does. Empty: a file with conditional lines is not converted.
	ConfigID string
	// ReadFile reads a configuration file; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Glob lists the files an include pattern (without braces) matches; nil means
	// filepath.Glob.
	Glob func(pattern string) ([]string, error)
	// LookPath finds a command that is not an absolute path on $PATH, as keepalived
	// did at run time; nil: such commands are run through /usr/bin/env.
	LookPath func(file string) (string, error)
	// UserExists reports whether a user exists, to tell which user keepalived ran
	// scripts as when script_user is not set; nil: none does.
	UserExists func(name string) bool
}

func (o *Options) readFile(name string) ([]byte, error) {
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return os.ReadFile(name)
}

func (o *Options) glob(pattern string) ([]string, error) {
	if o.Glob != nil {
		return o.Glob(pattern)
	}
	return filepath.Glob(pattern)
}

func (o *Options) lookPath(file string) (string, error) {
	if o.LookPath != nil {
		return o.LookPath(file)
	}
	return "", errors.New("not looked up")
}

func (o *Options) userExists(name string) bool {
	return o.UserExists != nil && o.UserExists(name)
}

// Result is a converted configuration.
type Result struct {
	// YAML is the vrrpd configuration, with comments that say where each part came from.
	YAML []byte
	// Notes lists, in file order, every setting that was not converted and every one
	// converted with a difference worth knowing.
	Notes []Note
}

// Convert reads the keepalived configuration in the file path, and the files it
// includes, and converts its VRRP part. When keepalived would refuse the file, or it
// uses what convert cannot expand, the error is an Errors listing every such problem
// (errors.Is finds ErrRefused or ErrUnsupported in it); an error reading path itself is
// returned wrapped.
func Convert(path string, opts Options) (*Result, error) {
	cv := newConverter(&opts)
	lx := &lexer{opts: &opts, rep: cv.rep}
	if err := lx.readFile(path, Pos{}, 0); err != nil {
		return nil, err
	}
	return cv.convert(lx.lines)
}

// ConvertBytes is Convert on the contents of a file named name; includes are read
// through opts relative to name's directory.
func ConvertBytes(name string, data []byte, opts Options) (*Result, error) {
	cv := newConverter(&opts)
	lx := &lexer{opts: &opts, rep: cv.rep}
	cv.rep.fileRank(name)
	lx.readData(name, data, 0)
	return cv.convert(lx.lines)
}

// converter turns the statements of one configuration into a vrrpd configuration.
type converter struct {
	opts *Options
	rep  *report
	glob globals
	// Definitions seen so far: keepalived resolves a tracked name when it reads the
	// instance, so a script defined after the instance that tracks it is not found.
	scripts   map[string]*outScript
	processes map[string]*outProcess
	files     map[string]*outFile
	bfds      map[string]*outBFD
	// syncGroup maps an instance name to the sync group holding it.
	syncGroup map[string]*syncGroup
	// groups are the sync groups in file order.
	groups []*syncGroup
	out    outConfig
}

func newConverter(opts *Options) *converter {
	return &converter{
		opts:      opts,
		rep:       &report{},
		glob:      globals{garp: defaultGARP},
		scripts:   make(map[string]*outScript),
		processes: make(map[string]*outProcess),
		files:     make(map[string]*outFile),
		bfds:      make(map[string]*outBFD),
		syncGroup: make(map[string]*syncGroup),
	}
}

func (cv *converter) convert(lines []line) (*Result, error) {
	tree := parseTree(lines, cv.rep)
	if len(cv.rep.errs) > 0 {
		// What the rest of the file means depends on what could not be read.
		return nil, cv.rep.sortedErrors()
	}
	// keepalived applies global_defs and sync groups once the whole file is read,
	// wherever they are; the rest in file order.
	for _, n := range tree {
		switch n.keyword() {
		case "global_defs":
			cv.globalDefs(n)
		case "vrrp_sync_group":
			cv.readSyncGroup(n)
		}
	}
	names := make(map[string]bool)
	for _, n := range tree {
		switch kw := n.keyword(); kw {
		case "global_defs", "vrrp_sync_group":
		case "vrrp_instance":
			if in := cv.instance(n, names); in != nil {
				cv.out.instances = append(cv.out.instances, in)
			}
		case "vrrp_script":
			cv.script(n)
		case "vrrp_track_process":
			cv.trackProcess(n)
		case "track_file", "vrrp_track_file":
			cv.trackFile(n)
		case "bfd_instance":
			cv.bfdInstance(n)
		default:
			cv.topLevel(n)
		}
	}
	cv.checkSyncGroups(names)
	if len(cv.out.instances) == 0 && len(cv.rep.errs) == 0 {
		cv.rep.refuse(Pos{File: firstFile(lines), Line: 1}, "no vrrp_instance to convert (keepalived's VRRP process has nothing to run)")
	}
	if len(cv.rep.errs) > 0 {
		return nil, cv.rep.sortedErrors()
	}
	cv.finishUsers()
	data, err := cv.out.marshal(cv)
	if err != nil {
		return nil, err
	}
	return &Result{YAML: data, Notes: cv.rep.sorted()}, nil
}

func firstFile(lines []line) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[0].pos.File
}

// topLevel reports a top-level block vrrpd has no part of: one note for the block.
func (cv *converter) topLevel(n *node) {
	kw := n.keyword()
	why := "vrrpd has no equivalent"
	switch kw {
	case "virtual_server", "virtual_server_group", "real_server":
		why = "LVS (IPVS) load balancing is not part of vrrpd; keep it in keepalived's checker (keepalived --check) or another tool"
	case "static_ipaddress", "static_routes", "static_rules":
		why = "vrrpd does not configure static addresses, routes or rules; configure them with the system's network configuration"
	case "virtual_routes", "virtual_rules":
		why = "keepalived takes them inside a vrrp_instance only"
	case "linkbeat_interfaces":
		why = "vrrpd follows links through netlink events, keepalived's default; nothing to poll"
	case "garp_group":
		why = "vrrpd does not space its announcements"
	case "track_group":
		why = "track groups apply to static addresses, routes and rules, which vrrpd does not configure"
	case "interface_up_down_delays":
		why = "vrrpd delays link changes of tracked interfaces only (track: {interfaces: [{name: ..., down_delay: ..., up_delay: ...}]}), " +
			"not of an instance's own interface"
	case "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets", "instance", "use_pid_dir", "linkbeat_use_polling", "child_wait_time":
		why = "a keepalived process setting; run vrrpd in the namespace with `ip netns exec` or the service manager"
	case "vrrp_gna_interval", "vrrp_garp_interval":
		why = "vrrpd does not space its announcements"
	case "{":
		return // already refused
	}
	cv.rep.skip(n.pos, n.describe(), "%s", why)
}

// globals are the global_defs settings that instances inherit.
type globals struct {
	routerID, scriptUser string
	routerIDPos          Pos
	scriptUserPos        Pos
	version              int
	strict               bool
	strictPos            Pos
	garp                 garpSettings
	lowerPrioNoAdvert    bool
	checkUnicastSrc      bool
	downTimerAdverts     int
	// mcastGroup are vrrp_mcast_group4 and vrrp_mcast_group6, by family (4, 6), when
	// not the RFC's groups.
	mcastGroup map[int]netip.Addr
}

// garpSettings are keepalived's GARP settings, in whole seconds and counts.
type garpSettings struct {
	delay, repeat, refresh, refreshRepeat int
	// lowerDelay and lowerRepeat are the burst after a lower-priority advert; -1 when
	// not set, that is equal to delay and repeat.
	lowerDelay, lowerRepeat int
	lowerPos                Pos
}

// keepalived's defaults.
var defaultGARP = garpSettings{delay: 5, repeat: 5, refresh: 0, refreshRepeat: 1, lowerDelay: -1, lowerRepeat: -1}

func (cv *converter) globalDefs(block *node) {
	g := &cv.glob
	for _, n := range block.children {
		kw := n.keyword()
		switch kw {
		case "router_id":
			if n.arg(0) == "" {
				cv.rep.skip(n.pos, kw, "no name is given")
				continue
			}
			g.routerID, g.routerIDPos = n.arg(0), n.pos
		case "lvs_id":
			cv.rep.skip(n.pos, n.describe(), "lvs_id is keepalived 1.x's name for router_id; keepalived 2.2 does not know it "+
				"(\"Unknown keyword\") and uses the host name, as vrrpd does; write node: %s if that is the name you meant", n.arg(0))
		case "script_user":
			if n.arg(0) == "" {
				cv.rep.skip(n.pos, kw, "no user is given")
				continue
			}
			g.scriptUser, g.scriptUserPos = n.arg(0), n.pos
			if n.arg(1) != "" {
				cv.rep.skip(n.pos, "script_user group "+n.arg(1), "vrrpd runs scripts with the user's own group")
			}
		case "enable_script_security":
			cv.rep.change(n.pos, kw, "nothing to write: vrrpd runs scripts as script_user, never as root unless it says root")
		case "vrrp_version":
			if v, ok := parseUint(n.arg(0), 2, 3); ok {
				g.version = v
			} else {
				cv.rep.skip(n.pos, n.describe(), "the version must be 2 or 3; keepalived ignores it")
			}
		case "vrrp_strict":
			g.strict, g.strictPos = true, n.pos
			cv.rep.change(n.pos, kw, "strict mode is not one vrrpd setting: what it changes in keepalived is written out in each instance: "+
				"lower_prio_no_advert on, no authentication, no preempt_delay; accept mode off is not: vrrpd always accepts traffic for its VIPs")
		case "vrrp_min_garp":
			if on, ok := optionalBool(n); !ok {
				cv.rep.skip(n.pos, n.describe(), "not on or off; keepalived ignores it")
			} else if on {
				g.garp = garpSettings{delay: 0, repeat: 1, refresh: 0, refreshRepeat: 1, lowerDelay: 0, lowerRepeat: 1, lowerPos: n.pos}
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat",
			"vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat":
			cv.garpSetting(n, strings.TrimPrefix(kw, "vrrp_"), &g.garp)
		case "vrrp_lower_prio_no_advert":
			if on, ok := optionalBool(n); ok {
				g.lowerPrioNoAdvert = on
			} else {
				cv.rep.skip(n.pos, n.describe(), "not on or off; keepalived ignores it")
			}
		case "vrrp_check_unicast_src":
			g.checkUnicastSrc = true
		case "vrrp_rt_priority":
			if v, ok := parseUint(n.arg(0), 1, 99); ok {
				cv.out.realtimePriority = v
				cv.out.realtimeComment = "from " + n.pos.String() + " vrrp_rt_priority"
				cv.rep.change(n.pos, n.describe(), "written as realtime_priority: %d; under systemd it needs a drop-in, see docs/timing.md", v)
			} else {
				cv.rep.skip(n.pos, n.describe(), "must be 1..99")
			}
		case "vrrp_no_swap":
			cv.out.lockMemory = true
			cv.out.lockMemoryComment = "from " + n.pos.String() + " vrrp_no_swap"
		case "vrrp_down_timer_adverts":
			if v, ok := parseUint(n.arg(0), 1, 100); ok {
				g.downTimerAdverts = v
			} else {
				cv.rep.skip(n.pos, n.describe(), "must be 1..100; keepalived ignores it")
			}
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			want := 4
			if kw == "vrrp_mcast_group6" {
				want = 6
			}
			a, err := netip.ParseAddr(n.arg(0))
			switch {
			case err != nil || a.Zone() != "" || !a.IsMulticast() || familyOf(a) != want:
				cv.rep.skip(n.pos, n.describe(), "not an IPv%d multicast address; keepalived refuses it", want)
			case a == netip.MustParseAddr("224.0.0.18") || a == netip.MustParseAddr("ff02::12"):
				cv.rep.change(n.pos, n.describe(), "nothing to write: it is the group vrrpd uses")
			case a.Is6() && a.As16()[1]&0x0f != 2:
				cv.rep.skip(n.pos, n.describe(), "keepalived takes only link-local IPv6 groups (ffX2::)")
			default:
				if g.mcastGroup == nil {
					g.mcastGroup = map[int]netip.Addr{}
				}
				g.mcastGroup[want] = a
				cv.rep.change(n.pos, n.describe(), "written as group: %s in every IPv%d multicast instance without mcast_dst_ip", a, want)
			}
		case "vrrp_higher_prio_send_advert":
			if on, _ := optionalBool(n); !on {
				continue
			}
			cv.rep.change(n.pos, kw, "nothing to write: vrrpd's heal_split_brain (on by default) sends an advert, at priority 1, "+
				"before it steps down to a higher priority, so that the other master announces its VIPs again")
		case "vrrp_skip_check_adv_addr":
			cv.rep.skip(n.pos, kw, "vrrpd checks the addresses of every advert")
		case "vrrp_garp_interval", "vrrp_gna_interval":
			cv.rep.skip(n.pos, n.describe(), "vrrpd does not space its announcements")
		case "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "smtp_helo_name",
			"smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker", "no_email_faults":
			cv.rep.skip(n.pos, kw, "vrrpd sends no email; a notify hook can")
		case "notify_fifo", "notify_fifo_script", "vrrp_notify_fifo", "vrrp_notify_fifo_script":
			cv.rep.skip(n.pos, n.describe(), "`vrrpd events --json` streams the same transitions and priority changes, and "+
				"notify: {any: [...], priority: [...]} runs a command on each")
		case "dynamic_interfaces":
			cv.rep.change(n.pos, kw, "nothing to write: vrrpd waits for an instance's interface, and follows it being deleted "+
				"and created again")
		case "vrrp_iptables", "vrrp_ipsets", "nftables", "nftables_priority", "nftables_counters", "nftables_ifindex":
			cv.rep.skip(n.pos, n.describe(), "vrrpd installs no firewall rules: it always accepts traffic for its VIPs")
		case "enable_snmp_vrrp", "enable_snmp_keepalived", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_rfc",
			"enable_traps", "enable_dbus", "enable_dbus_instance", "snmp_socket":
			cv.rep.skip(n.pos, kw, "vrrpd reports through its control socket (vrrpd show, events) and Prometheus metrics "+
				"(metrics:), not SNMP or D-Bus")
		case "max_auto_priority", "checker_no_swap", "bfd_no_swap", "vrrp_priority",
			"vrrp_cpu_affinity", "vrrp_rlimit_rtime", "vrrp_process_priority":
			cv.rep.skip(n.pos, n.describe(), "a keepalived process tuning: vrrpd's scheduling is its systemd unit's")
		default:
			if strings.HasPrefix(kw, "lvs_") || strings.HasPrefix(kw, "checker_") {
				cv.rep.skip(n.pos, n.describe(), "an LVS setting; LVS (IPVS) is not part of vrrpd")
				continue
			}
			cv.rep.skip(n.pos, n.describe(), "not a global_defs keyword convert converts; check keepalived.conf(5) for what it did")
		}
	}
}

// garpSetting reads one GARP keyword (without its vrrp_ prefix) into g, as
// keepalived's garp_master_* and vrrp_garp_master_* do.
func (cv *converter) garpSetting(n *node, kw string, g *garpSettings) {
	v, ok := parseUint(n.arg(0), 0, int(^uint32(0)>>1))
	if !ok {
		cv.rep.skip(n.pos, n.describe(), "not a whole number; keepalived ignores it")
		return
	}
	switch kw {
	case "garp_master_delay":
		g.delay = v
	case "garp_master_refresh":
		g.refresh = v
	case "garp_master_repeat", "garp_master_refresh_repeat":
		if v == 0 {
			cv.rep.change(n.pos, n.describe(), "keepalived makes 0 into 1, and so does convert")
			v = 1
		}
		if v > 100 {
			cv.rep.change(n.pos, n.describe(), "vrrpd sends at most 100 per VIP at a time; written as 100")
			v = 100
		}
		if kw == "garp_master_repeat" {
			g.repeat = v
		} else {
			g.refreshRepeat = v
		}
	case "garp_lower_prio_delay":
		g.lowerDelay, g.lowerPos = v, n.pos
	case "garp_lower_prio_repeat":
		g.lowerRepeat, g.lowerPos = v, n.pos
	}
}

// finishUsers writes node and script_user.
func (cv *converter) finishUsers() {
	g := &cv.glob
	if g.routerID != "" {
		cv.out.node = g.routerID
		cv.out.nodeComment = "from " + g.routerIDPos.String() + " router_id"
	}
	if !cv.out.hasCommands() {
		if g.scriptUser != "" {
			cv.rep.change(g.scriptUserPos, "script_user "+g.scriptUser, "nothing to write: no script or notify command is converted")
		}
		return
	}
	switch {
	case g.scriptUser != "":
		cv.out.scriptUser = g.scriptUser
		cv.out.scriptUserComment = "from " + g.scriptUserPos.String() + " script_user"
	case cv.opts.userExists("keepalived_script"):
		cv.out.scriptUser = "keepalived_script"
		cv.out.scriptUserComment = "keepalived's default: the user keepalived_script exists here"
		cv.rep.change(cv.firstCommandPos(), "script_user", "not set: keepalived runs scripts as keepalived_script, which exists "+
			"on this machine; written as script_user: keepalived_script (vrrpd's default is vrrpd-script)")
	default:
		cv.out.scriptUser = "root"
		cv.out.scriptUserComment = "keepalived's default: root, as no user keepalived_script exists"
		cv.rep.change(cv.firstCommandPos(), "script_user", "not set: keepalived runs scripts as keepalived_script when that user exists "+
			"and as root otherwise (it does not exist here); written as script_user: root so that the checks keep the rights "+
			"they had; better give them a user of their own")
	}
	var hooks []outNotify
	for _, in := range cv.out.instances {
		hooks = append(hooks, in.notify...)
	}
	for _, g := range cv.out.groups {
		hooks = append(hooks, g.notify...)
	}
	for _, h := range hooks {
		if h.user != "" && h.user != cv.out.scriptUser {
			cv.rep.skip(h.pos, "notify user "+h.user, "vrrpd runs every notify command as script_user (%s)", cv.out.scriptUser)
		}
	}
}

// firstCommandPos is where the first converted command is, for notes about them all.
func (cv *converter) firstCommandPos() Pos {
	for _, s := range cv.out.scripts {
		if s.used {
			return s.pos
		}
	}
	for _, in := range cv.out.instances {
		for _, c := range in.notify {
			return c.pos
		}
	}
	return Pos{}
}

// timerHi is the longest timer keepalived reads.
const timerHi = 1000000 * time.Second
