package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/config"
)

// fixtures are the keepalived package's test configurations.
var fixtures = filepath.Join("..", "..", "keepalived", "testdata")

func TestConvert(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a part of stdout; "" for none at all
		stderr []string
	}{
		{
			name: "haproxy pair", args: []string{filepath.Join(fixtures, "haproxy-lb1.conf")}, code: 0,
			stdout: "name: VI_1",
			stderr: []string{"haproxy-lb1.conf:23: state MASTER not converted: every vrrpd instance starts as backup", "notes above"},
		},
		{
			name: "strict mode", args: []string{filepath.Join(fixtures, "strict.conf")}, code: 0,
			stdout: "name: VI_1",
			stderr: []string{"strict.conf:3: strict mode's firewall rules for VI_1 not converted: below priority 255 keepalived drops traffic"},
		},
		{
			name: "conditional with id", args: []string{"--config-id", "lb2", filepath.Join(fixtures, "conditional.conf")}, code: 0,
			stdout: "priority: 100",
		},
		{
			name: "conditional without id", args: []string{filepath.Join(fixtures, "conditional.conf")}, code: 2,
			stderr: []string{"conditional.conf:3: conditional line @lb1", "does not expand"},
		},
		{
			name: "unbalanced braces", args: []string{filepath.Join(fixtures, "errors", "unbalanced.conf")}, code: 2,
			stderr: []string{"unbalanced.conf:1: the block vrrp_instance VI_1 opened here is not closed", "would refuse"},
		},
		{
			name: "missing vrid", args: []string{filepath.Join(fixtures, "errors", "missing-vrid.conf")}, code: 2,
			stderr: []string{"missing-vrid.conf:1: vrrp_instance VI_1 has no virtual_router_id", "missing-vrid.conf:12:"},
		},
		{
			name: "missing include", args: []string{filepath.Join(fixtures, "errors", "missing-include.conf")}, code: 2,
			stderr: []string{"missing-include.conf:4: include /etc/keepalived/does-not-exist.conf: no such file"},
		},
		{
			name: "no such file", args: []string{filepath.Join(fixtures, "nonexistent.conf")}, code: 1,
			stderr: []string{"nonexistent.conf"},
		},
		{name: "two files", args: []string{"a.conf", "b.conf"}, code: 2, stderr: []string{`vrrpd convert: unexpected argument "b.conf"`, "usage: vrrpd convert"}},
		{name: "bad flag", args: []string{"--frobnicate"}, code: 2, stderr: []string{"flag provided but not defined"}},
		{name: "help", args: []string{"--help"}, code: 0, stdout: "usage: vrrpd convert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := convert(tt.args, &out, &errOut); code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut.String())
			}
			if tt.stdout == "" && out.Len() > 0 {
				t.Errorf("stdout is not empty:\n%s", out.String())
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout has no %q:\n%s", tt.stdout, out.String())
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr has no %q:\n%s", want, errOut.String())
				}
			}
		})
	}
}

// TestConvertOutputLoads checks that what convert writes is what vrrpd check reads.
func TestConvertOutputLoads(t *testing.T) {
	for _, name := range []string{"haproxy-lb1.conf", "haproxy-lb2.conf", "unicast.conf", "strict.conf"} {
		var out, errOut bytes.Buffer
		if code := convert([]string{filepath.Join(fixtures, name)}, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit %d:\n%s", name, code, errOut.String())
		}
		if _, err := config.Parse(name, out.Bytes()); err != nil {
			t.Errorf("%s: config.Parse:\n%v\n%s", name, err, out.String())
		}
	}
}
