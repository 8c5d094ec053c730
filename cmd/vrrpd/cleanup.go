package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
)

// cleanup removes the VIPs a vrrpd that is no longer running left behind: the systemd
// unit runs it as ExecStopPost, so that a crashed master's addresses are gone the
// moment it dies rather than when it restarts. It refuses, changing nothing, while a
// vrrpd runs.
func cleanup(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cleanup", "vrrpd cleanup [--config FILE]",
		"Removes the VIPs, routes and rules that a vrrpd that is no longer running left behind (the systemd unit runs it\n"+
			"after vrrpd ends); it changes nothing while vrrpd runs.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`: where the state file is")
	if _, code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	stateFile := config.DefaultStateFile
	if cfg, err := config.Load(*cfgPath); err == nil {
		stateFile = cfg.StateFile
	} else {
		// The marks in the kernel still say what is ours.
		fmt.Fprintf(stderr, "vrrpd cleanup: %v; using the state file %s\n", err, stateFile)
	}
	lock, err := lockStateDir(filepath.Dir(stateFile))
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd cleanup:", err)
		return 1
	}
	defer lock.release()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	vips, err := netops.NewVIPManager(stateFile, log)
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd cleanup:", err)
		return 1
	}
	defer vips.Close()
	removed, err := vips.CleanStale()
	for _, v := range removed {
		fmt.Fprintln(stdout, "removed", v)
	}
	code := 0
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd cleanup:", err)
		code = 1
	}
	routes, err := netops.NewRouteManager(netops.RouteStatePath(stateFile), log)
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd cleanup:", err)
		return 1
	}
	defer routes.Close()
	gone, err := routes.CleanStale()
	for _, r := range gone {
		fmt.Fprintln(stdout, "removed", r)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd cleanup:", err)
		code = 1
	}
	// After the VIPs, which may be on them.
	links, err := netops.NewLinkManager(netops.LinkStatePath(stateFile), log)
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd cleanup:", err)
		return 1
	}
	defer links.Close()
	vmacs, err := links.CleanStale(nil)
	for _, name := range vmacs {
		fmt.Fprintln(stdout, "removed interface", name)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd cleanup:", err)
		code = 1
	}
	return code
}
