package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
)

func events(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("events", "vrrpd events [--config FILE] [--socket PATH] [--json] [INSTANCE]",
		"Follows the events of the running daemon: transitions, priority changes, split brains healed and\n"+
			"tracker changes; with INSTANCE, that instance's only. One line each, for a person on a terminal;\n"+
			"one JSON object per line with --json, or when the output is not a terminal.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`, to find the control socket")
	socket := fs.String("socket", "", "control socket `path` (default: from the configuration)")
	asJSON := fs.Bool("json", false, "print one JSON object per line, even on a terminal")
	names, code, ok := parseArgs(fs, args, 1, stdout)
	if !ok {
		return code
	}
	name := ""
	if len(names) == 1 {
		name = names[0]
	}
	return followEvents(socketPath(*socket, *cfgPath), name, *asJSON, stdout, stderr)
}

// followEvents prints the events from the control socket at path until interrupted:
// as JSON lines when asJSON or when stdout is not a terminal, else as lines for a
// person. With a name, only the events of that instance, which must exist.
func followEvents(path, name string, asJSON bool, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if name != "" {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := control.QueryStatus(qctx, path)
		cancel()
		if err != nil {
			fmt.Fprintln(stderr, "vrrpd:", err)
			return 1
		}
		if !slices.ContainsFunc(st.Instances, func(in control.InstanceStatus) bool { return in.Name == name }) {
			fmt.Fprintf(stderr, "vrrpd: no instance %q\n", name)
			return 1
		}
	}
	readable := !asJSON && isTerminal(stdout)
	pal := newPalette(stdout)
	err := control.FollowEvents(ctx, path, func(e control.Event, raw json.RawMessage) error {
		if name != "" && e.Instance != name {
			return nil
		}
		var err error
		if readable {
			_, err = fmt.Fprintln(stdout, formatEvent(e, time.Local, pal))
		} else {
			_, err = fmt.Fprintf(stdout, "%s\n", raw)
		}
		return err
	})
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 1
	}
	return 0
}

// formatEvent writes an event as one line for a person, its time in loc:
//
//	2026-11-22 06:12:35.100  web  BACKUP -> MASTER at priority 100: master down timer expired (...)
//	2026-11-22 06:13:02.000  web  priority 150 -> 90: chk_haproxy failing (-60)
//	2026-11-22 06:13:02.000  tracker chk_haproxy (script) failing: exit 1
func formatEvent(e control.Event, loc *time.Location, pal palette) string {
	var b strings.Builder
	b.WriteString(e.Time.In(loc).Format("2006-01-02 15:04:05.000"))
	b.WriteString("  ")
	if e.Instance != "" {
		b.WriteString(pal.paint(sgrBold, e.Instance) + "  ")
	}
	switch e.Type {
	case "transition":
		fmt.Fprintf(&b, "%s -> %s at priority %d", e.From, pal.state(e.To), e.Priority)
		if e.Reason != "" {
			b.WriteString(": " + e.Reason)
		}
	case "priority", "split_brain": // the reason says it all
		if e.Reason == "" {
			fmt.Fprintf(&b, "%s %d", e.Type, e.Priority)
		}
		b.WriteString(e.Reason)
	case "tracker":
		state := e.State
		if state == "failing" {
			state = pal.paint(sgrRed, state)
		}
		fmt.Fprintf(&b, "tracker %s (%s) %s", e.Tracker, e.Kind, state)
		if e.Detail != "" {
			b.WriteString(": " + e.Detail)
		}
	default:
		b.WriteString(e.Type)
		if e.Reason != "" {
			b.WriteString(": " + e.Reason)
		}
	}
	return b.String()
}
