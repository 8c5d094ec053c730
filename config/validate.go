package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Problem is one thing wrong with a file: where it is, what is wrong and how to fix it.
type Problem struct {
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path names the setting, such as instances[web].vrid: an instance by its name when
	// names are unique, by its index otherwise.
	Path    string
	Message string
	// Hint says how to fix it; may be empty.
	Hint string
	// Warning marks a problem that does not stop the file from loading.
	Warning bool
}

// String formats p as
// "vrrpd.yaml:12:5: instances[web].vrid: 300 is out of range 1..255 (hint: ...)",
// with "warning: " before the path of a warning.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Hint != "" {
		fmt.Fprintf(&b, " (hint: %s)", p.Hint)
	}
	return b.String()
}

// Problems is every problem found in a file, errors and warnings. Load and Parse return
// it as a *Problems error when at least one is an error.
type Problems []Problem

// Error lists the problems one per line, sorted by line.
func (ps Problems) Error() string {
	lines := make([]string, 0, len(ps))
	for _, p := range sortProblems(slices.Clone(ps)) {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any problem is an error rather than a warning.
func (ps Problems) HasErrors() bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return !p.Warning })
}

// As lets errors.As fill a Problems as well as a *Problems from the *Problems that Load
// and Parse return.
func (ps *Problems) As(target any) bool {
	if t, ok := target.(*Problems); ok {
		*t = *ps
		return true
	}
	return false
}

// sortProblems sorts ps by place in the file and drops exact repeats, which arise when
// one setting under defaults is wrong for several instances.
func sortProblems(ps Problems) Problems {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return slices.Compact(ps)
}

// position is where a setting's value (or key, for an unknown key) is in the file.
type position struct {
	line, column int
	// fromDefaults marks an instance's setting inherited from defaults: the position is
	// in the defaults section, and messages say so.
	fromDefaults bool
}

// reporter collects problems, placing each by the path of the setting it is about.
type reporter struct {
	file string
	pos  map[string]position
	list Problems
}

// where returns the position of path, or of its closest parent with a known one: a
// missing key is reported where its mapping starts.
func (r *reporter) where(path string) position {
	for {
		if p, ok := r.pos[path]; ok {
			return p
		}
		if path == "" {
			return position{}
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			i = 0
		}
		path = path[:i]
	}
}

func (r *reporter) add(warning bool, path, hint, msg string) {
	r.addAt(r.where(path), warning, path, hint, msg)
}

// addAt reports a problem about path at p rather than where path's value is.
func (r *reporter) addAt(p position, warning bool, path, hint, msg string) {
	if p.fromDefaults {
		msg += " (set under defaults)"
	}
	r.list = append(r.list, Problem{File: r.file, Line: p.line, Column: p.column, Path: path,
		Message: msg, Hint: hint, Warning: warning})
}

func (r *reporter) errorf(path, hint, format string, args ...any) {
	r.add(false, path, hint, fmt.Sprintf(format, args...))
}

func (r *reporter) errorAt(p position, path, hint, format string, args ...any) {
	r.addAt(p, false, path, hint, fmt.Sprintf(format, args...))
}

func (r *reporter) warnf(path, hint, format string, args ...any) {
	r.add(true, path, hint, fmt.Sprintf(format, args...))
}

// instancePaths returns the path of each instance: instances[name] when the name is
// unique, instances[index] otherwise. The parser and the checks name them alike.
func instancePaths(names []string) []string {
	count := make(map[string]int, len(names))
	for _, n := range names {
		count[n]++
	}
	paths := make([]string, len(names))
	for i, n := range names {
		if n != "" && count[n] == 1 {
			paths[i] = "instances[" + n + "]"
		} else {
			paths[i] = fmt.Sprintf("instances[%d]", i)
		}
	}
	return paths
}

func instanceNames(ins []Instance) []string {
	names := make([]string, len(ins))
	for i := range ins {
		names[i] = ins[i].Name
	}
	return names
}

// MTU assumed when counting how many VIPs fit in one advert; keepalived assumes the same
// for an interface it cannot ask.
const advertMTU = 1500

// maxVIPs is how many addresses one advert of version v and family f can carry: at most
// 255 (the count is one byte) and within a 1500-byte packet.
func maxVIPs(v vrrp.Version, f vrrp.Family) int {
	ipHeader, addrLen := 20, 4
	if f == vrrp.IPv6 {
		ipHeader, addrLen = 40, 16
	}
	vrrpHeader := 8
	if v == vrrp.Version2 {
		vrrpHeader += 8 // authentication data, always present
	}
	return min(255, (advertMTU-ipHeader-vrrpHeader)/addrLen)
}

// validate applies the rules that relate settings to each other, within an instance and
// across instances, to a parsed cfg. Entries the parser could not read are zero values
// here and are skipped: their problem is already reported.
func validate(cfg *Config, r *reporter) {
	paths := instancePaths(instanceNames(cfg.Instances))
	defined := definedTrackers(cfg)
	tracked := make(map[string]map[string]bool)
	for _, d := range defined {
		tracked[d.key] = make(map[string]bool)
	}
	for i := range cfg.Instances {
		in, path := &cfg.Instances[i], paths[i]
		validateInterval(r, in, path)
		validateAddresses(r, in, path)
		validateUnicast(r, in, path)
		validateAuth(r, in, path)
		validateTrack(r, in, path, defined, tracked)
		validateOwner(r, in, path)
		validateExtras(r, in, path)
		validateRoutes(r, in, path)
		validateVMAC(r, in, path)
		if r.set(path+".checksum") && (in.Version != vrrp.Version3 || in.Family() != vrrp.IPv4) {
			r.warnf(path+".checksum", "remove it", "checksum applies to VRRPv3 over IPv4 only; it is ignored here")
		}
		if d := in.GARP.Delay; d > 0 && d < time.Second && in.Family() == vrrp.IPv4 {
			r.warnf(path+".garp.delay", "use 1s or more, or 0s for no second burst",
				"%v is under 1s: Linux neighbours ignore ARP updates within 1 s of the last (locktime), so the second burst may be lost", d)
		}
	}
	validateAcross(r, cfg, paths)
	validateVMACs(r, cfg, paths)
	for _, p := range cfg.Processes {
		validateProcess(r, p)
	}
	validateBFD(r, cfg.BFDSessions)
	validateBGP(r, cfg, defined, tracked)
	validateSyncGroups(r, cfg, defined, tracked)
	for _, d := range defined {
		for _, name := range d.names {
			if name != "" && !tracked[d.key][name] {
				r.warnf(d.key+"."+name, fmt.Sprintf("track it in an instance (track: {%s: [{name: %s, weight: -50}]}) or remove it", d.key, name),
					"%s %s is not tracked by any instance", d.what, name)
			}
		}
	}
}

// defined is what a top-level section (scripts, processes, files, haproxy) defines, for
// the references of track: to check against.
type defined struct {
	key   string // the section, and the list under track: that refers to it
	what  string // what an entry is called in messages
	names []string
}

func definedTrackers(cfg *Config) []defined {
	d := []defined{{key: "scripts", what: "script"}, {key: "processes", what: "process"},
		{key: "files", what: "file"}, {key: "haproxy", what: "haproxy check"}, {key: "bfd", what: "BFD session"}}
	for _, s := range cfg.Scripts {
		d[0].names = append(d[0].names, s.Name)
	}
	for _, p := range cfg.Processes {
		d[1].names = append(d[1].names, p.Name)
	}
	for _, f := range cfg.Files {
		d[2].names = append(d[2].names, f.Name)
	}
	for _, h := range cfg.HAProxy {
		d[3].names = append(d[3].names, h.Name)
	}
	for _, b := range cfg.BFDSessions {
		d[4].names = append(d[4].names, b.Name)
	}
	return d
}

// validateProcess checks that a process check's quorum can be met and can be missed.
func validateProcess(r *reporter, p Process) {
	path := "processes." + p.Name
	switch {
	case p.Max > 0 && p.Max < p.Min:
		r.errorf(path+".max", fmt.Sprintf("write max: %d or more, or 0 for no maximum", p.Min),
			"max %d is below min %d: the check could never pass", p.Max, p.Min)
	case p.Min == 0 && p.Max == 0 && !r.failed(path+".min") && !r.failed(path+".max"):
		r.errorf(path+".min", "write min: 1 or more, or set max",
			"min 0 without max always passes; to fail while the process runs, track it with weight 0 and reverse: true")
	}
}

// failed reports whether an error about path or a mapping or list holding it is already
// reported, so that a value is not reported missing when it was there but unreadable.
func (r *reporter) failed(path string) bool {
	return slices.ContainsFunc(r.list, func(p Problem) bool {
		if p.Warning || !strings.HasPrefix(path, p.Path) {
			return false
		}
		rest := path[len(p.Path):]
		return rest == "" || rest[0] == '.' || rest[0] == '['
	})
}

// set reports whether path was written in the instance itself, not inherited from
// defaults nor left to a built-in default.
func (r *reporter) set(path string) bool {
	p, ok := r.pos[path]
	return ok && !p.fromDefaults
}

func validateInterval(r *reporter, in *Instance, path string) {
	d, path := in.AdvertInterval, path+".advert_interval"
	const step = 10 * time.Millisecond
	switch in.Version {
	case vrrp.Version2:
		switch {
		case d < time.Second:
			r.errorf(path, "use version 3 for sub-second intervals", "%v is under 1s: VRRPv2 advertises whole seconds", d)
		case d > vrrp.MaxInterval2:
			r.errorf(path, "", "%v is out of range 1s..255s", d)
		case d%time.Second != 0:
			lo := d.Truncate(time.Second)
			r.errorf(path, fmt.Sprintf("write %v or %v, or use version 3", lo, lo+time.Second),
				"%v is not a whole number of seconds, which VRRPv2 needs", d)
		}
	case vrrp.Version3:
		switch {
		case d < step || d > vrrp.MaxInterval3:
			r.errorf(path, "", "%v is out of range 10ms..40.95s", d)
		case d%step != 0:
			r.errorf(path, fmt.Sprintf("write %v", d.Round(step)), "%v is not a multiple of 10ms, the unit of VRRPv3", d)
		}
	}
}

// validateAddresses checks the VIPs, excluded VIPs and advert source of one instance:
// one family, a family the version speaks, a count that fits in an advert, no repeats.
func validateAddresses(r *reporter, in *Instance, path string) {
	type entry struct {
		vip  VIP
		path string
	}
	var all []entry
	for i, v := range in.VIPs {
		all = append(all, entry{v, fmt.Sprintf("%s.vips[%d]", path, i)})
	}
	for i, v := range in.ExcludedVIPs {
		all = append(all, entry{v, fmt.Sprintf("%s.excluded_vips[%d]", path, i)})
	}
	if len(in.VIPs) == 0 && !r.failed(path+".vips") {
		r.errorf(path+".vips", "list the virtual addresses, such as vips: [192.0.2.100/24]", "every instance needs at least one VIP")
	}

	// The first VIP decides the family, as it decides Instance.Family.
	var first netip.Addr
	for _, e := range all {
		if e.vip.Prefix.IsValid() {
			first = e.vip.Prefix.Addr()
			break
		}
	}
	if !first.IsValid() {
		return
	}
	family := vrrp.FamilyOf(first)
	if in.Version == vrrp.Version2 && family == vrrp.IPv6 {
		r.errorf(path+".version", "set version: 3 here, and vrrp_version 3 on keepalived peers",
			"VRRPv2 is IPv4 only; use version 3 for IPv6 VIPs such as %v", first)
	}
	seen := make(map[netip.Addr]string)
	for _, e := range all {
		if !e.vip.Prefix.IsValid() {
			continue
		}
		a := e.vip.Prefix.Addr()
		if f := vrrp.FamilyOf(a); f != family {
			r.errorf(e.path, fmt.Sprintf("put %v VIPs in an instance of their own; it may use the same vrid", f),
				"%v is %v, but this instance is %v (from %v): an advert carries one family", a, f, family, first)
		}
		if other, dup := seen[a]; dup {
			r.errorf(e.path, "remove one", "%v is listed twice (also at %s)", a, strings.TrimPrefix(other, path+"."))
		} else {
			seen[a] = e.path
		}
		if e.vip.Label != "" {
			validateLabel(r, e.vip, e.path+".label")
		}
	}
	if limit := maxVIPs(in.Version, family); len(in.VIPs) > limit {
		r.errorf(fmt.Sprintf("%s.vips[%d]", path, limit), "move the rest to excluded_vips (keepalived does so silently)",
			"%d VIPs do not fit in one advert: VRRPv%d over %v carries at most %d in a %d-byte packet",
			len(in.VIPs), in.Version, family, limit, advertMTU)
	}
	if in.Source.IsValid() && vrrp.FamilyOf(in.Source) != family {
		r.errorf(sourcePath(r, in, path), "", "source %v is %v, but the VIPs are %v", in.Source, vrrp.FamilyOf(in.Source), family)
	}
	if in.Unicast != nil {
		for i, peer := range in.Unicast.Peers {
			if peer.IsValid() && vrrp.FamilyOf(peer) != family {
				r.errorf(fmt.Sprintf("%s.unicast.peers[%d]", path, i), "", "peer %v is %v, but the VIPs are %v", peer, vrrp.FamilyOf(peer), family)
			}
		}
	}
}

// validateLabel checks an IPv4 address label: Linux keeps labels for IPv4 only, within
// the 15 characters of an interface name, and netlink wants them to begin with the
// interface's name.
func validateLabel(r *reporter, v VIP, path string) {
	switch {
	case v.Prefix.Addr().Is6():
		r.errorf(path, "remove it", "labels exist for IPv4 addresses only")
	case !strings.HasPrefix(v.Label, v.Interface):
		r.errorf(path, fmt.Sprintf("write %s:vip", v.Interface), "label %q must begin with the interface name %s", v.Label, v.Interface)
	case len(v.Label) > maxIfname:
		r.errorf(path, "", "label %q is longer than %d characters", v.Label, maxIfname)
	}
}

// sourcePath is where the advert source was written: unicast.source or source.
func sourcePath(r *reporter, in *Instance, path string) string {
	if in.Unicast != nil && r.pos[path+".unicast.source"] != (position{}) {
		return path + ".unicast.source"
	}
	return path + ".source"
}

// checkTrackReach warns when the peers' priorities are known (unicast peers written
// with their priority) and no failing tracker can bring this instance below the
// highest of them: the checks would never move the VIP.
func checkTrackReach(r *reporter, in *Instance, path string) {
	u := in.Unicast
	if u == nil || len(u.PeerPriorities) == 0 || in.Priority == 255 {
		return
	}
	t := in.Track
	if len(t.Files) > 0 { // a file can reach FAULT whatever its weight
		return
	}
	lowest := int(in.Priority)
	refs := slices.Concat(t.Scripts, t.Interfaces, t.Processes, t.HAProxy, t.BFD)
	if len(refs) == 0 {
		return
	}
	for _, ref := range refs {
		switch {
		case ref.Weight == 0:
			return // FAULT hands over
		case ref.Weight < 0 && !ref.Reverse:
			lowest += ref.Weight
		case ref.Weight > 0 && ref.Reverse:
			lowest -= ref.Weight
		}
	}
	lowest = max(1, min(254, lowest))
	var top netip.Addr
	for a, prio := range u.PeerPriorities {
		if !top.IsValid() || prio > u.PeerPriorities[top] || prio == u.PeerPriorities[top] && a.Compare(top) > 0 {
			top = a
		}
	}
	peer := int(u.PeerPriorities[top])
	if peer >= int(in.Priority) || lowest < peer {
		return
	}
	r.warnf(path+".track", fmt.Sprintf("make the weights add up to at least %d, or use weight 0 for FAULT", peer-1-int(in.Priority)),
		"even with every tracker failing the priority stays at %d, not below peer %v's %d: a failing check never moves the VIP",
		lowest, top, peer)
}

func validateUnicast(r *reporter, in *Instance, path string) {
	u := in.Unicast
	if u == nil {
		return
	}
	checkTrackReach(r, in, path)
	switch _, written := r.pos[path+".unicast.peers"]; {
	case len(u.Peers) > 0 || r.failed(path+".unicast.peers"):
	case written:
		// peers: [] written out: the instance stays in FAULT until a reload gives it
		// peers, as keepalived's unicast_fault_no_peer.
		r.warnf(path+".unicast.peers", "list the other nodes' addresses",
			"unicast without peers: the instance stays in FAULT")
	default:
		r.errorf(path+".unicast.peers", "list the other nodes' addresses, or remove unicast: to use multicast",
			"unicast needs at least one peer")
	}
	vips := make(map[netip.Addr]bool)
	for _, v := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
		vips[v.Prefix.Addr()] = true
	}
	seen := make(map[netip.Addr]int)
	for i, peer := range u.Peers {
		if !peer.IsValid() {
			continue
		}
		p := fmt.Sprintf("%s.unicast.peers[%d]", path, i)
		switch first, dup := seen[peer]; {
		case peer == u.Source:
			r.errorf(p, "list the other nodes only", "%v is this node's own unicast.source, not a peer", peer)
		case dup:
			r.errorf(p, "remove one", "%v is listed twice (also peers[%d])", peer, first)
		case vips[peer]:
			r.errorf(p, "list the other nodes' own addresses", "%v is a VIP of this instance, not a peer", peer)
		}
		if _, dup := seen[peer]; !dup {
			seen[peer] = i
		}
	}
}

func validateAuth(r *reporter, in *Instance, path string) {
	a := in.Auth
	if a == nil {
		return
	}
	if in.Version != vrrp.Version2 {
		r.errorf(path+".auth", "remove auth, or set version: 2",
			"auth is VRRPv2 only: VRRPv3 has no authentication (RFC 5798 section 9)")
	}
	switch {
	case a.Password == "" && !r.failed(path+".auth.password"):
		r.errorf(path+".auth.password", "set the password the peers use (auth_pass in keepalived)", "auth needs a password")
	case len(a.Password) > 8:
		r.warnf(path+".auth.password", "shorten it to 8 characters so that the file says what is sent",
			"the password is %d characters long: only the first 8 characters count, as in keepalived", len(a.Password))
	}
}

func validateTrack(r *reporter, in *Instance, path string, defs []defined, tracked map[string]map[string]bool) {
	lists := []struct {
		key  string
		refs []TrackRef
	}{
		{"scripts", in.Track.Scripts},
		{"interfaces", in.Track.Interfaces},
		{"processes", in.Track.Processes},
		{"files", in.Track.Files},
		{"haproxy", in.Track.HAProxy},
		{"bfd", in.Track.BFD},
	}
	for _, l := range lists {
		seen := make(map[string]int)
		for i, ref := range l.refs {
			if ref.Name == "" {
				continue // reported by the parser
			}
			p := fmt.Sprintf("%s.track.%s[%d]", path, l.key, i)
			if first, dup := seen[ref.Name]; dup {
				r.errorf(p, "track it once, with the sum of the weights", "%s is tracked twice (also %s[%d])", ref.Name, l.key, first)
				continue
			}
			seen[ref.Name] = i
			if l.key == "files" && ref.Reverse {
				r.errorf(p+".reverse", "remove it, and change the sign of the weight",
					"reverse does not apply to files: the number read is multiplied by the weight")
			}
			i := slices.IndexFunc(defs, func(d defined) bool { return d.key == l.key })
			if i < 0 {
				continue // interfaces are checked on the machine
			}
			d := defs[i]
			tracked[d.key][ref.Name] = true
			if !slices.Contains(d.names, ref.Name) {
				hint := fmt.Sprintf("define it under %s:", d.key)
				if s := closest(ref.Name, d.names); s != "" {
					hint = "did you mean " + s + "?"
				} else if d.key == "files" && filepath.IsAbs(ref.Name) {
					hint = fmt.Sprintf("files are tracked by name: define files: {NAME: {path: %s}} and track NAME", ref.Name)
				}
				r.errorf(p, hint, "no %s %s under %s:", d.what, ref.Name, d.key)
			}
		}
	}
}

// validateOwner warns about settings the address owner ignores, as keepalived does.
func validateOwner(r *reporter, in *Instance, path string) {
	if in.Priority != 255 {
		return
	}
	if !in.Preempt {
		r.warnf(path+".preempt", "remove preempt: false, or lower the priority",
			"priority 255 ignores preempt: false: the address owner always takes over (keepalived ignores nopreempt at 255 too)")
	}
	t := in.Track
	for _, refs := range [][]TrackRef{t.Scripts, t.Interfaces, t.Processes, t.Files, t.HAProxy, t.BFD} {
		if slices.ContainsFunc(refs, func(ref TrackRef) bool { return ref.Weight != 0 }) {
			r.warnf(path+".track", "lower the priority to 254 or less for tracking to move the VIPs",
				"priority 255 ignores track weights: the address owner's priority never changes")
			return
		}
	}
}

// validateAcross checks what instances must not share: a VRID on one interface and
// family, a VIP on one interface, and a VIP used as an advert source.
func validateAcross(r *reporter, cfg *Config, paths []string) {
	type vridKey struct {
		ifname string
		family vrrp.Family
		vrid   uint8
	}
	type vipKey struct {
		ifname string
		addr   netip.Addr
	}
	vrids := make(map[vridKey]int)
	vips := make(map[vipKey]int)
	allVIPs := make(map[netip.Addr]bool)
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if in.Interface != "" && in.VRID != 0 {
			k := vridKey{in.Interface, in.Family(), in.VRID}
			if first, dup := vrids[k]; dup {
				other := &cfg.Instances[first]
				r.errorf(paths[i]+".vrid", "give each virtual router on a link its own vrid",
					"vrid %d is already used on %s for %v by instance %s (line %d)", in.VRID, in.Interface, k.family, other.Name, other.Line)
			} else {
				vrids[k] = i
			}
		}
		for j, v := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
			if !v.Prefix.IsValid() {
				continue
			}
			allVIPs[v.Prefix.Addr()] = true
			k := vipKey{v.Interface, v.Prefix.Addr()}
			first, dup := vips[k]
			switch {
			case !dup:
				vips[k] = i
			case first != i: // repeats within an instance are reported by validateAddresses
				p := fmt.Sprintf("%s.vips[%d]", paths[i], j)
				if j >= len(in.VIPs) {
					p = fmt.Sprintf("%s.excluded_vips[%d]", paths[i], j-len(in.VIPs))
				}
				other := &cfg.Instances[first]
				r.errorf(p, "a VIP belongs to one instance", "%v on %s is also a VIP of instance %s (line %d)", k.addr, k.ifname, other.Name, other.Line)
			}
		}
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if in.Source.IsValid() && allVIPs[in.Source] {
			r.errorf(sourcePath(r, in, paths[i]), "omit source to send from the interface's primary address",
				"%v is a VIP; adverts are sent from one of the node's own addresses", in.Source)
		}
	}
}

// ErrNoInterface is wrapped by a Host's Addrs when the interface does not exist.
var ErrNoInterface = errors.New("no such interface")

// ErrNoGroup is wrapped by a Host's LookupGroup when the group does not exist.
var ErrNoGroup = errors.New("no such group")

// Host tells Check about the machine. netops implements it on Linux; tests use a fake.
type Host interface {
	// Addrs returns the node's own addresses on ifname (its VIPs excluded); an error
	// wrapping ErrNoInterface if there is no such interface.
	Addrs(ifname string) ([]netip.Addr, error)
	// LookupGroup returns nil when the group exists; an error wrapping ErrNoGroup if it
	// does not.
	LookupGroup(name string) error
	// BGPSpeaker returns nil when the BGP speaker a bgp section needs (vrrpd-bgp) is
	// installed, and what is wrong otherwise.
	BGPSpeaker() error
}

// Check runs the checks that need the machine, for `vrrpd check` and reloads: every
// interface exists (a BGP route's address interface too), no VIP or route address is
// an address of the node, no unicast peer is one either,
// an advert source is one, a BFD session's interface exists and holds its source but
// not its neighbour, a socket_group the file names exists, and a bgp section's speaker
// is installed. It returns the
// problems found, sorted; the file's own problems are Load's. Tracked interfaces that
// do not exist are warnings, since they may appear later.
func Check(cfg *Config, host Host) Problems {
	r := &reporter{file: cfg.File, pos: cfg.pos}
	type result struct {
		addrs []netip.Addr
		err   error
	}
	cache := make(map[string]result)
	addrs := func(ifname string) ([]netip.Addr, error) {
		res, ok := cache[ifname]
		if !ok {
			res.addrs, res.err = host.Addrs(ifname)
			cache[ifname] = res
		}
		return res.addrs, res.err
	}
	// exists reports the first failure to read ifname at path; the result says whether
	// the addresses of ifname are known.
	reported := make(map[string]bool)
	exists := func(ifname, path string) bool {
		_, err := addrs(ifname)
		if err == nil {
			return true
		}
		if reported[ifname] {
			return false
		}
		reported[ifname] = true
		if errors.Is(err, ErrNoInterface) {
			r.errorf(path, "`ip link` lists the interfaces of this node", "interface %s does not exist on this node", ifname)
		} else {
			r.errorf(path, "", "cannot read the addresses of %s: %v", ifname, err)
		}
		return false
	}

	// The default group is optional: without it the socket is root's alone.
	if r.set("socket_group") {
		if err := host.LookupGroup(cfg.SocketGroup); errors.Is(err, ErrNoGroup) {
			r.errorf("socket_group", fmt.Sprintf("create it (groupadd --system %s), or remove socket_group", cfg.SocketGroup),
				"group %s does not exist on this node", cfg.SocketGroup)
		} else if err != nil {
			r.errorf("socket_group", "", "cannot look up group %s: %v", cfg.SocketGroup, err)
		}
	}

	paths := instancePaths(instanceNames(cfg.Instances))
	// Every interface the file names, so that peers can be compared with all of the
	// node's addresses.
	var ifnames []string
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		exists(in.Interface, paths[i]+".interface")
		ifnames = append(ifnames, in.Interface)
		for _, list := range []struct {
			key  string
			vips []VIP
		}{{"vips", in.VIPs}, {"excluded_vips", in.ExcludedVIPs}} {
			for j, v := range list.vips {
				p := fmt.Sprintf("%s.%s[%d]", paths[i], list.key, j)
				if v.Interface != in.Interface {
					ifnames = append(ifnames, v.Interface)
					if !exists(v.Interface, p+".interface") {
						continue
					}
				}
				own, err := addrs(v.Interface)
				if err == nil && slices.Contains(own, v.Prefix.Addr()) {
					r.errorf(p, "list only addresses vrrpd may add and remove",
						"%v is an address of this node on %s, not a VIP; vrrpd never removes a node's own address", v.Prefix.Addr(), v.Interface)
				}
			}
		}
		for j, ref := range in.Track.Interfaces {
			ifnames = append(ifnames, ref.Name)
			if _, err := addrs(ref.Name); errors.Is(err, ErrNoInterface) {
				r.warnf(fmt.Sprintf("%s.track.interfaces[%d]", paths[i], j), "", "tracked interface %s does not exist on this node", ref.Name)
			}
		}
	}
	if cfg.BGP != nil {
		if err := host.BGPSpeaker(); err != nil {
			r.errorf("bgp", "vrrpd's package installs it; without the package, put vrrpd-bgp beside vrrpd", "%v", err)
		}
		for i, rt := range cfg.BGP.Routes {
			if rt.AddressInterface == "" {
				continue
			}
			path := fmt.Sprintf("bgp.routes[%d].address.interface", i)
			if !exists(rt.AddressInterface, path) {
				continue
			}
			own, _ := addrs(rt.AddressInterface)
			for j, pfx := range rt.Prefixes {
				if pfx.IsValid() && slices.Contains(own, pfx.Addr()) {
					r.errorf(fmt.Sprintf("bgp.routes[%d].prefixes[%d]", i, j),
						fmt.Sprintf("remove it from %s and let the route add it, or omit address", rt.AddressInterface),
						"%v is an address of this node on %s; the route would remove it after its withdraw", pfx.Addr(), rt.AddressInterface)
				}
			}
		}
	}
	for _, b := range cfg.BFDSessions {
		path := "bfd." + b.Name
		if b.Interface == "" || !exists(b.Interface, path+".interface") {
			continue
		}
		own, _ := addrs(b.Interface)
		if b.Source.IsValid() && !slices.Contains(own, b.Source) {
			r.errorf(path+".source", fmt.Sprintf("use one of %s's addresses: %s, or omit it", b.Interface, joinAddrs(own)),
				"%v is not an address of this node on %s; BFD packets are sent from the node's own address", b.Source, b.Interface)
		}
		if slices.Contains(own, b.Neighbor) {
			r.errorf(path+".neighbor", "name the other end of the link", "%v is an address of this node on %s; a BFD neighbour is another node", b.Neighbor, b.Interface)
		}
	}
	slices.Sort(ifnames)
	ifnames = slices.Compact(ifnames)

	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if own, err := addrs(in.Interface); err == nil && in.Source.IsValid() && !slices.Contains(own, in.Source) {
			r.errorf(sourcePath(r, in, paths[i]), fmt.Sprintf("use one of %s's addresses: %s, or omit it", in.Interface, joinAddrs(own)),
				"%v is not an address of this node on %s; adverts are sent from the node's own address", in.Source, in.Interface)
		}
		if in.Unicast == nil {
			continue
		}
		for j, peer := range in.Unicast.Peers {
			for _, ifname := range ifnames {
				if own, err := addrs(ifname); err == nil && slices.Contains(own, peer) {
					r.errorf(fmt.Sprintf("%s.unicast.peers[%d]", paths[i], j), "list the other nodes' addresses",
						"%v is an address of this node on %s; a unicast peer is another node", peer, ifname)
					break
				}
			}
		}
	}
	return sortProblems(r.list)
}

func joinAddrs(addrs []netip.Addr) string {
	if len(addrs) == 0 {
		return "none"
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// validateBFD checks each BFD session's addresses, and that no two sessions share a
// neighbour on one interface: packets are matched to sessions by their source address
// until the peer has learnt our discriminator.
func validateBFD(r *reporter, sessions []BFDSession) {
	type key struct {
		neighbor netip.Addr
		ifname   string
	}
	seen := make(map[key]string)
	for _, b := range sessions {
		path := "bfd." + b.Name
		if !b.Neighbor.IsValid() {
			continue // reported by the parser
		}
		if b.Source.IsValid() && b.Source.Is4() != b.Neighbor.Is4() {
			r.errorf(path+".source", "write a source of the neighbour's family", "source %v and neighbor %v are not of one family", b.Source, b.Neighbor)
		}
		if b.Neighbor.Is6() && b.Neighbor.IsLinkLocalUnicast() && b.Interface == "" {
			r.errorf(path+".interface", "write interface: eth0", "neighbor %v is link-local: the session needs an interface", b.Neighbor)
		}
		k := key{b.Neighbor, b.Interface}
		if other, dup := seen[k]; dup {
			r.errorf(path+".neighbor", "run one session per neighbour and track it from every instance",
				"BFD session %s already runs to %v on this interface", other, b.Neighbor)
			continue
		}
		seen[k] = b.Name
	}
}
