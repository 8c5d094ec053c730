package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/daemon"
)

// commands are every subcommand, each with a command line of one argument too many.
var commands = []struct {
	name     string
	tooMany  []string
	unwanted string // the argument refused
}{
	{"run", []string{"run", "vrrpd.yaml"}, "vrrpd.yaml"},
	{"check", []string{"check", "a.yaml", "b.yaml"}, "b.yaml"},
	{"show", []string{"show", "web", "db"}, "db"},
	{"events", []string{"events", "web", "db"}, "db"},
	{"convert", []string{"convert", "a.conf", "b.conf"}, "b.conf"},
	{"cleanup", []string{"cleanup", "vrrpd.yaml"}, "vrrpd.yaml"},
	{"version", []string{"version", "now"}, "now"},
	{"help", []string{"help", "show", "check"}, "check"},
}

// TestCommandLine runs every subcommand with every shape of argument: help, unknown
// flags, extra arguments, flags after the arguments, and the arguments each one takes.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	// The interface does not exist, so that only an offline check passes.
	good := writeFile(t, dir, "good.yaml", "node: n\nstate_file: "+filepath.Join(dir, "vips.json")+"\ninstances:\n"+
		"  - {name: web, interface: vrrpdtest0, vrid: 51, vips: [192.0.2.100/24]}\n")
	bad := writeFile(t, dir, "bad.yaml", "instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    accept: false\n"+
		"    vips: [192.0.2.100/24]\n")
	nogroup := writeFile(t, dir, "nogroup.yaml", "socket_group: vrrpd-no-such-group\nnode: n\ninstances:\n"+
		"  - {name: web, interface: vrrpdtest0, vrid: 51, vips: [192.0.2.100/24]}\n")
	sock := fakeDaemon(t)

	type test struct {
		name   string
		args   []string
		code   int
		stdout string // a part of stdout; "" for none at all
		stderr string // a part of stderr; "" for none at all
		absent string // not in stdout
	}
	var tests []test
	for _, c := range commands {
		usage := "usage: vrrpd " + c.name
		tests = append(tests,
			test{name: c.name + " --help", args: []string{c.name, "--help"}, stdout: usage},
			test{name: c.name + " -h", args: []string{c.name, "-h"}, stdout: usage},
			test{name: "help " + c.name, args: []string{"help", c.name}, stdout: usage},
			test{name: c.name + " with an argument, then --help", args: append(c.tooMany[:len(c.tooMany)-1:len(c.tooMany)-1], "--help"),
				stdout: usage},
			test{name: c.name + " with a bad flag", args: []string{c.name, "--frobnicate"}, code: 2,
				stderr: "flag provided but not defined: -frobnicate\n" + usage},
			test{name: c.name + " with too many arguments", args: c.tooMany, code: 2,
				stderr: "vrrpd " + c.name + ": unexpected argument \"" + c.unwanted + "\"\n" + usage},
		)
	}
	tests = append(tests, []test{
		{name: "no command", args: nil, code: 2, stderr: "usage: vrrpd <command>"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `vrrpd: unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, stdout: "usage: vrrpd <command>"},
		{name: "--help", args: []string{"--help"}, stdout: "usage: vrrpd <command>"},
		{name: "-h", args: []string{"-h"}, stdout: "usage: vrrpd <command>"},
		{name: "help for an unknown command", args: []string{"help", "frobnicate"}, code: 2, stderr: `vrrpd help: unknown command "frobnicate"`},
		{name: "version", args: []string{"version"}, stdout: "vrrpd dev\n"},
		{name: "--version", args: []string{"--version"}, stdout: "vrrpd dev\n"},

		// check reads the file it is given, however it is given.
		{name: "check FILE", args: []string{"check", "--offline", good}, stdout: good + ": OK, 1 instances"},
		{name: "check FILE --offline", args: []string{"check", good, "--offline"}, stdout: good + ": OK, 1 instances"},
		{name: "check --config FILE", args: []string{"check", "--offline", "--config", good}, stdout: good + ": OK, 1 instances"},
		{name: "check --config FILE FILE", args: []string{"check", "--offline", "--config", good, good}, stdout: good + ": OK, 1 instances"},
		{name: "check -- FILE", args: []string{"check", "--offline", "--", good}, stdout: good + ": OK, 1 instances"},
		{name: "check FILE on this machine", args: []string{"check", good}, code: 1,
			stderr: "good.yaml:4:28: instances[web].interface: interface vrrpdtest0 does not exist on this node"},
		{name: "check socket_group on this machine", args: []string{"check", nogroup}, code: 1,
			stderr: "nogroup.yaml:1:15: socket_group: group vrrpd-no-such-group does not exist on this node"},
		{name: "check socket_group offline", args: []string{"check", "--offline", nogroup}, stdout: nogroup + ": OK, 1 instances"},
		{name: "check --config FILE OTHER", args: []string{"check", "--offline", "--config", good, bad}, code: 2,
			stderr: "vrrpd check: --config " + good + " and " + bad + " name two files: check one at a time\nusage: vrrpd check"},
		{name: "check accept: false", args: []string{"check", bad, "--offline"}, code: 1,
			stderr: "bad.yaml:5:13: instances[web].accept: accept: false is not supported"},

		// show and events take the instance and the flags in any order.
		{name: "show INSTANCE --json", args: []string{"show", "web", "--json", "--socket", sock}, stdout: `"name": "web"`, absent: `"db"`},
		{name: "show --json INSTANCE", args: []string{"show", "--socket", sock, "--json", "web"}, stdout: `"name": "web"`, absent: `"db"`},
		{name: "show INSTANCE", args: []string{"show", "web", "--socket", sock}, stdout: "web  MASTER  VRID 51", absent: "db"},
		{name: "show -- INSTANCE", args: []string{"show", "--socket", sock, "--", "web"}, stdout: "web  MASTER  VRID 51", absent: "db"},
		{name: "show", args: []string{"show", "--socket", sock}, stdout: "db  BACKUP  VRID 52"},
		{name: "show an unknown instance", args: []string{"show", "www", "--socket", sock}, code: 1, stderr: `vrrpd: no instance "www"`},
		// The fake daemon hangs up after its events, as a daemon that stops does.
		{name: "events", args: []string{"events", "--socket", sock}, code: 1, stdout: `"instance":"db"`, stderr: "EOF"},
		{name: "events INSTANCE", args: []string{"events", "web", "--socket", sock}, code: 1,
			stdout: `"type":"transition","time":"0001-01-01T00:00:00Z","node":"lb1","instance":"web"`, stderr: "EOF", absent: "db"},
		{name: "show --watch INSTANCE", args: []string{"show", "web", "--watch", "--socket", sock}, code: 1,
			stdout: `"instance":"web"`, stderr: "EOF", absent: "db"},
		{name: "events an unknown instance", args: []string{"events", "--socket", sock, "www"}, code: 1, stderr: `vrrpd: no instance "www"`},

		// convert takes its flag after the file too.
		{name: "convert FILE --config-id", args: []string{"convert", filepath.Join(fixtures, "conditional.conf"), "--config-id", "lb2"},
			stdout: "priority: 100"},
	}...)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			if code != tt.code {
				t.Errorf("%q: exit %d, want %d", tt.args, code, tt.code)
			}
			check := func(what string, got *bytes.Buffer, want string) {
				if want == "" && got.Len() > 0 || !strings.Contains(got.String(), want) {
					t.Errorf("%q: %s is not what it should be (want %q in it):\n%s", tt.args, what, want, got.String())
				}
			}
			check("stdout", &out, tt.stdout)
			check("stderr", &errOut, tt.stderr)
			if tt.absent != "" && strings.Contains(out.String(), tt.absent) {
				t.Errorf("%q: stdout has %q:\n%s", tt.args, tt.absent, out.String())
			}
		})
	}
}

// TestCommandsCovered keeps the table of commands in step with the dispatcher: every
// command `vrrpd help` lists has its row.
func TestCommandsCovered(t *testing.T) {
	var out bytes.Buffer
	usage(&out)
	_, list, _ := strings.Cut(out.String(), "commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	listed := 0
	for _, line := range strings.Split(list, "\n") {
		name := strings.Fields(line)[0]
		listed++
		found := false
		for _, c := range commands {
			found = found || c.name == name
		}
		if !found {
			t.Errorf("vrrpd help lists %s, which the command line table leaves out", name)
		}
	}
	if listed != len(commands) {
		t.Errorf("vrrpd help lists %d commands, the table has %d", listed, len(commands))
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeDaemon serves the control protocol on a unix socket, with instances web and db:
// their status, and a few events, after which it hangs up. It returns the socket's path.
func fakeDaemon(t *testing.T) string {
	t.Helper()
	// A short directory: a unix socket's path is limited to 107 bytes.
	dir, err := os.MkdirTemp("", "vrrpd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	status := daemon.Status{Node: "lb1", Instances: []daemon.InstanceStatus{
		{Name: "web", State: "MASTER", VRID: 51}, {Name: "db", State: "BACKUP", VRID: 52},
	}}
	events := []daemon.Event{
		{Type: "transition", Node: "lb1", Instance: "web", From: "BACKUP", To: "MASTER"},
		{Type: "transition", Node: "lb1", Instance: "db", From: "INIT", To: "BACKUP"},
		{Type: "tracker", Node: "lb1", Tracker: "chk", Kind: "script", State: "FAILING"},
		{Type: "priority", Node: "lb1", Instance: "web", Priority: 90},
	}
	serve := func(c net.Conn) {
		defer c.Close()
		var req struct{ Command string }
		line, err := bufio.NewReader(c).ReadBytes('\n')
		if err != nil || json.Unmarshal(line, &req) != nil {
			return
		}
		enc := json.NewEncoder(c)
		switch req.Command {
		case "show":
			_ = enc.Encode(status)
		case "events":
			for _, e := range events {
				_ = enc.Encode(e)
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by the cleanup
			}
			go serve(c)
		}
	}()
	return path
}
