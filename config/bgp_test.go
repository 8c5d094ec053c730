package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bgpFile is a node that only announces routes: no instances.
const bgpFile = `node: n1
processes:
  haproxy: {match: haproxy}
haproxy:
  lb: {socket: /run/haproxy/admin.sock, rule: "all(b:be_static,b:be_app)"}
bgp:
  asn: 65010
  router_id: 192.0.2.11
  hold_time: 6s
  drain: 1s
  peers:
    - {address: 192.0.2.1, asn: 65000, port: 1179, bfd: {interval: 100ms, multiplier: 5}}
    - {address: "2001:db8::1", asn: 65000, bfd: {}}
  routes:
    - name: web
      prefixes: [198.51.100.10, "2001:db8:100::10/128"]
      address: {interface: lo}
      when: all(haproxy:lb/b:be_app, processes:haproxy)
      up_delay: 2s
      on_failure: {med: 1000, prepend: 2}
      communities: ["65010:100"]
    - name: api
      prefixes: [203.0.113.0/24]
`

func TestParseBGP(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(bgpFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) > 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	want := &BGP{
		ASN: 65010, RouterID: addr("192.0.2.11"), HoldTime: 6 * time.Second, Drain: time.Second, Line: 7,
		Peers: []BGPPeer{
			{Address: addr("192.0.2.1"), ASN: 65000, Port: 1179, BFD: &BFD{Interval: 100 * time.Millisecond, Multiplier: 5}, Line: 12},
			{Address: addr("2001:db8::1"), ASN: 65000, Port: 179, BFD: &BFD{Interval: 300 * time.Millisecond, Multiplier: 3}, Line: 13},
		},
		Routes: []Route{
			{
				Name: "web", Prefixes: []netip.Prefix{prefix("198.51.100.10/32"), prefix("2001:db8:100::10/128")},
				AddressInterface: "lo",
				When: Condition{Items: []ConditionItem{
					{Section: "haproxy", Name: "lb", Object: &HAProxyObject{Name: "be_app"}},
					{Section: "processes", Name: "haproxy"},
				}},
				UpDelay: 2 * time.Second, OnFailure: OnFailure{MED: 1000, Prepend: 2},
				Communities: []uint32{65010<<16 | 100}, Line: 15,
			},
			{Name: "api", Prefixes: []netip.Prefix{prefix("203.0.113.0/24")}, OnFailure: OnFailure{Withdraw: true}, Line: 22},
		},
	}
	if !reflect.DeepEqual(cfg.BGP, want) {
		t.Errorf("BGP =\n%+v\nwant\n%+v", cfg.BGP, want)
	}
	if s := cfg.BGP.Routes[0].When.String(); s != "all(haproxy:lb/b:be_app, processes:haproxy)" {
		t.Errorf("When.String() = %q", s)
	}
}

func TestParseCondition(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "processes:haproxy", want: "processes:haproxy"},
		{in: " any( scripts:a , interfaces:eth1,files:m ) ", want: "any(scripts:a, interfaces:eth1, files:m)"},
		{in: "all(haproxy:lb/f:www)", want: "haproxy:lb/f:www"},
		{in: "haproxy", err: "has no section"},
		{in: "process:haproxy", err: `did you mean processes?`},
		{in: "all(processes:a", err: "not closed"},
		{in: "some(processes:a)", err: "not an operator"},
		{in: "all(any(processes:a))", err: "do not nest"},
		{in: "all(processes:a, processes:a)", err: "listed twice"},
		{in: "processes:a/b:x", err: "only haproxy items"},
		{in: "haproxy:lb/x:y", err: "neither b:BACKEND"},
		{in: "processes:", err: "has no name"},
		{in: "all(processes:a,)", err: "item is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseCondition(tt.in)
			if tt.err != "" {
				if err == nil || !errors.Is(err, ErrCondition) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tt.want {
				t.Errorf("got %q, want %q", c.String(), tt.want)
			}
		})
	}
}

// TestBGPProblems: every problem at once, each at its line.
func TestBGPProblems(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.key")
	good := filepath.Join(dir, "r1.key")
	os.WriteFile(empty, []byte("\n"), 0o600)
	os.WriteFile(good, []byte("s3cret\n"), 0o600)
	const head = "haproxy:\n  lb: {socket: /run/haproxy/admin.sock, rule: b:be_app}\ninstances:\n  - {name: v1, interface: eth0, vrid: 1, vips: [198.51.100.20]}\n"
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"missing keys", "bgp: {}\n", []string{
			"1:6: bgp.asn: bgp needs asn", "1:6: bgp.router_id: bgp needs router_id",
			"1:6: bgp.peers: bgp needs at least one peer", "1:6: bgp.routes: bgp needs at least one route"}},
		{"bad values", head + `bgp:
  asn: 23456
  router_id: "2001:db8::1"
  hold_time: 2s
  drain: 11s
  peers:
    - {address: 192.0.2.1, asn: 0, password_file: ` + empty + `, bfd: {multiplier: 0}}
    - {address: 192.0.2.1, asn: 65000, password_file: relative.key, colour: red}
  routes:
    - name: web
      prefixes: [198.51.100.10/24, "2001:db8::10"]
      when: all(haproxy:lb/b:be_static, processes:nginx)
      on_failure: drop
      communities: ["65536:1"]
      only_when_master: v2
    - name: web
      prefixes: [198.51.100.20]
      address: {interface: lo}
      on_failure: {}
`, []string{
			"6:8: bgp.asn: 23456 is AS_TRANS",
			`7:14: bgp.router_id: "2001:db8::1" is not an IPv4 address`,
			"8:14: bgp.hold_time: 2s is below the minimum 3s",
			"9:10: bgp.drain: 11s is above the maximum 10s",
			"11:33: bgp.peers[0].asn: 0 is out of range",
			"11:51: bgp.peers[0].password_file: " + empty + " is empty",
			"11:" + itoa(71+len(empty)) + ": bgp.peers[0].bfd.multiplier: 0 is out of range 1..255",
			"12:17: bgp.peers[1].address: 192.0.2.1 is already bgp.peers[0]",
			`12:55: bgp.peers[1].password_file: "relative.key" is not an absolute path`,
			`12:69: bgp.peers[1].colour: unknown key "colour"`,
			"15:18: bgp.routes[0].prefixes[0]: 198.51.100.10/24 has host bits set",
			"15:36: bgp.routes[0].prefixes[1]: no peer could carry 2001:db8::10/128",
			"16:13: bgp.routes[0].when: haproxy:lb/b:be_static: b:be_static is not in the rule of haproxy check lb",
			"16:13: bgp.routes[0].when: processes:nginx: no process nginx under processes:",
			"17:19: bgp.routes[0].on_failure: \"drop\" is neither withdraw nor a mapping",
			`18:21: bgp.routes[0].communities[0]: "65536:1" is not a community`,
			"19:25: bgp.routes[0].only_when_master: no instance v2",
			"20:13: bgp.routes[1].name: web is already the name of bgp.routes[0]",
			"21:18: bgp.routes[1].prefixes[0]: 198.51.100.20 is also a VIP of instance v1",
			"23:19: bgp.routes[1].on_failure: on_failure needs med or prepend",
		}},
		{"password read", "bgp:\n  asn: 1\n  router_id: 192.0.2.1\n  peers: [{address: 192.0.2.2, asn: 2, password_file: " + good + "}]\n  routes: [{name: r, prefixes: [192.0.2.10]}]\n", nil},
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
			if err == nil && cfg.BGP.Peers[0].Password != "s3cret" {
				t.Errorf("password %q, want s3cret without its newline", cfg.BGP.Peers[0].Password)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
