package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
)

// Exit statuses of is-master.
const (
	exitMaster    = 0
	exitNotMaster = 1
	exitUnknown   = 2 // no such instance, or no daemon to ask
)

func isMaster(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("is-master", "vrrpd is-master [--config FILE] [--socket PATH] [INSTANCE]",
		"Exits 0 when this node is master of INSTANCE, or without one of every instance; 1 when it is not;\n"+
			"2 when there is no such instance or no daemon answers, or after a wrong command line. It prints\n"+
			"nothing else, for jobs that must run on one node only: vrrpd is-master web && run-the-job.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`, to find the control socket")
	socket := fs.String("socket", "", "control socket `path` (default: from the configuration)")
	names, code, ok := parseArgs(fs, args, 1, stdout)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := control.QueryStatus(ctx, socketPath(*socket, *cfgPath))
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return exitUnknown
	}
	found := false
	for _, in := range st.Instances {
		if len(names) == 1 && in.Name != names[0] {
			continue
		}
		found = true
		if in.State != "MASTER" {
			return exitNotMaster
		}
	}
	if !found {
		if len(names) == 1 {
			fmt.Fprintf(stderr, "vrrpd: no instance %q\n", names[0])
		} else {
			fmt.Fprintln(stderr, "vrrpd: the daemon has no instance")
		}
		return exitUnknown
	}
	return exitMaster
}
