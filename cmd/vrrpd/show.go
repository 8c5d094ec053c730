package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
)

func show(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("show", "vrrpd show [--config FILE] [--socket PATH] [--json] [--detail] [--watch] [INSTANCE]",
		"Shows the instances of the running daemon, one line each: state, VRID, priority and why, master,\n"+
			"VIPs. With INSTANCE or --detail, each in full: state and why, priority, trackers, master, timers,\n"+
			"VIPs, counters; a daemon of one instance shows it in full. With --watch, follows the events\n"+
			"instead, as vrrpd events does.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`, to find the control socket")
	socket := fs.String("socket", "", "control socket `path` (default: from the configuration)")
	asJSON := fs.Bool("json", false, "print JSON: the status, or one event per line with --watch")
	detail := fs.Bool("detail", false, "show every instance in full")
	watch := fs.Bool("watch", false, "follow the events as they happen, as vrrpd events does")
	names, code, ok := parseArgs(fs, args, 1, stdout)
	if !ok {
		return code
	}
	name := ""
	if len(names) == 1 {
		name = names[0]
	}
	path := socketPath(*socket, *cfgPath)
	if *watch {
		return followEvents(path, name, *asJSON, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := control.QueryStatus(ctx, path)
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 1
	}
	if name != "" {
		st.Instances = slices.DeleteFunc(st.Instances, func(in control.InstanceStatus) bool { return in.Name != name })
		if len(st.Instances) == 0 {
			fmt.Fprintf(stderr, "vrrpd: no instance %q\n", name)
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(st); err != nil {
			return 1
		}
		return 0
	}
	pal := newPalette(stdout)
	if *detail || len(st.Instances) == 1 {
		writeStatus(stdout, st, time.Now(), pal)
	} else {
		writeSummary(stdout, st, time.Now(), pal)
	}
	return 0
}

// socketPath is the flag, else the configuration's socket, else the default. The file
// is only peeked at: `show` must work even when the file on disk has been broken since
// the daemon loaded it.
func socketPath(flagValue, cfgPath string) string {
	if flagValue != "" {
		return flagValue
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return config.DefaultSocket
	}
	var peek struct {
		Socket string `yaml:"socket"`
	}
	if yaml.Unmarshal(data, &peek) != nil || peek.Socket == "" {
		return config.DefaultSocket
	}
	return peek.Socket
}

// writeHeader prints the line about the daemon that show starts with.
func writeHeader(w io.Writer, st control.Status, now time.Time, pal palette) {
	fmt.Fprintf(w, "node %s · vrrpd %s · up %s · %s", st.Node, st.Version, ago(now.Sub(st.Started)), st.Config)
	if st.Reloads.LastFailed {
		fmt.Fprint(w, " · ", pal.paint(sgrRed, "the last reload failed: the file is not what runs"))
	}
	fmt.Fprintln(w)
}

// writeSummary prints one line per instance, in columns that tabwriter aligns whatever
// the length of the addresses, then the BGP sessions and routes. In colour, every cell
// of a column but the last is painted, so that each carries the same escape bytes.
func writeSummary(w io.Writer, st control.Status, now time.Time, pal palette) {
	writeHeader(w, st, now, pal)
	// A node may only announce routes over BGP.
	if len(st.Instances) > 0 || st.BGP == nil {
		writeInstances(w, st, pal)
	}
	writeBGP(w, st.BGP, now)
}

// writeInstances prints the table of instances.
func writeInstances(w io.Writer, st control.Status, pal palette) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	bold := func(s string) string { return pal.paint(sgrBold, s) }
	fmt.Fprintln(tw, strings.Join([]string{bold("INSTANCE"), bold("STATE"), bold("VRID"), bold("PRIORITY"), bold("MASTER"), bold("VIPS")}, "\t"))
	for _, in := range st.Instances {
		plain := func(s string) string { return pal.paint(sgrPlain, s) }
		fmt.Fprintln(tw, strings.Join([]string{plain(in.Name), pal.state(in.State), plain(strconv.Itoa(in.VRID)),
			plain(priorityWhy(in)), plain(masterOf(in)), vipList(in, pal)}, "\t"))
	}
	tw.Flush()
}

// priorityWhy is the effective priority and, when the trackers moved it, why:
// "90 (chk_haproxy failing (-60))".
func priorityWhy(in control.InstanceStatus) string {
	p := strconv.Itoa(in.Priority)
	if in.Priority == in.BasePriority {
		return p
	}
	if _, why, ok := strings.Cut(in.PriorityReason, ": "); ok {
		return p + " (" + why + ")"
	}
	return fmt.Sprintf("%s (base %d)", p, in.BasePriority)
}

// masterOf says who is master: this node, the address and priority heard, or nobody.
func masterOf(in control.InstanceStatus) string {
	switch {
	case in.State == "MASTER":
		return "this node"
	case in.Master != "":
		return fmt.Sprintf("%s (%d)", in.Master, in.MasterPriority)
	}
	return "none heard"
}

// vipList lists the VIPs and whether the kernel has them; in colour, one that is where
// it should not be, or missing where it should be, is red.
func vipList(in control.InstanceStatus, pal palette) string {
	var parts []string
	for _, v := range in.VIPs {
		s := v.Address + " absent"
		if v.Present {
			s = v.Address + " present"
		}
		if v.Present != (in.State == "MASTER" || in.Holding) {
			s = pal.paint(sgrRed, s)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// writeStatus prints every instance in full, for a person at a terminal: who is master
// and why first.
func writeStatus(w io.Writer, st control.Status, now time.Time, pal palette) {
	writeHeader(w, st, now, pal)
	for _, in := range st.Instances {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%s  %s  VRID %d  v%d %s %s\n", pal.paint(sgrBold, in.Name), pal.state(in.State), in.VRID, in.Version, in.Family, in.Mode)
		since := ""
		if !in.Since.IsZero() {
			since = fmt.Sprintf(" since %s (%s ago)", in.Since.Local().Format("2006-01-02 15:04:05"), ago(now.Sub(in.Since)))
		}
		fmt.Fprintf(w, "  state     %s%s\n", pal.state(in.State), since)
		fmt.Fprintf(w, "  why       %s\n", in.Reason)
		prio := fmt.Sprint(in.Priority)
		if in.Priority != in.BasePriority {
			prio = fmt.Sprintf("%d (base %d)", in.Priority, in.BasePriority)
		}
		fmt.Fprintf(w, "  priority  %s\n", prio)
		if in.PriorityReason != "" && in.PriorityReason != fmt.Sprintf("priority %d", in.BasePriority) {
			fmt.Fprintf(w, "            %s\n", in.PriorityReason)
		}
		for _, tr := range in.Trackers {
			since := ""
			if !tr.Since.IsZero() {
				since = fmt.Sprintf(" for %s", ago(now.Sub(tr.Since)))
			}
			detail := ""
			if tr.Detail != "" {
				detail = " (" + tr.Detail + ")"
			}
			fmt.Fprintf(w, "  track     %-9s %-14s %s%s%s: %s\n", tr.Kind, tr.Name, strings.ToLower(tr.State), since, detail, tr.Text)
		}
		switch {
		case in.State == "MASTER":
			fmt.Fprintf(w, "  master    this node (%s)\n", in.Source)
		case in.Master != "":
			fmt.Fprintf(w, "  master    %s, priority %d\n", in.Master, in.MasterPriority)
		default:
			fmt.Fprintf(w, "  master    none heard\n")
		}
		interval := seconds(in.AdvertInterval)
		if in.MasterAdvertInterval != in.AdvertInterval && in.State == "BACKUP" {
			interval += fmt.Sprintf(", learned %s from the master", seconds(in.MasterAdvertInterval))
		}
		fmt.Fprintf(w, "  interval  %s · down after %s · skew %s\n", interval, seconds(in.MasterDownInterval), seconds(in.SkewTime))
		src := in.Source
		if len(in.Peers) > 0 {
			src += " -> " + strings.Join(in.Peers, ", ")
		}
		fmt.Fprintf(w, "  on        %s from %s\n", in.Interface, src)
		if in.VMAC != "" {
			fmt.Fprintf(w, "  vmac      %s\n", in.VMAC)
		}
		if in.SyncGroup != "" {
			group := in.SyncGroup
			if in.WantsMaster {
				group += " (wants mastership, waits for the other members)"
			}
			fmt.Fprintf(w, "  group     %s\n", group)
		}
		for _, v := range in.VIPs {
			mark := "absent"
			if v.Present {
				mark = "present"
			}
			extra := ""
			if v.Excluded {
				extra = " (excluded: not advertised)"
			}
			fmt.Fprintf(w, "  vip       %-22s %-8s %s%s\n", v.Address, v.Interface, mark, extra)
		}
		fmt.Fprintf(w, "  adverts   sent %d, received %d", in.AdvertsSent, in.AdvertsReceived)
		if in.PriorityZeroSent+in.PriorityZeroReceived > 0 {
			fmt.Fprintf(w, " (priority 0: sent %d, received %d)", in.PriorityZeroSent, in.PriorityZeroReceived)
		}
		if in.AdvertSendErrors > 0 {
			fmt.Fprintf(w, ", %s", pal.paint(sgrRed, fmt.Sprintf("%d could not be sent", in.AdvertSendErrors)))
		}
		fmt.Fprintln(w)
		if len(in.Drops) > 0 {
			fmt.Fprintf(w, "  dropped   %s\n", counts(in.Drops))
		}
		if d := in.LastDrop; d != nil {
			fmt.Fprintf(w, "  last drop from %s %s ago: %s\n", d.From, ago(now.Sub(d.Time)), d.Detail)
		}
		for _, r := range in.Routes {
			fmt.Fprintf(w, "  route     %s\n", r)
		}
		if in.RouteErrors > 0 {
			fmt.Fprintf(w, "  routes    %s\n", pal.paint(sgrRed, fmt.Sprintf("%d could not be added or removed", in.RouteErrors)))
		}
		if len(in.HookRuns) > 0 {
			fmt.Fprintf(w, "  hooks     %s\n", counts(in.HookRuns))
		}
	}
	for _, g := range st.SyncGroups {
		fmt.Fprintf(w, "\nsync group %s  %s  %s\n", g.Name, g.State, strings.Join(g.Instances, ", "))
	}
	writeBGP(w, st.BGP, now)
}

// counts lists counters by name: "auth 1, version 7".
func counts(m map[string]uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func seconds(d control.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".") + " s"
}

// ago formats an elapsed time compactly: 4s, 3m12s, 5h3m, 2d4h.
func ago(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}
