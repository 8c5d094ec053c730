package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr     { return netip.MustParseAddr(s) }

// TestLoadFull reads a file that sets every key and compares the whole Config.
func TestLoadFull(t *testing.T) {
	got, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got.pos["instances[web].vrid"] != (position{line: 42, column: 11}) {
		t.Errorf("position of instances[web].vrid = %+v, want 42:11", got.pos["instances[web].vrid"])
	}
	got.pos = nil // positions are checked by the problem tests

	// What the defaults section sets, for the instances that inherit it.
	defaultGARP := GARP{Repeat: 3, Delay: 2 * time.Second, Refresh: time.Minute, RefreshRepeat: 2, Reply: true}
	want := &Config{
		File:        "testdata/full.yaml",
		Node:        "lb1",
		Socket:      "/run/vrrpd/test.sock",
		SocketGroup: "operators",
		StateFile:   "/var/lib/vrrpd/vips.json",
		ScriptUser:  "nobody",
		Metrics:     &Metrics{Listen: "[2001:db8::1]:9650", Path: "/vrrpd/metrics", Line: 86},

		RealtimePriority: 10,
		LockMemory:       true,
		Scripts: []Script{
			{Name: "chk_haproxy", Exec: []string{"/usr/bin/systemctl", "is-active", "--quiet", "haproxy"},
				Interval: 2 * time.Second, Timeout: time.Second, Fall: 2, Rise: 3, User: "root", InitFail: true, Line: 18},
			{Name: "chk_dns", Exec: []string{"/usr/local/bin/check-dns"},
				Interval: time.Second, Timeout: time.Second, Fall: 1, Rise: 1, User: "nobody", Line: 26},
		},
		Processes: []Process{
			{Name: "haproxy", Match: "haproxy", Min: 1, Max: 4, Delay: 500 * time.Millisecond, Line: 28},
			{Name: "nginx", Match: "nginx", Min: 1, Line: 29},
		},
		Files: []File{{Name: "prio", Path: "/run/vrrpd/prio", Line: 31}},
		HAProxy: []HAProxy{
			{Name: "lb", Socket: "/run/haproxy/admin.sock", Interval: 500 * time.Millisecond, Timeout: 250 * time.Millisecond,
				Rule: HAProxyRule{Objects: []HAProxyObject{{Name: "be_app"}, {Frontend: true, Name: "www"}}}, Line: 33},
			{Name: "lb_tcp", Socket: "127.0.0.1:9999", Interval: time.Second, Timeout: time.Second,
				Rule: HAProxyRule{Objects: []HAProxyObject{{Name: "be_app"}}}, Line: 38},
		},
		Instances: []Instance{
			{
				Name: "web", Interface: "eth0", VRID: 51, Priority: 150, Version: vrrp.Version3,
				AdvertInterval: 100 * time.Millisecond, Preempt: false, PreemptDelay: 0,
				DownTimerAdverts: 3, LowerPriorityNoAdvert: false, MakeBeforeBreak: true, FastHandover: true, HealSplitBrain: true, StartupGrace: DefaultStartupGrace, Checksum: vrrp.ChecksumPseudoHeader,
				Source: addr("192.0.2.1"),
				Unicast: &Unicast{Source: addr("192.0.2.1"), Peers: []netip.Addr{addr("192.0.2.2"), addr("192.0.2.3")},
					CheckSource: false},
				VIPs: []VIP{
					{Prefix: prefix("192.0.2.100/24"), Interface: "eth0", Line: 54},
					{Prefix: prefix("192.0.2.101/32"), Interface: "eth0", Line: 55},
					{Prefix: prefix("192.0.2.102/24"), Interface: "eth1", Label: "eth1:vip", Line: 56},
				},
				ExcludedVIPs: []VIP{{Prefix: prefix("198.51.100.10/24"), Interface: "eth0", Line: 57}},
				// repeat and delay set here, the rest inherited key by key.
				GARP: GARP{Repeat: 5, Delay: 5 * time.Second, Refresh: time.Minute, RefreshRepeat: 2, Reply: true},
				Track: Track{
					Scripts: []TrackRef{{Name: "chk_haproxy", Weight: -60, Line: 60}, {Name: "chk_dns", Line: 60}},
					Interfaces: []TrackRef{
						{Name: "eth1", Weight: -60, Reverse: true, DownDelay: 2 * time.Second, UpDelay: time.Second, Line: 61},
						{Name: "eth2", Line: 61},
					},
					Processes: []TrackRef{{Name: "haproxy", Weight: 10, Line: 62}, {Name: "nginx", Line: 62}},
					Files:     []TrackRef{{Name: "prio", Weight: -2, Line: 63}},
					HAProxy:   []TrackRef{{Name: "lb", Weight: -20, Line: 64}, {Name: "lb_tcp", Line: 64}},
				},
				Notify: Notify{
					Master: []string{"/usr/local/bin/on-master", "web"},
					Backup: []string{"/usr/local/bin/on-backup"},
					Fault:  []string{"/usr/local/bin/on-fault"},
					Stop:   []string{"/usr/local/bin/on-stop"},
					Any:    []string{"/usr/local/bin/notify"},
				},
				Line: 40,
			},
			{
				Name: "legacy", Interface: "eth0", VRID: 52, Priority: 100, Version: vrrp.Version2,
				AdvertInterval: 3 * time.Second, Preempt: true, PreemptDelay: 10 * time.Second,
				DownTimerAdverts: 4, LowerPriorityNoAdvert: true, StartupGrace: DefaultStartupGrace, Checksum: vrrp.ChecksumMessageOnly,
				Source: addr("192.0.2.1"),
				Auth:   &Auth{Type: vrrp.AuthSimple, Password: "secret"},
				VIPs:   []VIP{{Prefix: prefix("203.0.113.5/24"), Interface: "eth0", Line: 81}},
				GARP:   defaultGARP,
				Line:   71,
			},
			{
				Name: "web6", Interface: "eth0", VRID: 51, Priority: 100, Version: vrrp.Version3,
				AdvertInterval: 2 * time.Second, Preempt: true, PreemptDelay: 10 * time.Second,
				DownTimerAdverts: 4, LowerPriorityNoAdvert: true, MakeBeforeBreak: true, FastHandover: true, HealSplitBrain: true, StartupGrace: DefaultStartupGrace, Checksum: vrrp.ChecksumMessageOnly,
				VIPs: []VIP{
					{Prefix: prefix("2001:db8::100/64"), Interface: "eth0", Line: 85},
					{Prefix: prefix("fe80::51/128"), Interface: "eth0", Line: 85},
				},
				GARP: defaultGARP,
				Line: 82,
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", *got, *want)
		for i := range min(len(got.Instances), len(want.Instances)) {
			if !reflect.DeepEqual(got.Instances[i], want.Instances[i]) {
				t.Errorf("instance %d:\n got %+v\nwant %+v", i, got.Instances[i], want.Instances[i])
			}
		}
	}
}

// TestBuiltinDefaults reads the smallest valid file: everything else is a default.
func TestBuiltinDefaults(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if cfg.Node != host || cfg.Socket != DefaultSocket || cfg.SocketGroup != DefaultSocketGroup || cfg.StateFile != DefaultStateFile || cfg.ScriptUser != DefaultScriptUser {
		t.Errorf("top level: got %q %q %q %q %q", cfg.Node, cfg.Socket, cfg.SocketGroup, cfg.StateFile, cfg.ScriptUser)
	}
	got := cfg.Instances[0]
	want := Instance{
		Name: "web", Interface: "eth0", VRID: 51, Priority: 100, Version: vrrp.Version3,
		AdvertInterval: time.Second, Preempt: true, DownTimerAdverts: 3,
		MakeBeforeBreak: true, FastHandover: true, HealSplitBrain: true, StartupGrace: DefaultStartupGrace,
		Checksum: vrrp.ChecksumPseudoHeader,
		VIPs:     []VIP{{Prefix: prefix("192.0.2.100/24"), Interface: "eth0", Line: 5}},
		GARP:     GARP{Repeat: 5, Delay: 5 * time.Second, RefreshRepeat: 1},
		Line:     2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if cfg.Warnings != nil {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

// TestDefaultsMerge: an instance's own key beats defaults, which beat the built-in
// defaults; garp merges key by key.
func TestDefaultsMerge(t *testing.T) {
	const file = `
defaults:
  version: 2
  advert_interval: 2s
  preempt: false
  down_timer_adverts: 5
  garp: {repeat: 3, refresh: 30s}
scripts:
  chk: {exec: [/bin/true], interval: 3s}
instances:
  - {name: inherits, interface: eth0, vrid: 1, vips: [192.0.2.1], track: {scripts: [chk]}}
  - name: overrides
    interface: eth0
    vrid: 2
    version: 3
    advert_interval: 100ms
    preempt: true
    garp: {delay: 1s, refresh: 0s}
    vips: [192.0.2.2]
`
	cfg, err := Parse("x.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Instances[0], cfg.Instances[1]
	if a.Version != 2 || a.AdvertInterval != 2*time.Second || a.Preempt || a.DownTimerAdverts != 5 {
		t.Errorf("inherits: version %d interval %v preempt %v down %d", a.Version, a.AdvertInterval, a.Preempt, a.DownTimerAdverts)
	}
	if want := (GARP{Repeat: 3, Delay: 5 * time.Second, Refresh: 30 * time.Second, RefreshRepeat: 1}); a.GARP != want {
		t.Errorf("inherits: garp %+v, want %+v", a.GARP, want)
	}
	if b.Version != 3 || b.AdvertInterval != 100*time.Millisecond || !b.Preempt || b.DownTimerAdverts != 5 {
		t.Errorf("overrides: version %d interval %v preempt %v down %d", b.Version, b.AdvertInterval, b.Preempt, b.DownTimerAdverts)
	}
	if want := (GARP{Repeat: 3, Delay: time.Second, Refresh: 0, RefreshRepeat: 1}); b.GARP != want {
		t.Errorf("overrides: garp %+v, want %+v", b.GARP, want)
	}
	if s := cfg.Scripts[0]; s.Timeout != 3*time.Second || s.Fall != 1 || s.Rise != 1 || s.User != DefaultScriptUser {
		t.Errorf("script defaults: %+v", s)
	}
}

// minimal is the smallest valid file, which the problem cases below grow.
const minimal = `instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.100/24]
`

// TestProblems feeds one broken file per rule and expects exactly the listed problems,
// each given as the end of Problem.String after "x.yaml:" up to some prefix of it.
func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		// Values alone: types and ranges.
		{"vrid out of range", strings.Replace(minimal, "vrid: 51", "vrid: 300", 1),
			[]string{"4:11: instances[web].vrid: 300 is out of range 1..255"}},
		{"vrid zero", strings.Replace(minimal, "vrid: 51", "vrid: 0", 1),
			[]string{"4:11: instances[web].vrid: 0 is out of range 1..255"}},
		{"vrid quoted", strings.Replace(minimal, "vrid: 51", "vrid: '51'", 1),
			[]string{`4:11: instances[web].vrid: "51" is not a whole number (hint: remove the quotes)`}},
		{"vrid a list", strings.Replace(minimal, "vrid: 51", "vrid: [51]", 1),
			[]string{"4:11: instances[web].vrid: want a whole number, got a list"}},
		{"priority zero", minimal + "    priority: 0\n",
			[]string{"6:15: instances[web].priority: 0 is out of range 1..255"}},
		{"priority 256", minimal + "    priority: 256\n",
			[]string{"6:15: instances[web].priority: 256 is out of range 1..255"}},
		{"version 4", minimal + "    version: 4\n",
			[]string{"6:14: instances[web].version: VRRP version 4 does not exist"}},
		{"v2 sub-second", minimal + "    version: 2\n    advert_interval: 500ms\n",
			[]string{"7:22: instances[web].advert_interval: 500ms is under 1s: VRRPv2 advertises whole seconds (hint: use version 3 for sub-second intervals)"}},
		{"v2 fraction", minimal + "    version: 2\n    advert_interval: 1500ms\n",
			[]string{"7:22: instances[web].advert_interval: 1.5s is not a whole number of seconds, which VRRPv2 needs (hint: write 1s or 2s, or use version 3)"}},
		{"v2 too long", minimal + "    version: 2\n    advert_interval: 256s\n",
			[]string{"7:22: instances[web].advert_interval: 4m16s is out of range 1s..255s"}},
		{"v3 too short", minimal + "    advert_interval: 5ms\n",
			[]string{"6:22: instances[web].advert_interval: 5ms is out of range 10ms..40.95s"}},
		{"v3 too long", minimal + "    advert_interval: 41s\n",
			[]string{"6:22: instances[web].advert_interval: 41s is out of range 10ms..40.95s"}},
		{"v3 not 10 ms steps", minimal + "    advert_interval: 125ms\n",
			[]string{"6:22: instances[web].advert_interval: 125ms is not a multiple of 10ms, the unit of VRRPv3 (hint: write 130ms)"}},
		{"v3 40.95s", minimal + "    advert_interval: 40.95s\n", nil},
		{"v3 10ms", minimal + "    advert_interval: 10ms\n", nil},
		{"bare integer duration", minimal + "    advert_interval: 1\n",
			[]string{"6:22: instances[web].advert_interval: 1 has no unit (hint: write 1s)"}},
		{"bare float duration", minimal + "    advert_interval: 0.5\n",
			[]string{"6:22: instances[web].advert_interval: 0.5 has no unit (hint: write 500ms)"}},
		{"not a duration", minimal + "    advert_interval: fast\n",
			[]string{`6:22: instances[web].advert_interval: "fast" is not a duration`}},
		{"down_timer_adverts 0", minimal + "    down_timer_adverts: 0\n",
			[]string{"6:25: instances[web].down_timer_adverts: 0 is out of range 1..100"}},
		{"down_timer_adverts 101", minimal + "    down_timer_adverts: 101\n",
			[]string{"6:25: instances[web].down_timer_adverts: 101 is out of range 1..100"}},
		{"preempt_delay too long", minimal + "    preempt_delay: 1001s\n",
			[]string{"6:20: instances[web].preempt_delay: 16m41s is above the maximum 16m40s (hint: write 16m40s or less)"}},
		{"preempt_delay negative", minimal + "    preempt_delay: -1s\n",
			[]string{"6:20: instances[web].preempt_delay: -1s is negative"}},
		{"accept false", minimal + "    accept: false\n",
			[]string{"6:13: instances[web].accept: accept: false is not supported: a master must accept the traffic for its VIPs " +
				"that the services behind them serve (hint: remove the line: vrrpd always accepts traffic for its VIPs; " +
				"keepalived's vrrp_strict and no_accept drop it with firewall rules vrrpd does not install)"}},
		{"accept false under defaults", "defaults: {accept: false}\n" + minimal + "  - {name: db, interface: eth0, vrid: 52, vips: [192.0.2.101]}\n",
			[]string{"1:20: defaults.accept: accept: false is not supported"}},
		{"accept true", minimal + "    accept: true\n", nil},
		{"keepalived no_accept", minimal + "    no_accept: true\n",
			[]string{`6:5: instances[web].no_accept: unknown key "no_accept" (hint: remove it: vrrpd always accepts traffic for its VIPs`}},
		{"preempt yes", minimal + "    preempt: yes\n",
			[]string{`6:14: instances[web].preempt: "yes" is not true or false (hint: write true or false)`}},
		{"garp repeat 0", minimal + "    garp: {repeat: 0, refresh_repeat: 101}\n",
			[]string{
				"6:20: instances[web].garp.repeat: 0 is out of range 1..100",
				"6:39: instances[web].garp.refresh_repeat: 101 is out of range 1..100",
			}},
		{"checksum form", minimal + "    checksum: rfc\n",
			[]string{`6:15: instances[web].checksum: "rfc" is not a checksum form (hint: write pseudo-header`}},

		// Required keys and their duplicates.
		{"no instances", "node: lb1\n",
			[]string{"1:1: instances: at least one instance is required"}},
		{"empty instances", "instances: []\n",
			[]string{"1:12: instances: at least one instance is required"}},
		{"instance not a mapping", "instances:\n  - web\n",
			[]string{
				"2:3: instances: at least one instance is required",
				`2:5: instances[0]: want an instance (name: ..., interface: ...), got "web"`,
			}},
		{"missing keys", "instances:\n  - priority: 100\n",
			[]string{
				"2:5: instances[0].name: every instance needs a name",
				"2:5: instances[0].interface: every instance needs an interface",
				"2:5: instances[0].vrid: every instance needs a vrid",
				"2:5: instances[0].vips: every instance needs at least one VIP",
			}},
		{"empty vips", strings.Replace(minimal, "[192.0.2.100/24]", "[]", 1),
			[]string{"5:11: instances[web].vips: every instance needs at least one VIP"}},
		{"duplicate name", minimal + "  - {name: web, interface: eth0, vrid: 52, vips: [192.0.2.101]}\n",
			[]string{"6:12: instances[1].name: web is already the name of the instance on line 2"}},
		{"duplicate vrid", minimal + "  - {name: db, interface: eth0, vrid: 51, vips: [192.0.2.101]}\n",
			[]string{"6:39: instances[db].vrid: vrid 51 is already used on eth0 for IPv4 by instance web (line 2)"}},
		{"same vrid other interface", minimal + "  - {name: db, interface: eth1, vrid: 51, vips: [192.0.2.101]}\n", nil},
		{"same vrid other family", minimal + "  - {name: db, interface: eth0, vrid: 51, vips: ['2001:db8::1']}\n", nil},
		{"duplicate key", minimal + "    vrid: 52\n",
			[]string{"6:5: instances[web].vrid: vrid is set twice (first on line 4) (hint: remove one)"}},

		// Families and counts.
		{"mixed families", strings.Replace(minimal, "[192.0.2.100/24]", "[192.0.2.100/24, '2001:db8::1']", 1),
			[]string{"5:28: instances[web].vips[1]: 2001:db8::1 is IPv6, but this instance is IPv4 (from 192.0.2.100)"}},
		{"excluded other family", minimal + "    excluded_vips: ['2001:db8::1']\n",
			[]string{"6:21: instances[web].excluded_vips[0]: 2001:db8::1 is IPv6, but this instance is IPv4"}},
		{"v2 IPv6", strings.Replace(minimal, "[192.0.2.100/24]", "['2001:db8::1']", 1) + "    version: 2\n",
			[]string{"6:14: instances[web].version: VRRPv2 is IPv4 only; use version 3 for IPv6 VIPs such as 2001:db8::1"}},
		{"v2 IPv6 from defaults", "defaults: {version: 2}\n" + strings.Replace(minimal, "[192.0.2.100/24]", "['2001:db8::1']", 1),
			[]string{"1:21: instances[web].version: VRRPv2 is IPv4 only; use version 3 for IPv6 VIPs such as 2001:db8::1 (set under defaults)"}},
		{"90 IPv6 VIPs fit", strings.Replace(minimal, "[192.0.2.100/24]", vipList(vrrp.IPv6, 90), 1), nil},
		{"91 IPv6 VIPs", strings.Replace(minimal, "[192.0.2.100/24]", vipList(vrrp.IPv6, 91), 1),
			[]string{"5:1437: instances[web].vips[90]: 91 VIPs do not fit in one advert: VRRPv3 over IPv6 carries at most 90 in a 1500-byte packet (hint: move the rest to excluded_vips"}},
		{"256 IPv4 VIPs", strings.Replace(minimal, "[192.0.2.100/24]", vipList(vrrp.IPv4, 256), 1),
			[]string{"5:3220: instances[web].vips[255]: 256 VIPs do not fit in one advert: VRRPv3 over IPv4 carries at most 255"}},
		{"unicast peer family", minimal + "    unicast: {peers: ['2001:db8::2']}\n",
			[]string{"6:23: instances[web].unicast.peers[0]: peer 2001:db8::2 is IPv6, but the VIPs are IPv4"}},
		{"source family", minimal + "    source: 2001:db8::2\n",
			[]string{"6:13: instances[web].source: source 2001:db8::2 is IPv6, but the VIPs are IPv4"}},

		// VIPs.
		{"duplicate VIP", strings.Replace(minimal, "[192.0.2.100/24]", "[192.0.2.100/24, 192.0.2.100]", 1),
			[]string{"5:28: instances[web].vips[1]: 192.0.2.100 is listed twice (also at vips[0])"}},
		{"VIP also excluded", minimal + "    excluded_vips: [192.0.2.100/32]\n",
			[]string{"6:21: instances[web].excluded_vips[0]: 192.0.2.100 is listed twice (also at vips[0])"}},
		{"VIP in two instances", minimal + "  - {name: db, interface: eth0, vrid: 52, vips: [192.0.2.100/32]}\n",
			[]string{"6:50: instances[db].vips[0]: 192.0.2.100 on eth0 is also a VIP of instance web (line 2)"}},
		{"VIP in two instances, other interfaces", minimal + "  - {name: db, interface: eth1, vrid: 52, vips: [192.0.2.100/32]}\n", nil},
		{"VIP not an address", strings.Replace(minimal, "[192.0.2.100/24]", "[192.0.2.300]", 1),
			[]string{`5:12: instances[web].vips[0]: "192.0.2.300" is not an IP address`}},
		{"VIP bad prefix", strings.Replace(minimal, "[192.0.2.100/24]", "[192.0.2.100/33]", 1),
			[]string{`5:12: instances[web].vips[0]: "192.0.2.100/33" is not an address with a prefix length`}},
		{"VIP loopback", strings.Replace(minimal, "[192.0.2.100/24]", "[127.0.0.2]", 1),
			[]string{"5:12: instances[web].vips[0]: 127.0.0.2 is a loopback address, not one host's address"}},
		{"VIP multicast", strings.Replace(minimal, "[192.0.2.100/24]", "['ff02::12']", 1),
			[]string{"5:12: instances[web].vips[0]: ff02::12 is a multicast address"}},
		{"VIP a string", strings.Replace(minimal, "[192.0.2.100/24]", "192.0.2.100/24", 1),
			[]string{
				`5:11: instances[web].vips: want a list, got "192.0.2.100/24" (hint: write [192.0.2.100/24])`,
			}},
		{"VIP without address", strings.Replace(minimal, "[192.0.2.100/24]", "[{interface: eth1}]", 1),
			[]string{
				"5:12: instances[web].vips[0].address: a VIP needs an address",
			}},
		{"IPv6 label", strings.Replace(minimal, "[192.0.2.100/24]", "[{address: '2001:db8::1', label: 'eth0:v6'}]", 1),
			[]string{"5:44: instances[web].vips[0].label: labels exist for IPv4 addresses only"}},
		{"label without interface", strings.Replace(minimal, "[192.0.2.100/24]", "[{address: 192.0.2.100, label: 'vip'}]", 1),
			[]string{`5:42: instances[web].vips[0].label: label "vip" must begin with the interface name eth0 (hint: write eth0:vip)`}},
		{"interface with label", strings.Replace(minimal, "interface: eth0", "interface: eth0:1", 1),
			[]string{`3:16: instances[web].interface: "eth0:1" is an address label, not an interface (hint: write interface: eth0, and give the VIP a label`}},
		{"interface too long", strings.Replace(minimal, "interface: eth0", "interface: enp0s31f6-with-vlan", 1),
			[]string{`3:16: instances[web].interface: "enp0s31f6-with-vlan" is longer than 15 characters`}},
		{"source is a VIP", minimal + "    source: 192.0.2.100\n",
			[]string{"6:13: instances[web].source: 192.0.2.100 is a VIP; adverts are sent from one of the node's own addresses"}},

		// Unicast.
		{"unicast without peers", minimal + "    unicast: {source: 192.0.2.1}\n",
			[]string{"6:14: instances[web].unicast.peers: unicast needs at least one peer"}},
		{"unicast peer is source", minimal + "    unicast: {source: 192.0.2.1, peers: [192.0.2.1]}\n",
			[]string{"6:42: instances[web].unicast.peers[0]: 192.0.2.1 is this node's own unicast.source, not a peer"}},
		{"unicast peer twice", minimal + "    unicast: {peers: [192.0.2.2, 192.0.2.2]}\n",
			[]string{"6:34: instances[web].unicast.peers[1]: 192.0.2.2 is listed twice (also peers[0])"}},
		{"unicast peer is a VIP", minimal + "    unicast: {peers: [192.0.2.100]}\n",
			[]string{"6:23: instances[web].unicast.peers[0]: 192.0.2.100 is a VIP of this instance, not a peer"}},
		{"unicast source differs", minimal + "    source: 192.0.2.1\n    unicast: {source: 192.0.2.3, peers: [192.0.2.2]}\n",
			[]string{"6:13: instances[web].source: source 192.0.2.1 differs from unicast.source 192.0.2.3"}},
		{"unicast peer with prefix", minimal + "    unicast: {peers: [192.0.2.2/24]}\n",
			[]string{`6:23: instances[web].unicast.peers[0]: "192.0.2.2/24" is not an IP address (hint: write the address without a prefix length: 192.0.2.2)`}},

		// Authentication and checksum.
		{"auth with v3", minimal + "    auth: {type: pass, password: secret}\n",
			[]string{"6:11: instances[web].auth: auth is VRRPv2 only"}},
		{"auth type ah", minimal + "    version: 2\n    auth: {type: ah, password: secret}\n",
			[]string{`7:18: instances[web].auth.type: auth type "ah" is not supported`}},
		{"auth without password", minimal + "    version: 2\n    auth: {type: pass}\n",
			[]string{"7:11: instances[web].auth.password: auth needs a password"}},
		{"auth long password", minimal + "    version: 2\n    auth: {password: secret99andmore}\n",
			[]string{"7:22: warning: instances[web].auth.password: the password is 15 characters long: only the first 8 characters count, as in keepalived"}},
		{"checksum in v2", minimal + "    version: 2\n    checksum: message-only\n",
			[]string{"7:15: warning: instances[web].checksum: checksum applies to VRRPv3 over IPv4 only"}},
		{"checksum for IPv6", strings.Replace(minimal, "[192.0.2.100/24]", "['2001:db8::1']", 1) + "    checksum: pseudo-header\n",
			[]string{"6:15: warning: instances[web].checksum: checksum applies to VRRPv3 over IPv4 only"}},
		{"checksum from defaults in v2", "defaults: {checksum: message-only}\n" + minimal + "    version: 2\n", nil},

		// Tracking and scripts.
		{"unknown script", minimal + "    track: {scripts: [{name: chk_web, weight: -10}]}\n" + "scripts:\n  chk_www: {exec: [/bin/true]}\n",
			[]string{
				"6:23: instances[web].track.scripts[0]: no script chk_web under scripts: (hint: did you mean chk_www?)",
				"8:3: warning: scripts.chk_www: script chk_www is not tracked by any instance",
			}},
		{"weight out of range", minimal + "    track: {interfaces: [{name: eth1, weight: -255}]}\n",
			[]string{"6:47: instances[web].track.interfaces[0].weight: -255 is out of range -254..254"}},
		{"tracked interface empty", minimal + "    track: {interfaces: [{name: '', weight: -10}]}\n",
			[]string{"6:33: instances[web].track.interfaces[0].name: the interface name is empty"}},
		{"tracked without name", minimal + "    track: {processes: [{weight: -10}]}\n",
			[]string{"6:25: instances[web].track.processes[0].name: a tracked item needs a name"}},
		{"tracked twice", minimal + "    track: {processes: [haproxy, {name: haproxy, weight: 5}]}\nprocesses: {haproxy: {}}\n",
			[]string{"6:34: instances[web].track.processes[1]: haproxy is tracked twice (also processes[0])"}},
		{"tracked file by path", minimal + "    track: {files: [{name: /run/prio, weight: 1}]}\n",
			[]string{`6:21: instances[web].track.files[0]: no file /run/prio under files: (hint: files are tracked by name: define files: {NAME: {path: /run/prio}} and track NAME)`}},
		{"unknown process", minimal + "    track: {processes: [haproxi]}\nprocesses: {haproxy: {}}\n",
			[]string{
				"6:25: instances[web].track.processes[0]: no process haproxi under processes: (hint: did you mean haproxy?)",
				"7:13: warning: processes.haproxy: process haproxy is not tracked by any instance",
			}},
		{"unknown BFD session", minimal + "    track: {bfd: [{name: gw, weight: 0}]}\nbfd: {gateway: {neighbor: 192.0.2.1}}\n",
			[]string{
				"6:19: instances[web].track.bfd[0]: no BFD session gw under bfd:",
				"7:7: warning: bfd.gateway: BFD session gateway is not tracked by any instance",
			}},
		{"BFD session without neighbor", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {source: 192.0.2.2}}\n",
			[]string{"7:7: bfd.gw.neighbor: a BFD session needs neighbor"}},
		{"BFD link-local without interface", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 'fe80::1'}}\n",
			[]string{"7:7: bfd.gw.interface: neighbor fe80::1 is link-local: the session needs an interface"}},
		{"BFD source of another family", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.1, source: '2001:db8::2'}}\n",
			[]string{"7:41: bfd.gw.source: source 2001:db8::2 and neighbor 192.0.2.1 are not of one family"}},
		{"BFD idle_tx under a second", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.1, idle_tx: 500ms}}\n",
			[]string{"7:42: bfd.gw.idle_tx: 500ms is below the minimum 1s"}},
		{"BFD min_rx too short", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.1, min_rx: 1ms}}\n",
			[]string{"7:41: bfd.gw.min_rx: 1ms is below the minimum 10ms"}},
		{"BFD multiplier 0", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.1, multiplier: 0}}\n",
			[]string{"7:45: bfd.gw.multiplier: 0 is out of range 1..255"}},
		{"BFD unknown key", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.1, max_hops: 2}}\n",
			[]string{"7:33: bfd.gw.max_hops: unknown key"}},
		{"BFD twice to one neighbour", minimal + "    track: {bfd: [a, b]}\nbfd: {a: {neighbor: 192.0.2.1}, b: {neighbor: 192.0.2.1}}\n",
			[]string{"7:47: bfd.b.neighbor: BFD session a already runs to 192.0.2.1 on this interface"}},
		{"unknown haproxy check", minimal + "    track: {haproxy: [{name: lb, weight: -50}]}\n",
			[]string{"6:23: instances[web].track.haproxy[0]: no haproxy check lb under haproxy: (hint: define it under haproxy:)"}},
		{"file reverse", minimal + "    track: {files: [{name: drain, reverse: true}]}\nfiles: {drain: {path: /etc/vrrpd/drain}}\n",
			[]string{"6:44: instances[web].track.files[0].reverse: reverse does not apply to files"}},
		{"down_delay on a script", minimal + "    track: {scripts: [{name: chk, down_delay: 1s}]}\nscripts: {chk: {exec: [/bin/true]}}\n",
			[]string{`6:35: instances[web].track.scripts[0].down_delay: unknown key "down_delay" (hint: down_delay applies to tracked interfaces only)`}},
		{"negative up_delay", minimal + "    track: {interfaces: [{name: eth1, up_delay: -1s}]}\n",
			[]string{"6:49: instances[web].track.interfaces[0].up_delay: -1s is negative"}},
		{"unused definitions", minimal + "processes: {haproxy: {}}\nfiles: {drain: {path: /etc/vrrpd/drain}}\nhaproxy: {lb: {socket: /run/haproxy.sock, rule: 'b:app'}}\n",
			[]string{
				"6:13: warning: processes.haproxy: process haproxy is not tracked by any instance",
				"7:9: warning: files.drain: file drain is not tracked by any instance",
				"8:11: warning: haproxy.lb: haproxy check lb is not tracked by any instance",
			}},
		{"init_fail yes", minimal + "    track: {scripts: [chk]}\nscripts:\n  chk: {exec: [/bin/true], init_fail: yes}\n",
			[]string{`8:39: scripts.chk.init_fail: "yes" is not true or false`}},
		{"process max below min", minimal + "    track: {processes: [web]}\nprocesses:\n  web: {match: nginx, min: 3, max: 2}\n",
			[]string{"8:36: processes.web.max: max 2 is below min 3: the check could never pass (hint: write max: 3 or more, or 0 for no maximum)"}},
		{"process always passes", minimal + "    track: {processes: [web]}\nprocesses:\n  web: {min: 0}\n",
			[]string{"8:14: processes.web.min: min 0 without max always passes"}},
		{"process empty match", minimal + "    track: {processes: [web]}\nprocesses:\n  web: {match: '', min: -1}\n",
			[]string{
				"8:16: processes.web.match: match is empty",
				"8:25: processes.web.min: -1 is below the minimum 0",
			}},
		{"process keepalived keys", minimal + "    track: {processes: [web]}\nprocesses:\n  web: {quorum: 2, full_command: true}\n",
			[]string{
				`8:9: processes.web.quorum: unknown key "quorum" (hint: did you mean min?)`,
				`8:20: processes.web.full_command: unknown key "full_command" (hint: write cmdline: true)`,
			}},
		{"file relative path", minimal + "    track: {files: [drain]}\nfiles:\n  drain: {path: drain}\n",
			[]string{`8:17: files.drain.path: "drain" is not an absolute path`}},
		{"file without path", minimal + "    track: {files: [drain]}\nfiles:\n  drain: {}\n",
			[]string{"8:3: files.drain.path: a file needs path"}},
		{"haproxy missing keys", minimal + "    track: {haproxy: [lb]}\nhaproxy:\n  lb: {interval: 0s}\n",
			[]string{
				"8:3: haproxy.lb.socket: an haproxy check needs socket",
				"8:3: haproxy.lb.rule: an haproxy check needs rule",
				"8:18: haproxy.lb.interval: 0s is below the minimum 10ms (hint: write 10ms or more)",
			}},
		{"haproxy socket without port", minimal + "    track: {haproxy: [lb]}\nhaproxy:\n  lb: {socket: localhost, rule: 'f:www'}\n",
			[]string{`8:16: haproxy.lb.socket: "localhost" is neither an absolute path nor host:port`}},
		{"haproxy socket port 0", minimal + "    track: {haproxy: [lb]}\nhaproxy:\n  lb: {socket: '[::1]:0', rule: 'f:www'}\n",
			[]string{`8:16: haproxy.lb.socket: "[::1]:0" is not host:port with a port 1..65535`}},
		{"haproxy bad rule", minimal + "    track: {haproxy: [lb]}\nhaproxy:\n  lb: {socket: /run/haproxy.sock, rule: 'all(b:app,x:www)'}\n",
			[]string{`8:41: haproxy.lb.rule: bad haproxy rule: "x:www" is neither b:BACKEND nor f:FRONTEND (hint: write b:BACKEND`}},
		{"script without exec", minimal + "scripts:\n  chk: {interval: 1s}\n",
			[]string{
				"7:3: scripts.chk.exec: a script needs exec",
				"7:3: warning: scripts.chk: script chk is not tracked",
			}},
		{"script exec a string", minimal + "    track: {scripts: [chk]}\nscripts:\n  chk: {exec: /usr/bin/pgrep haproxy}\n",
			[]string{
				"8:15: scripts.chk.exec: a command is a list of arguments, not a string: vrrpd runs it without a shell (hint: write a list: [/usr/bin/pgrep, haproxy])",
			}},
		{"script exec shell", minimal + "    track: {scripts: [chk]}\nscripts:\n  chk: {exec: 'pgrep haproxy || exit 1'}\n",
			[]string{"8:15: scripts.chk.exec: a command is a list of arguments, not a string: vrrpd runs it without a shell (hint: for shell syntax, write [/bin/sh, -c, '...'])"}},
		{"script relative", minimal + "    track: {scripts: [chk]}\nscripts:\n  chk: {exec: [pgrep, haproxy]}\n",
			[]string{`8:16: scripts.chk.exec[0]: "pgrep" is not an absolute path (hint: write the full path (` + "`command -v pgrep`" + ` shows it)`}},
		{"script zero interval", minimal + "    track: {scripts: [chk]}\nscripts:\n  chk: {exec: [/bin/true], interval: 0s, timeout: 2, fall: 0}\n",
			[]string{
				"8:38: scripts.chk.interval: 0s is below the minimum 10ms (hint: write 10ms or more)",
				"8:51: scripts.chk.timeout: 2 has no unit (hint: write 2s)",
				"8:60: scripts.chk.fall: 0 is below the minimum 1",
			}},

		// The address owner.
		{"owner without preempt", minimal + "    priority: 255\n    preempt: false\n",
			[]string{"7:14: warning: instances[web].preempt: priority 255 ignores preempt: false"}},
		{"owner with weights", minimal + "    priority: 255\n    track: {interfaces: [{name: eth1, weight: -10}]}\n",
			[]string{"7:12: warning: instances[web].track: priority 255 ignores track weights"}},
		{"owner with fault tracking", minimal + "    priority: 255\n    track: {interfaces: [eth1]}\n", nil},

		// Notify.
		{"notify a string", minimal + "    notify: {master: /usr/local/bin/on-master}\n",
			[]string{"6:22: instances[web].notify.master: a command is a list of arguments, not a string: vrrpd runs it without a shell (hint: write a list: [/usr/local/bin/on-master])"}},
		{"notify relative", minimal + "    notify: {any: [notify.sh, web]}\n",
			[]string{`6:20: instances[web].notify.any[0]: "notify.sh" is not an absolute path`}},
		{"garp short delay", minimal + "    garp: {delay: 500ms}\n",
			[]string{"6:19: warning: instances[web].garp.delay: 500ms is under 1s: Linux neighbours ignore ARP updates within 1 s"}},

		// Unknown keys.
		{"misspelt key", minimal + "    advert_intervl: 1s\n",
			[]string{`6:5: instances[web].advert_intervl: unknown key "advert_intervl" (hint: did you mean advert_interval?)`}},
		{"swapped letters", strings.Replace(minimal, "vrid: 51", "vird: 51", 1),
			[]string{
				"2:5: instances[web].vrid: every instance needs a vrid",
				`4:5: instances[web].vird: unknown key "vird" (hint: did you mean vrid?)`,
			}},
		{"keepalived key", minimal + "    advert_int: 1\n",
			[]string{`6:5: instances[web].advert_int: unknown key "advert_int" (hint: write advert_interval, with a unit: 1s)`}},
		{"keepalived nopreempt", minimal + "    nopreempt: true\n",
			[]string{`6:5: instances[web].nopreempt: unknown key "nopreempt" (hint: write preempt: false)`}},
		{"instance key under defaults", "defaults: {priority: 150}\n" + minimal,
			[]string{`1:12: defaults.priority: unknown key "priority" (hint: priority is set in each instance, not under defaults)`}},
		{"unknown top-level key", "global_defs: {}\n" + minimal,
			[]string{`1:1: global_defs: unknown key "global_defs" (hint: known keys: node, socket, socket_group, state_file, script_user, realtime_priority, lock_memory, metrics, defaults, scripts, processes, files, haproxy, bfd, instances, sync_groups, bgp)`}},
		{"realtime priority out of range", "realtime_priority: 100\n" + minimal,
			[]string{"1:20: realtime_priority: 100 is out of range 0..99"}},
		{"realtime priority not a number", "realtime_priority: high\n" + minimal,
			[]string{`1:20: realtime_priority: "high" is not a whole number`}},
		{"lock_memory not a boolean", "lock_memory: yes\n" + minimal,
			[]string{`1:14: lock_memory: "yes" is not true or false (hint: write true or false)`}},
		{"keepalived vrrp_rt_priority", "vrrp_rt_priority: 50\n" + minimal,
			[]string{`1:1: vrrp_rt_priority: unknown key "vrrp_rt_priority" (hint: write realtime_priority: N at the top level)`}},
		{"keepalived block", "vrrp_track_process: {}\n" + minimal,
			[]string{`1:1: vrrp_track_process: unknown key "vrrp_track_process" (hint: write processes: {NAME: {match: haproxy}})`}},
		{"unknown garp key", minimal + "    garp: {repeats: 3}\n",
			[]string{`6:12: instances[web].garp.repeats: unknown key "repeats" (hint: did you mean repeat?)`}},
		{"merge key", "x: &base {vrid: 1}\n" + minimal,
			[]string{`1:1: x: unknown key "x"`}},

		// The file as a whole.
		{"empty file", "", []string{"1: the file is empty"}},
		{"comments only", "# nothing\n", []string{"1: the file is empty"}},
		{"tab indentation", "instances:\n\t- name: web\n",
			[]string{"2: YAML syntax: found character that cannot start any token (hint: line 2 is indented with a tab; YAML indents with spaces)"}},
		{"syntax error", "instances: [\n", []string{"1: YAML syntax: did not find expected node content"}},
		{"two documents", minimal + "---\nnode: lb2\n", []string{"6:1: a second YAML document (hint: vrrpd reads one document per file: remove the ---)"}},
		{"not a mapping", "- web\n", []string{
			"1:1: want keys and values, got a list",
			"1:1: instances: at least one instance is required",
		}},
		{"metrics", "metrics: {listen: 127.0.0.1:9650}\n" + minimal, nil},
		{"metrics on every address", "metrics: {listen: ':9650', path: /m}\n" + minimal, nil},
		{"metrics without listen", "metrics: {path: /metrics}\n" + minimal,
			[]string{"1:1: metrics.listen: metrics needs listen, the address to serve them on (hint: write listen: 127.0.0.1:9650, or remove metrics to leave them off)"}},
		{"metrics empty", "metrics:\n" + minimal,
			[]string{"1:1: metrics.listen: metrics needs listen, the address to serve them on (hint: write listen: 127.0.0.1:9650, or remove metrics to leave them off)"}},
		{"metrics listen without port", "metrics: {listen: 127.0.0.1}\n" + minimal,
			[]string{`1:19: metrics.listen: "127.0.0.1" is not host:port (hint: write an address and a port: 127.0.0.1:9650, [::1]:9650, or :9650 for every address)`}},
		{"metrics listen bad port", "metrics: {listen: '127.0.0.1:99999'}\n" + minimal,
			[]string{`1:19: metrics.listen: "127.0.0.1:99999": the port "99999" is not 1..65535 (hint: write an address and a port: 127.0.0.1:9650, [::1]:9650, or :9650 for every address)`}},
		{"metrics listen host name", "metrics: {listen: 'localhost:9650'}\n" + minimal,
			[]string{`1:19: metrics.listen: "localhost:9650": "localhost" is not an IP address (hint: write an address and a port: 127.0.0.1:9650, [::1]:9650, or :9650 for every address)`}},
		{"metrics bad path", "metrics: {listen: ':9650', path: metrics}\n" + minimal,
			[]string{`1:34: metrics.path: "metrics" is not a URL path (hint: write a URL path such as /metrics)`}},
		{"metrics unknown key", "metrics: {listen: ':9650', port: 9650}\n" + minimal,
			[]string{`1:28: metrics.port: unknown key "port" (hint: known keys: listen, path)`}},
		{"relative socket", "socket: vrrpd.sock\n" + minimal,
			[]string{`1:9: socket: "vrrpd.sock" is not an absolute path`}},
		{"empty socket group", "socket_group: ''\n" + minimal,
			[]string{`1:15: socket_group: the name is empty`}},
		{"node with space", "node: lb 1\n" + minimal,
			[]string{`1:7: node: "lb 1" contains white space or control characters`}},
		{"alias", "defaults: {garp: &g {repeat: 2}}\n" + minimal + "    garp: *g\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tt.file))
			var got Problems
			switch {
			case err == nil:
				got = cfg.Warnings
			case !errors.As(err, &got):
				t.Fatalf("error %v (%T) is not Problems", err, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tt.want), got.Error())
			}
			for i, p := range got {
				if s := p.String(); !strings.HasPrefix(s, "x.yaml:"+tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant x.yaml:%s...", i, s, tt.want[i])
				}
			}
		})
	}
}

// vipList returns a flow list of n VIPs, documentation addresses all: IPv6 from
// 2001:db8::1 up, IPv4 from 192.0.2.1 on into 198.51.100.0/24 and 203.0.113.0/24.
func vipList(family vrrp.Family, n int) string {
	vips := make([]string, n)
	for i := range vips {
		switch {
		case family == vrrp.IPv6:
			vips[i] = fmt.Sprintf("'2001:db8::%x'", i+1)
		case i < 254:
			vips[i] = fmt.Sprintf("192.0.2.%d", i+1)
		case i < 508:
			vips[i] = fmt.Sprintf("198.51.100.%d", i-253)
		default:
			vips[i] = fmt.Sprintf("203.0.113.%d", i-507)
		}
	}
	return "[" + strings.Join(vips, ", ") + "]"
}

// TestFiveMistakes: every mistake of a file is reported in one pass, in line order.
func TestFiveMistakes(t *testing.T) {
	_, err := Load("testdata/five-mistakes.yaml")
	var problems Problems
	if !errors.As(err, &problems) {
		t.Fatalf("got %v, want Problems", err)
	}
	want := []struct {
		line int
		text string
	}{
		{3, "did you mean advert_interval?"},
		{7, "300 is out of range 1..255"},
		{9, "5 has no unit (hint: write 5s)"},
		{12, "2001:db8::100 is IPv6, but this instance is IPv4"},
		{14, "no script chk_haproxi under scripts: (hint: did you mean chk_haproxy?)"},
	}
	var errs Problems
	for _, p := range problems {
		if !p.Warning {
			errs = append(errs, p)
		}
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), problems)
	}
	for i, w := range want {
		if errs[i].Line != w.line || !strings.Contains(errs[i].String(), w.text) {
			t.Errorf("error %d: got %s, want line %d with %q", i, errs[i], w.line, w.text)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(problems) || !strings.HasPrefix(lines[0], "testdata/five-mistakes.yaml:3:3: ") {
		t.Errorf("Error() =\n%s", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}

// TestProblemsError: Load returns *Problems, which errors.As also hands out as Problems.
func TestProblemsError(t *testing.T) {
	_, err := Parse("x.yaml", []byte("instances: []\n"))
	var ptr *Problems
	if !errors.As(err, &ptr) || len(*ptr) != 1 {
		t.Fatalf("errors.As *Problems: %v", err)
	}
	var val Problems
	if !errors.As(err, &val) || len(val) != 1 {
		t.Fatalf("errors.As Problems: %v", err)
	}
	if !val.HasErrors() {
		t.Error("HasErrors() = false")
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "vrrpd.yaml", Line: 12, Column: 5, Path: "instances[web].vrid", Message: "300 is out of range 1..255", Hint: "pick 1..255"},
			"vrrpd.yaml:12:5: instances[web].vrid: 300 is out of range 1..255 (hint: pick 1..255)"},
		{Problem{File: "vrrpd.yaml", Line: 3, Path: "x", Message: "m", Warning: true},
			"vrrpd.yaml:3: warning: x: m"},
		{Problem{Message: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	ps := Problems{{File: "f", Line: 9, Message: "b"}, {File: "f", Line: 2, Message: "a"}}
	if got, want := ps.Error(), "f:2: a\nf:9: b"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"vrid", "vrid", 0},
		{"vird", "vrid", 1},
		{"advert_intervl", "advert_interval", 1},
		{"priorty", "priority", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got := closest("zzz", instanceKeys); got != "" {
		t.Errorf("closest(zzz) = %q, want none", got)
	}
}
