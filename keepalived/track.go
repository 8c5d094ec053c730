package keepalived

import (
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// definitionName returns the name of a named top-level block (vrrp_script NAME {...}),
// noting why it is not converted when it has none, no block, or a name vrrpd cannot
// use.
func (cv *converter) definitionName(n *node) (string, bool) {
	switch {
	case len(n.words) != 2:
		cv.rep.skip(n.pos, n.describe(), "%s needs exactly one name; keepalived skips it", n.keyword())
	case !n.block:
		cv.rep.skip(n.pos, n.describe(), "no { } block follows; keepalived skips it")
	case strings.ContainsAny(n.words[1], whiteSpace):
		cv.rep.skip(n.pos, n.describe(), "vrrpd names contain no white space")
	default:
		return n.words[1], true
	}
	return "", false
}

func (cv *converter) script(block *node) {
	name, ok := cv.definitionName(block)
	if !ok {
		return
	}
	if _, dup := cv.scripts[name]; dup {
		cv.rep.skip(block.pos, block.describe(), "a vrrp_script of this name is already defined; keepalived keeps the first")
		return
	}
	s := &outScript{pos: block.pos, name: name, interval: time.Second, fall: 1, rise: 1}
	for _, n := range block.children {
		switch kw := n.keyword(); kw {
		case "script":
			c, err := readCommand(n.line)
			if err != nil {
				cv.rep.skip(n.pos, kw, "the line cannot be split: %v (keepalived does not run it either)", err)
				continue
			}
			if c.user != "" {
				cv.rep.skip(n.pos, "script user "+c.user, "write the user with the user keyword")
			}
			s.exec = cv.argv(c, false)
		case "interval", "timeout":
			v, ok := parseUint(n.arg(0), 0, int(^uint32(0)>>1))
			switch {
			case !ok:
				cv.rep.skip(n.pos, n.describe(), "not a whole number of seconds; keepalived ignores it")
				continue
			case v == 0:
				cv.rep.change(n.pos, n.describe(), "keepalived makes 0 into 1 second, and so does convert")
				v = 1
			}
			if kw == "interval" {
				s.interval = time.Duration(v) * time.Second
			} else {
				s.timeout = time.Duration(v) * time.Second
			}
		case "weight":
			w, ok := parseInt(n.arg(0), -1<<31, 1<<31-1)
			if !ok {
				cv.rep.skip(n.pos, n.describe(), "not a whole number; keepalived ignores it")
				continue
			}
			s.weight = cv.weightRange(n, w, 253)
			s.reverse = cv.reverse(n, 1, false)
		case "rise", "fall":
			v, ok := parseUint(n.arg(0), 1, int(^uint32(0)>>1))
			if !ok {
				cv.rep.change(n.pos, n.describe(), "not a whole number of 1 or more; keepalived uses 1, and so does convert")
				v = 1
			}
			if kw == "rise" {
				s.rise = v
			} else {
				s.fall = v
			}
		case "user":
			if n.arg(0) == "" {
				cv.rep.skip(n.pos, kw, "no user is given")
				continue
			}
			s.user = n.arg(0)
			if n.arg(1) != "" {
				cv.rep.skip(n.pos, "user group "+n.arg(1), "vrrpd runs scripts with the user's own group")
			}
		case "init_fail":
			s.initFail = true
		default:
			cv.rep.skip(n.pos, n.describe(), "not a vrrp_script keyword vrrpd has")
		}
	}
	if len(s.exec) == 0 {
		cv.rep.skip(block.pos, block.describe(), "no command to run (keepalived: \"No script set\", and removes it)")
		return
	}
	cv.scripts[name] = s
	cv.out.scripts = append(cv.out.scripts, s)
}

// weightRange keeps a weight within what keepalived accepts there (limit) and vrrpd's
// -254..254, noting a change.
func (cv *converter) weightRange(n *node, w, limit int) int {
	if w < -limit || w > limit {
		c := clamp(w, -limit, limit)
		cv.rep.change(n.pos, n.describe(), "the weight is out of range %d..%d; written as %d", -limit, limit, c)
		return c
	}
	return w
}

// reverse reads the optional reverse/noreverse word at index i of n's arguments.
func (cv *converter) reverse(n *node, i int, dflt bool) bool {
	switch w := n.arg(i); w {
	case "":
		return dflt
	case "reverse":
		return true
	case "noreverse", "no_reverse":
		return false
	default:
		cv.rep.skip(n.pos, w, "not reverse or noreverse; keepalived ignores it")
		return dflt
	}
}

func (cv *converter) trackProcess(block *node) {
	name, ok := cv.definitionName(block)
	if !ok {
		return
	}
	if _, dup := cv.processes[name]; dup {
		cv.rep.skip(block.pos, block.describe(), "a vrrp_track_process of this name is already defined")
		return
	}
	p := &outProcess{pos: block.pos, name: name, min: 1}
	forkDelay, termDelay := time.Duration(-1), time.Duration(-1)
	var delayPos Pos
	for _, n := range block.children {
		switch kw := n.keyword(); kw {
		case "process":
			if len(n.args()) == 0 {
				cv.rep.skip(n.pos, kw, "no process is named")
				continue
			}
			p.match = strings.Join(n.args(), " ")
			if len(n.args()) > 1 {
				p.cmdline = true
				cv.rep.change(n.pos, n.describe(), "keepalived matches the parameters exactly; vrrpd's match with cmdline: true "+
					"finds %q anywhere in the command line", p.match)
			}
		case "param_match":
			p.cmdline = true
			if n.arg(0) != "" {
				cv.rep.change(n.pos, n.describe(), "vrrpd's cmdline match finds the text anywhere in the command line; "+
					"keepalived's %s match compared the start of each parameter", n.arg(0))
			}
		case "full_command":
			p.cmdline = true
			cv.rep.change(n.pos, kw, "keepalived compares the whole command line; vrrpd's cmdline: true finds the text in it")
		case "weight":
			w, ok := parseInt(n.arg(0), -254, 254)
			if !ok {
				cv.rep.skip(n.pos, n.describe(), "the weight must be -254..254; keepalived ignores it")
				continue
			}
			p.weight, p.reverse = w, cv.reverse(n, 1, false)
		case "quorum":
			v, ok := parseUint(n.arg(0), 0, int(^uint32(0)>>1))
			if !ok {
				cv.rep.skip(n.pos, n.describe(), "not a whole number; keepalived ignores it")
				continue
			}
			p.min = v
		case "quorum_max":
			v, ok := parseUint(n.arg(0), 0, int(^uint32(0)>>1))
			switch {
			case !ok:
				cv.rep.skip(n.pos, n.describe(), "not a whole number; keepalived ignores it")
			case v == 0:
				cv.rep.skip(n.pos, n.describe(), "keepalived's quorum_max 0 fails while any matching process runs; "+
					"vrrpd's max: 0 means no maximum: track the process with reverse instead")
			default:
				p.max = v
			}
		case "delay", "fork_delay", "terminate_delay":
			d, ok := parseSeconds(n.arg(0), timerHi)
			if !ok {
				cv.rep.skip(n.pos, n.describe(), "not a number of seconds; keepalived ignores it")
				continue
			}
			if kw != "terminate_delay" {
				forkDelay = d
			}
			if kw != "fork_delay" {
				termDelay = d
			}
			delayPos = n.pos
		default:
			cv.rep.skip(n.pos, n.describe(), "not a vrrp_track_process keyword vrrpd has")
		}
	}
	if p.match == "" {
		cv.rep.skip(block.pos, block.describe(), "no process keyword (keepalived: \"process name not specified\", and removes it)")
		return
	}
	switch {
	case forkDelay >= 0 && termDelay >= 0 && forkDelay != termDelay:
		p.delay = max(forkDelay, termDelay)
		cv.rep.change(delayPos, "fork_delay and terminate_delay", "vrrpd has one delay for both directions; written as delay: %s",
			formatDuration(p.delay))
	case forkDelay >= 0 && termDelay < 0, termDelay >= 0 && forkDelay < 0:
		p.delay = max(forkDelay, termDelay)
		cv.rep.change(delayPos, "delay", "vrrpd delays both the start and the end of the quorum; written as delay: %s",
			formatDuration(p.delay))
	case forkDelay >= 0:
		p.delay = forkDelay
	}
	p.delay = cv.atLeastMinTimer(p.delay, delayPos, "delay")
	cv.processes[name] = p
	cv.out.processes = append(cv.out.processes, p)
}

func (cv *converter) trackFile(block *node) {
	name, ok := cv.definitionName(block)
	if !ok {
		return
	}
	if _, dup := cv.files[name]; dup {
		cv.rep.skip(block.pos, block.describe(), "a track_file of this name is already defined")
		return
	}
	if block.keyword() == "vrrp_track_file" {
		cv.rep.change(block.pos, "vrrp_track_file", "the deprecated name of track_file; converted as track_file")
	}
	f := &outFile{pos: block.pos, name: name, weight: 1}
	for _, n := range block.children {
		switch kw := n.keyword(); kw {
		case "file":
			switch {
			case n.arg(0) == "":
				cv.rep.skip(n.pos, kw, "no file is named")
			case !filepath.IsAbs(n.arg(0)):
				cv.rep.skip(n.pos, n.describe(), "vrrpd reads tracked files by absolute path; write the full path")
			default:
				f.path = filepath.Clean(n.arg(0))
			}
		case "weight":
			w, ok := parseInt(n.arg(0), -1<<31+1, 1<<31-1)
			if !ok {
				cv.rep.skip(n.pos, n.describe(), "not a whole number; keepalived ignores it")
				continue
			}
			f.weight, f.reverse, f.weightSet = cv.weightRange(n, w, 254), cv.reverse(n, 1, false), true
		case "init_file":
			cv.rep.skip(n.pos, n.describe(), "vrrpd does not create or write tracked files; create the file before vrrpd starts")
		default:
			cv.rep.skip(n.pos, n.describe(), "not a track_file keyword vrrpd has")
		}
	}
	if f.path == "" {
		cv.rep.skip(block.pos, block.describe(), "no file to read")
		return
	}
	cv.files[name] = f
	cv.out.files = append(cv.out.files, f)
}

// syncGroup is a vrrp_sync_group: its members, its hooks, and its trackers, which are
// written into each member's, following keepalived's rules for them.
type syncGroup struct {
	pos     Pos
	name    string
	members []string
	notify  []outNotify
	// keepWeights is sync_group_tracking_weight (or the deprecated global_tracking):
	// without it keepalived ignores its members' weighted trackers.
	keepWeights bool
	// tracks are the group's track_* blocks, which keepalived applies to every member.
	tracks []*node
}

func (cv *converter) readSyncGroup(block *node) {
	name, ok := cv.definitionName(block)
	if !ok {
		return
	}
	g := &syncGroup{pos: block.pos, name: name}
	for _, n := range block.children {
		switch kw := n.keyword(); kw {
		case "group":
			for _, c := range n.children {
				g.members = append(g.members, c.words...)
			}
		case "sync_group_tracking_weight", "global_tracking":
			g.keepWeights = true
		case "track_interface", "track_script", "track_process", "track_file", "track_bfd":
			g.tracks = append(g.tracks, n)
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			g.notify = cv.readNotify(n, g.notify)
		case "smtp_alert":
			cv.rep.skip(n.pos, n.describe(), "vrrpd sends no email; a notify hook can")
		case "notify_deleted":
			cv.rep.skip(n.pos, n.describe(), "keepalived sends DELETED for instances only, never for a group")
		case "notify_priority_changes":
			cv.rep.skip(n.pos, n.describe(), "a group has no priority: keepalived sends priority changes for instances only")
		default:
			cv.rep.skip(n.pos, n.describe(), "not a vrrp_sync_group keyword convert knows (keepalived 2.2.7 logs \"Unknown keyword\" and ignores it)")
		}
	}
	for _, m := range g.members {
		if other, dup := cv.syncGroup[m]; dup {
			cv.rep.skip(block.pos, block.describe()+" member "+m, "already a member of vrrp_sync_group %s", other.name)
			continue
		}
		cv.syncGroup[m] = g
	}
	cv.groups = append(cv.groups, g)
	for _, n := range g.tracks {
		cv.rep.change(n.pos, n.keyword()+" of vrrp_sync_group "+name, "keepalived applies the group's trackers to each member, "+
			"and so does convert: they are written in the track lists of %s", strings.Join(g.members, ", "))
	}
}

// checkSyncGroups notes the members of sync groups that name no instance, and writes
// the groups of two members or more, as keepalived keeps them.
func (cv *converter) checkSyncGroups(instances map[string]bool) {
	converted := map[string]bool{}
	for _, in := range cv.out.instances {
		converted[in.name] = true
	}
	for _, g := range cv.groups {
		var members []string
		for _, m := range g.members {
			if cv.syncGroup[m] == g && converted[m] {
				members = append(members, m)
			}
		}
		if len(members) < 2 {
			cv.rep.skip(g.pos, "vrrp_sync_group "+g.name, "it has %d converted member(s); keepalived removes a sync group of fewer than 2 "+
				"(\"Sync group %s has only %d virtual router(s) - removing\")", len(members), g.name, len(members))
			continue
		}
		cv.out.groups = append(cv.out.groups, &outGroup{pos: g.pos, name: g.name, members: members, notify: g.notify})
	}
	var names []string
	for name := range cv.syncGroup {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !instances[name] {
			g := cv.syncGroup[name]
			cv.rep.skip(g.pos, "vrrp_sync_group "+g.name+" member "+name, "no vrrp_instance has this name; keepalived ignores it")
		}
	}
}
