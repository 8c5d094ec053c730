package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
)

func printMetrics(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("metrics", "vrrpd metrics [--config FILE] [--socket PATH]",
		"Prints the running daemon's vrrpd_* metrics in the Prometheus text format, from the control socket,\n"+
			"whether or not the configuration has it listen for scrapes: for node_exporter's textfile collector.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`, to find the control socket")
	socket := fs.String("socket", "", "control socket `path` (default: from the configuration)")
	if _, code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	text, err := control.QueryMetrics(ctx, socketPath(*socket, *cfgPath))
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 1
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 1
	}
	return 0
}
