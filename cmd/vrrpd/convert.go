package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"os/user"

	"github.com/vrrpd/vrrpd/keepalived"
)

// defaultKeepalivedConf is where keepalived reads its configuration by default.
const defaultKeepalivedConf = "/etc/keepalived/keepalived.conf"

const convertUsage = `usage: vrrpd convert [--config-id ID] [FILE]

Converts the VRRP part of a keepalived configuration (default %s, and the
files it includes) into a vrrpd configuration, written to standard output:

  vrrpd convert /etc/keepalived/keepalived.conf > /etc/vrrpd/vrrpd.yaml
  vrrpd check

Every setting that is not converted, or is converted with a difference (a keepalived
default written out, a value keepalived would adjust, a command rewritten), is listed on
standard error as FILE:LINE: what and why. Run it on the node being converted: commands
that keepalived found on $PATH are looked up there, and so is the keepalived_script user.

Exit status:
  0  converted; standard error lists what was not converted, if anything
  1  the file cannot be read, or the output cannot be written
  2  nothing converted: keepalived would refuse the file (unbalanced braces, an instance
     without virtual_router_id, interface or VIP, an include that does not exist), the
     file uses what convert does not expand ($NAME= parameters, ~SEQ, @id lines without
     --config-id), or the command line is wrong; standard output is empty

Flags:
`

// convert implements `vrrpd convert`: keepalived.conf in, vrrpd.yaml on stdout, notes
// on stderr. See convertUsage for the exit status.
func convert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configID := fs.String("config-id", "", "keep the conditional lines @`ID` and drop the others, as keepalived -i ID does")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), convertUsage, defaultKeepalivedConf)
		fs.PrintDefaults()
	}
	files, code, ok := parseArgs(fs, args, 1, stdout)
	if !ok {
		return code
	}
	path := defaultKeepalivedConf
	if len(files) == 1 {
		path = files[0]
	}

	res, err := keepalived.Convert(path, keepalived.Options{
		ConfigID: *configID,
		LookPath: exec.LookPath,
		UserExists: func(name string) bool {
			_, err := user.Lookup(name)
			return err == nil
		},
	})
	var problems keepalived.Errors
	switch {
	case errors.As(err, &problems):
		fmt.Fprintln(stderr, problems.Error())
		if errors.Is(err, keepalived.ErrRefused) {
			fmt.Fprintln(stderr, "vrrpd convert: nothing converted: keepalived would refuse this configuration")
		} else {
			fmt.Fprintln(stderr, "vrrpd convert: nothing converted: the configuration uses what convert does not expand")
		}
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "vrrpd convert:", err)
		return 1
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, n.String())
	}
	if _, err := stdout.Write(res.YAML); err != nil {
		fmt.Fprintln(stderr, "vrrpd convert:", err)
		return 1
	}
	if len(res.Notes) > 0 {
		fmt.Fprintf(stderr, "vrrpd convert: converted, with %d notes above: read them, then run vrrpd check\n", len(res.Notes))
	}
	return 0
}
