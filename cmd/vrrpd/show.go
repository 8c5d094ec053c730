package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/daemon"
)

func show(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("show", "vrrpd show [--config FILE] [--socket PATH] [--json] [--watch] [INSTANCE]",
		"Shows each instance of the running daemon, or the one named: state, why, priority, master, VIPs,\n"+
			"counters. With --watch, follows the events instead, as vrrpd events does.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`, to find the control socket")
	socket := fs.String("socket", "", "control socket `path` (default: from the configuration)")
	asJSON := fs.Bool("json", false, "print JSON: one status, or one event per line with --watch")
	watch := fs.Bool("watch", false, "follow the events as they happen (JSON lines)")
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
		return followEvents(path, name, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := daemon.QueryStatus(ctx, path)
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 1
	}
	if name != "" {
		st.Instances = slices.DeleteFunc(st.Instances, func(in daemon.InstanceStatus) bool { return in.Name != name })
		if len(st.Instances) == 0 {
			fmt.Fprintf(stderr, "vrrpd: no instance %q\n", name)
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return 1
		}
		return 0
	}
	writeStatus(stdout, st, time.Now())
	return 0
}

func events(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("events", "vrrpd events [--config FILE] [--socket PATH] [INSTANCE]",
		"Follows the events of the running daemon as JSON lines: transitions, priority changes and tracker\n"+
			"changes; with INSTANCE, that instance's transitions and priority changes only.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`, to find the control socket")
	socket := fs.String("socket", "", "control socket `path` (default: from the configuration)")
	names, code, ok := parseArgs(fs, args, 1, stdout)
	if !ok {
		return code
	}
	name := ""
	if len(names) == 1 {
		name = names[0]
	}
	return followEvents(socketPath(*socket, *cfgPath), name, stdout, stderr)
}

// followEvents prints the events from the control socket at path, one JSON line each,
// until interrupted; with a name, only the events of that instance, which must exist.
func followEvents(path, name string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if name != "" {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := daemon.QueryStatus(qctx, path)
		cancel()
		if err != nil {
			fmt.Fprintln(stderr, "vrrpd:", err)
			return 1
		}
		if !slices.ContainsFunc(st.Instances, func(in daemon.InstanceStatus) bool { return in.Name == name }) {
			fmt.Fprintf(stderr, "vrrpd: no instance %q\n", name)
			return 1
		}
	}
	err := daemon.FollowEvents(ctx, path, func(e daemon.Event, raw json.RawMessage) error {
		if name != "" && e.Instance != name {
			return nil
		}
		_, err := fmt.Fprintf(stdout, "%s\n", raw)
		return err
	})
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 1
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

// writeStatus prints the status for a person at a terminal: who is master and why first.
func writeStatus(w io.Writer, st daemon.Status, now time.Time) {
	fmt.Fprintf(w, "node %s · vrrpd %s · up %s · %s\n", st.Node, st.Version, ago(now.Sub(st.Started)), st.Config)
	for _, in := range st.Instances {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%s  %s  VRID %d  v%d %s %s\n", in.Name, in.State, in.VRID, in.Version, in.Family, in.Mode)
		since := ""
		if !in.Since.IsZero() {
			since = fmt.Sprintf(" since %s (%s ago)", in.Since.Local().Format("2006-01-02 15:04:05"), ago(now.Sub(in.Since)))
		}
		fmt.Fprintf(w, "  state     %s%s\n", in.State, since)
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
		fmt.Fprintln(w)
		if len(in.Drops) > 0 {
			var parts []string
			for _, r := range slices.Sorted(maps.Keys(in.Drops)) {
				parts = append(parts, fmt.Sprintf("%s %d", r, in.Drops[r]))
			}
			fmt.Fprintf(w, "  dropped   %s\n", strings.Join(parts, ", "))
		}
		if d := in.LastDrop; d != nil {
			fmt.Fprintf(w, "  last drop from %s %s ago: %s\n", d.From, ago(now.Sub(d.Time)), d.Detail)
		}
	}
}

func seconds(d daemon.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", time.Duration(d).Seconds()), "0"), ".") + " s"
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
