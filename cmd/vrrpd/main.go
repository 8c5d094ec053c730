// Command vrrpd is a VRRP daemon (VRRPv2 RFC 3768, VRRPv3 RFC 5798/9568) that floats
// virtual IP addresses between Linux nodes and speaks the same protocol as keepalived.
//
//	vrrpd run     [--config FILE] [--log-level LEVEL] [--log-format text|json]
//	vrrpd check   [--offline] [--config FILE | FILE]
//	vrrpd show    [--config FILE] [--socket PATH] [--json] [--watch] [INSTANCE]
//	vrrpd events  [--config FILE] [--socket PATH] [INSTANCE]
//	vrrpd convert [--config-id ID] [keepalived.conf]
//	vrrpd cleanup [--config FILE]
//	vrrpd version
//	vrrpd help    [COMMAND]
//
// Flags may come before or after the other arguments; -h or --help prints a command's
// usage. An argument a command does not take is refused with exit status 2.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
)

// version is set at build time (see the Makefile).
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		// Before anything else: a signal in the first milliseconds must not end the
		// daemon by its default action. runDaemon takes them from here.
		runSignals = make(chan os.Signal, 4)
		signal.Notify(runSignals, runSignalSet...)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runDaemon(rest, stdout, stderr)
	case "check":
		return check(rest, stdout, stderr)
	case "show":
		return show(rest, stdout, stderr)
	case "events":
		return events(rest, stdout, stderr)
	case "convert":
		return convert(rest, stdout, stderr)
	case "cleanup":
		return cleanup(rest, stdout, stderr)
	case "version", "--version":
		return printVersion(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		return help(rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "vrrpd: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

func printVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "vrrpd version", "Prints the version of vrrpd.", stderr)
	if _, code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	fmt.Fprintln(stdout, "vrrpd", version)
	return 0
}

// help prints the usage of vrrpd, or of the command named, on stdout.
func help(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("help", "vrrpd help [COMMAND]", "Prints the usage of vrrpd, or of a command.", stderr)
	cmds, code, ok := parseArgs(fs, args, 1, stdout)
	switch {
	case !ok:
		return code
	case len(cmds) == 0:
		usage(stdout)
		return 0
	}
	switch cmds[0] {
	case "run", "check", "show", "events", "convert", "cleanup", "version", "help":
		return run([]string{cmds[0], "--help"}, stdout, stderr)
	}
	fmt.Fprintf(stderr, "vrrpd help: unknown command %q\n", cmds[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: vrrpd <command> [flags]

commands:
  run       run the daemon in the foreground (needs CAP_NET_ADMIN and CAP_NET_RAW)
  check     validate the configuration and exit 0, or print every problem
  show      show each instance: state, why, priority, master, VIPs, counters
  events    follow transitions, priority and tracker changes as JSON lines (show --watch)
  convert   translate a keepalived.conf into a vrrpd.yaml on standard output
  cleanup   remove the VIPs a vrrpd that is no longer running left behind
  version   print the version
  help      print this, or with a command its usage: vrrpd help show

Run 'vrrpd <command> --help' for a command's flags.
`)
}
