// Command vrrpd-bgp is vrrpd's BGP speaker, in a process of its own: vrrpd starts it
// when its configuration has a bgp section and speaks to it over its standard input
// and output (package rhi/process). It is not run by hand.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/rhi"
	"github.com/vrrpd/vrrpd/rhi/gobgp"
	"github.com/vrrpd/vrrpd/rhi/process"
)

func main() {
	var level slog.Level
	flag.TextVar(&level, "log-level", slog.LevelInfo, "the lowest level of the records sent to vrrpd")
	flag.Parse()
	// It ends with vrrpd, when its input closes: after vrrpd's graceful stop has drained
	// the routes. A Ctrl-C in vrrpd's terminal or a `pkill vrrpd` must not cut the
	// sessions first.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if _, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS); err == nil {
		fmt.Fprintln(os.Stderr, "vrrpd-bgp is started by vrrpd, for the bgp section of its configuration; it is not run by hand")
		os.Exit(2)
	}
	err := process.Serve(os.Stdin, os.Stdout, level, func(log *slog.Logger, onPeer func(rhi.PeerStatus)) rhi.Speaker {
		return gobgp.New(log, onPeer)
	})
	code := 0
	if err != nil {
		fmt.Fprintln(os.Stderr, "vrrpd-bgp:", err)
		code = 1
	}
	// At once, with no exit handler in the way: the kernel closes the sessions.
	unix.Exit(code)
}
