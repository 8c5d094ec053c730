package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestDurationBounds sets every duration of the file, one at a time, to its minimum
// (loads), just under it and to 1ns (refused at the value's line, with a hint that says
// the minimum), to 0s (loads where 0 means none or off) and to -1s (refused).
func TestDurationBounds(t *testing.T) {
	tests := []struct {
		path string // of the setting
		file string // with %s for the value
		min  string
		zero bool   // 0s loads
		just string // just under the minimum
	}{
		{"scripts.chk.interval", minimal + "    track: {scripts: [chk]}\nscripts:\n  chk: {exec: [/bin/true], interval: %s}\n",
			"10ms", false, "9ms"},
		{"scripts.chk.timeout", minimal + "    track: {scripts: [chk]}\nscripts:\n  chk: {exec: [/bin/true], timeout: %s}\n",
			"10ms", false, "9.999ms"},
		{"haproxy.lb.interval", minimal + "    track: {haproxy: [lb]}\nhaproxy:\n  lb: {socket: /run/haproxy.sock, rule: 'b:app', interval: %s}\n",
			"10ms", false, "9ms"},
		{"haproxy.lb.timeout", minimal + "    track: {haproxy: [lb]}\nhaproxy:\n  lb: {socket: /run/haproxy.sock, rule: 'b:app', timeout: %s}\n",
			"10ms", false, "9ms"},
		{"processes.p.delay", minimal + "    track: {processes: [p]}\nprocesses:\n  p: {match: haproxy, delay: %s}\n",
			"10ms", true, "9ms"},
		{"instances[web].track.interfaces[0].down_delay", minimal + "    track: {interfaces: [{name: eth1, down_delay: %s}]}\n",
			"10ms", true, "9ms"},
		{"instances[web].track.interfaces[0].up_delay", minimal + "    track: {interfaces: [{name: eth1, up_delay: %s}]}\n",
			"10ms", true, "9ms"},
		{"instances[web].preempt_delay", minimal + "    preempt_delay: %s\n", "10ms", true, "9ms"},
		{"defaults.preempt_delay", "defaults: {preempt_delay: %s}\n" + minimal, "10ms", true, "9ms"},
		{"instances[web].garp.delay", minimal + "    garp: {delay: %s}\n", "10ms", true, "9ms"},
		{"instances[web].garp.refresh", minimal + "    garp: {refresh: %s}\n", "1s", true, "999ms"},
		{"defaults.garp.refresh", "defaults: {garp: {refresh: %s}}\n" + minimal, "1s", true, "999ms"},
	}
	parse := func(t *testing.T, file, value string) (Problems, error) {
		t.Helper()
		cfg, err := Parse("x.yaml", []byte(fmt.Sprintf(file, value)))
		var probs Problems
		switch {
		case err == nil:
			return cfg.Warnings, nil
		case !errors.As(err, &probs):
			t.Fatalf("%s: error %v (%T) is not Problems", value, err, err)
		}
		return probs, err
	}
	// refused checks that value is refused with exactly one problem, about path, at
	// the value's line, whose message and hint have want and hint in them.
	refused := func(t *testing.T, path, file, value, want, hint string) {
		t.Helper()
		probs, err := parse(t, file, value)
		if err == nil {
			t.Errorf("%s: loads, want %q", value, want)
			return
		}
		line := 1 + strings.Count(file[:strings.Index(file, "%s")], "\n")
		if len(probs) != 1 || probs[0].Path != path || probs[0].Line != line || !strings.Contains(probs[0].Message, want) ||
			!strings.Contains(probs[0].Hint, hint) {
			t.Errorf("%s: got\n%v\nwant one problem at x.yaml:%d: %s: ...%s... (hint: ...%s...)", value, probs.Error(), line, path, want, hint)
		}
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			hint := "write " + tt.min + " or more"
			if tt.zero {
				hint = "write 0s for none, or " + tt.min + " or more"
			}
			if probs, err := parse(t, tt.file, tt.min); err != nil {
				t.Errorf("the minimum %s is refused:\n%v", tt.min, probs.Error())
			}
			refused(t, tt.path, tt.file, tt.just, "is below the minimum "+tt.min, hint)
			refused(t, tt.path, tt.file, "1ns", "1ns is below the minimum "+tt.min, hint)
			refused(t, tt.path, tt.file, "-1s", "-1s is negative", hint)
			if tt.zero {
				if probs, err := parse(t, tt.file, "0s"); err != nil {
					t.Errorf("0s is refused:\n%v", probs.Error())
				}
			} else {
				refused(t, tt.path, tt.file, "0s", "0s is below the minimum "+tt.min, hint)
			}
		})
	}
}

// TestAdvertIntervalBounds: the advert interval keeps its protocol bounds, wherever it
// is set: VRRPv3 10ms..40.95s, VRRPv2 1s..255s.
func TestAdvertIntervalBounds(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string // "" for none
	}{
		{"v3 0s", minimal + "    advert_interval: 0s\n", "6:22: instances[web].advert_interval: 0s is out of range 10ms..40.95s"},
		{"v3 1ns", minimal + "    advert_interval: 1ns\n", "6:22: instances[web].advert_interval: 1ns is out of range 10ms..40.95s"},
		{"v3 9ms", minimal + "    advert_interval: 9ms\n", "6:22: instances[web].advert_interval: 9ms is out of range 10ms..40.95s"},
		{"v3 negative", minimal + "    advert_interval: -10ms\n", "6:22: instances[web].advert_interval: -10ms is negative"},
		{"v3 10ms", minimal + "    advert_interval: 10ms\n", ""},
		{"v3 40.95s", minimal + "    advert_interval: 40.95s\n", ""},
		{"v3 40.96s", minimal + "    advert_interval: 40.96s\n", "6:22: instances[web].advert_interval: 40.96s is out of range 10ms..40.95s"},
		{"v2 1ns", minimal + "    version: 2\n    advert_interval: 1ns\n", "7:22: instances[web].advert_interval: 1ns is under 1s"},
		{"v2 0s", minimal + "    version: 2\n    advert_interval: 0s\n", "7:22: instances[web].advert_interval: 0s is under 1s"},
		{"v2 1s", minimal + "    version: 2\n    advert_interval: 1s\n", ""},
		{"v2 255s", minimal + "    version: 2\n    advert_interval: 255s\n", ""},
		{"v2 256s", minimal + "    version: 2\n    advert_interval: 256s\n", "7:22: instances[web].advert_interval: 4m16s is out of range 1s..255s"},
		{"v3 1ns under defaults", "defaults: {advert_interval: 1ns}\n" + minimal,
			"1:29: instances[web].advert_interval: 1ns is out of range 10ms..40.95s (set under defaults)"},
		{"v2 500ms under defaults", "defaults: {version: 2, advert_interval: 500ms}\n" + minimal,
			"1:41: instances[web].advert_interval: 500ms is under 1s: VRRPv2 advertises whole seconds (set under defaults)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.file))
			var probs Problems
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused:\n%v", err)
			case tt.want == "":
				return
			case !errors.As(err, &probs):
				t.Fatalf("error %v (%T), want Problems", err, err)
			}
			if len(probs) != 1 || !strings.HasPrefix(probs[0].String(), "x.yaml:"+tt.want) {
				t.Errorf("got\n%v\nwant x.yaml:%s...", probs.Error(), tt.want)
			}
		})
	}
}
