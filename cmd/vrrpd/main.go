// Command vrrpd is a VRRP daemon (VRRPv2 RFC 3768, VRRPv3 RFC 5798/9568) that floats
// virtual IP addresses between Linux nodes and speaks the same protocol as keepalived.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time (see the Makefile).
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version", "--version":
		fmt.Fprintln(stdout, "vrrpd", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "vrrpd: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: vrrpd <command>

commands:
  version   print the version
`)
}
