package keepalived

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// errNotFound is what the fake LookPath returns for commands it does not know.
var errNotFound = errors.New("executable file not found in $PATH")

// testOptions is a machine where killall and pidof are in /usr/bin, nothing else is on
// $PATH, and no keepalived_script user exists; conditional lines are for lb1.
func testOptions() Options {
	return Options{
		ConfigID: "lb1",
		LookPath: func(file string) (string, error) {
			switch file {
			case "killall", "pidof":
				return "/usr/bin/" + file, nil
			}
			return "", errNotFound
		},
		UserExists: func(string) bool { return false },
	}
}

// stderrOf formats notes as the convert command prints them.
func stderrOf(notes []Note) string {
	var b strings.Builder
	for _, n := range notes {
		b.WriteString(n.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// golden compares got with the file path, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestGolden converts every testdata/*.conf and compares the YAML and the notes with
// the golden NAME.yaml and NAME.stderr beside it.
func TestGolden(t *testing.T) {
	confs, err := filepath.Glob("testdata/*.conf")
	if err != nil || len(confs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, conf := range confs {
		name := strings.TrimSuffix(conf, ".conf")
		t.Run(filepath.Base(name), func(t *testing.T) {
			res, err := Convert(conf, testOptions())
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			golden(t, name+".yaml", res.YAML)
			golden(t, name+".stderr", []byte(stderrOf(res.Notes)))
		})
	}
}

// TestGoldenErrors converts every testdata/errors/*.conf, which keepalived would
// refuse or convert cannot read, and compares the problems with NAME.stderr.
func TestGoldenErrors(t *testing.T) {
	confs, err := filepath.Glob("testdata/errors/*.conf")
	if err != nil || len(confs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, conf := range confs {
		name := strings.TrimSuffix(conf, ".conf")
		t.Run(filepath.Base(name), func(t *testing.T) {
			opts := testOptions()
			opts.ConfigID = ""
			res, err := Convert(conf, opts)
			if err == nil {
				t.Fatalf("Convert succeeded, want an error; notes:\n%s", stderrOf(res.Notes))
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Convert: %v, want Errors", err)
			}
			if !errors.Is(err, ErrRefused) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("the error wraps neither ErrRefused nor ErrUnsupported: %v", err)
			}
			for _, e := range errs {
				if e.Pos.File == "" || e.Pos.Line == 0 {
					t.Errorf("%q has no file:line", e.Error())
				}
			}
			golden(t, name+".stderr", []byte(err.Error()+"\n"))
		})
	}
}

// TestRules checks keepalived rules that the fixtures do not show, each on a small
// configuration: a part the output must have, a part the notes must have, and parts
// the output and the notes must not have.
func TestRules(t *testing.T) {
	instance := func(body string) string {
		return "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n" + body + "}\n"
	}
	var many strings.Builder
	for i := range 300 {
		fmt.Fprintf(&many, "  10.0.%d.%d/16\n", i/250, i%250+1)
	}
	tests := []struct {
		name, conf string
		yaml, note string
		absent     string // not in the output
		noNote     string // not in the notes
	}{
		{
			name: "VIPs beyond one advert move to excluded_vips",
			conf: instance(" virtual_ipaddress {\n" + many.String() + " }\n"),
			yaml: "excluded_vips:\n      - 10.0.1.6/16", note: "300 VIPs do not fit in one advert",
		},
		{
			name: "a script defined after the instance is not found",
			conf: instance(" track_script {\n  later\n }\n virtual_ipaddress {\n  192.0.2.1/24\n }\n") +
				"vrrp_script later {\n script /bin/true\n}\n",
			yaml: "vips:", note: "no vrrp_script later is defined before this instance",
		},
		{
			name: "a tracked script without a weight takes the script's",
			conf: "vrrp_script s {\n script /bin/true\n weight -25 reverse\n}\n" +
				instance(" track_script {\n  s\n }\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "{name: s, weight: -25, reverse: true}",
		},
		{
			name: "VRRPv3 intervals are 10 ms steps",
			conf: instance(" version 3\n advert_int 0.255\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "advert_interval: 260ms", note: "VRRPv3 counts in 10 ms",
		},
		{
			name: "shell syntax in notify keeps the appended arguments",
			conf: instance(" virtual_ipaddress {\n  192.0.2.1/24\n }\n notify \"/usr/local/bin/n | /usr/bin/logger\"\n"),
			yaml: `any: [/bin/sh, -c, /usr/local/bin/n | /usr/bin/logger "$@", sh]`, note: "uses shell syntax",
		},
		{
			name: "a command not found on $PATH runs through env",
			conf: instance(" virtual_ipaddress {\n  192.0.2.1/24\n }\n notify_master \"my-hook master\"\n"),
			yaml: "master: [/usr/bin/env, my-hook, master]", note: "which searches $PATH too",
		},
		{
			name: "keepalived_script is the script user when it exists",
			conf: instance(" virtual_ipaddress {\n  192.0.2.1/24\n }\n notify_master /bin/true\n"),
			yaml: "script_user: keepalived_script",
		},
		{
			name: "unicast without a source",
			conf: instance(" unicast_peer {\n  192.0.2.2\n }\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "peers: [192.0.2.2]", note: "keepalived sends from the interface's primary address",
		},
		{
			name: "a preempt_delay under vrrpd's shortest",
			conf: instance(" preempt_delay 0.005\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "preempt_delay: 10ms", note: "k.conf:4: preempt_delay 5ms: vrrpd's shortest delay is 10ms; written as 10ms",
		},
		{
			name: "a process delay under vrrpd's shortest",
			conf: "vrrp_track_process p {\n process haproxy\n delay 0.000001\n}\n" +
				instance(" track_process {\n  p weight -10\n }\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "delay: 10ms", note: "k.conf:3: delay 0.000001s: vrrpd's shortest delay is 10ms; written as 10ms",
		},
		{
			name: "no_accept is not written: vrrpd always accepts",
			conf: instance(" priority 100\n no_accept\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "vips:", note: "k.conf:5: no_accept not converted: keepalived drops traffic for the VIPs with firewall rules",
			absent: "accept",
		},
		{
			name: "no_accept of the address owner",
			conf: instance(" priority 255\n no_accept\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "priority: 255", note: "k.conf:5: no_accept not converted: the address owner (priority 255) accepts",
			absent: "accept",
		},
		{
			name: "strict_mode in an instance drops traffic below 255",
			conf: instance(" strict_mode on\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "lower_prio_no_advert: true", note: "k.conf:4: strict mode's firewall rules for V not converted: below priority 255 keepalived drops",
			absent: "accept",
		},
		{
			name: "vrrp_rt_priority and vrrp_no_swap",
			conf: "global_defs {\n vrrp_rt_priority 50\n vrrp_no_swap\n}\n" + instance(" virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "realtime_priority: 50 # from k.conf:2 vrrp_rt_priority\nlock_memory: true # from k.conf:3 vrrp_no_swap",
			note: "k.conf:2: vrrp_rt_priority 50: written as realtime_priority: 50; under systemd it needs a drop-in",
		},
		{
			name: "strict mode with accept keeps no firewall rules to note",
			conf: "global_defs {\n vrrp_strict\n}\n" + instance(" accept\n virtual_ipaddress {\n  192.0.2.1/24\n }\n"),
			yaml: "lower_prio_no_advert: true", absent: "accept", noNote: "firewall rules for",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := noFiles()
			opts.LookPath = testOptions().LookPath
			opts.UserExists = func(name string) bool { return name == "keepalived_script" }
			res, err := ConvertBytes("k.conf", []byte(tt.conf), opts)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(res.YAML), tt.yaml) {
				t.Errorf("output has no %q:\n%s", tt.yaml, res.YAML)
			}
			if notes := stderrOf(res.Notes); !strings.Contains(notes, tt.note) {
				t.Errorf("notes have no %q:\n%s", tt.note, notes)
			}
			if tt.absent != "" && strings.Contains(string(res.YAML), tt.absent) {
				t.Errorf("output has %q:\n%s", tt.absent, res.YAML)
			}
			if notes := stderrOf(res.Notes); tt.noNote != "" && strings.Contains(notes, tt.noNote) {
				t.Errorf("notes have %q:\n%s", tt.noNote, notes)
			}
		})
	}
}

// TestMinTimer: convert writes no delay shorter than config accepts.
func TestMinTimer(t *testing.T) {
	if minTimer != config.MinTimer {
		t.Errorf("minTimer is %v, config.MinTimer %v", minTimer, config.MinTimer)
	}
}
