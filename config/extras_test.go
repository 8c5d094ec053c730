package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// one is an instance of the tests below; extra is appended to it, indented.
func one(extra string) string {
	return "instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    vips: [192.0.2.100/24, {address: 198.51.100.100/24, interface: eth1}]\n" + extra
}

func TestInstanceKeywordsLoad(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(one(`    source: 192.0.2.1
    group: 224.0.0.118
    track_interface: false
    track_source: true
    promote_secondaries: true
    garp: {refresh_other_interfaces: 100s}
    notify:
      master_rx_lower_pri: [/usr/local/bin/reassert, web]
      priority: [/usr/local/bin/prio]
      deleted: [/usr/local/bin/gone]
    vmac: {name: vrrp.web, xmit_base: true}
    routes:
      - {to: 203.0.113.0/24, via: 192.0.2.254, interface: eth0, source: 192.0.2.100, table: 100, metric: 10, scope: link, onlink: true}
      - {to: default, via: 192.0.2.254, table: main}
      - {to: 198.51.100.128/25, type: blackhole}
    rules:
      - {from: 192.0.2.100/32, table: 100, priority: 100, iif: eth0, fwmark: 0x10/0xff, invert: true}
      - {to: '2001:db8::/64', action: prohibit}
`)))
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instances[0]
	if in.Group != netip.MustParseAddr("224.0.0.118") || !in.IgnoreLink || !in.TrackSource || !in.PromoteSecondaries ||
		in.GARP.RefreshOtherInterfaces.String() != "1m40s" {
		t.Fatalf("instance %+v", in)
	}
	n := in.Notify
	if !slices.Equal(n.MasterRxLowerPri, []string{"/usr/local/bin/reassert", "web"}) || len(n.Priority) != 1 || !n.Deleted ||
		!slices.Equal(n.DeletedHook, []string{"/usr/local/bin/gone"}) {
		t.Fatalf("notify %+v", n)
	}
	if v := in.VMAC; v == nil || v.Name != "vrrp.web" || !v.XmitBase || v.Kind != VMACMacvlan {
		t.Fatalf("vmac %+v", v)
	}
	want := []VirtualRoute{
		{To: netip.MustParsePrefix("203.0.113.0/24"), Via: netip.MustParseAddr("192.0.2.254"), Interface: "eth0",
			Source: netip.MustParseAddr("192.0.2.100"), Table: 100, Metric: 10, Scope: "link", OnLink: true},
		{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("192.0.2.254"), Table: 254},
		{To: netip.MustParsePrefix("198.51.100.128/25"), Type: "blackhole"},
	}
	for i := range want {
		want[i].Line = in.Routes[i].Line
	}
	if !slices.Equal(in.Routes, want) {
		t.Fatalf("routes\n got %+v\nwant %+v", in.Routes, want)
	}
	r := in.Rules
	if len(r) != 2 || r[0].From != netip.MustParsePrefix("192.0.2.100/32") || r[0].Table != 100 || r[0].Priority != 100 ||
		r[0].IIF != "eth0" || !r[0].HasMark || r[0].Mark != 0x10 || r[0].Mask != 0xff || !r[0].Invert || r[0].IPv6 {
		t.Fatalf("rule 0 %+v", r[0])
	}
	if !r[1].IPv6 || r[1].Action != "prohibit" || r[1].Table != 0 {
		t.Fatalf("rule 1 %+v", r[1])
	}
}

func TestInstanceKeywordDefaults(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(one("    vmac: true\n    notify: {deleted: true}\n")))
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instances[0]
	if in.IgnoreLink || in.TrackSource || in.PromoteSecondaries || in.Group.IsValid() || len(in.Routes)+len(in.Rules) != 0 {
		t.Fatalf("instance %+v", in)
	}
	if in.VMAC == nil || in.VMAC.Name != "vrrp.51" || in.VMAC.XmitBase || in.VMAC.Kind != VMACMacvlan {
		t.Fatalf("vmac %+v", in.VMAC)
	}
	if !in.Notify.Deleted || in.Notify.DeletedHook != nil {
		t.Fatalf("notify %+v", in.Notify)
	}
	six, err := Parse("x.yaml", []byte("instances:\n  - {name: w6, interface: eth0, vrid: 52, vips: ['2001:db8::1'], vmac: true}\n"))
	if err != nil || six.Instances[0].VMAC.Name != "vrrp6.52" {
		t.Fatalf("IPv6 default name: %+v, %v", six.Instances[0].VMAC, err)
	}
}

func TestInstanceKeywordProblems(t *testing.T) {
	tests := []struct {
		name, extra string
		want        string // the start of the one problem, after "x.yaml:"
	}{
		{"group not multicast", "    group: 192.0.2.9\n", "6:12: instances[web].group: 192.0.2.9 is not a multicast address"},
		{"group IPv6 not link-local", "    group: 'ff05::12'\n", "6:12: instances[web].group: ff05::12 is not a link-local group"},
		{"group of another family", "    group: 'ff02::118'\n", "6:12: instances[web].group: group ff02::118 is IPv6, but the VIPs are IPv4"},
		{"group with unicast", "    group: 224.0.0.118\n    unicast: {source: 192.0.2.1, peers: [192.0.2.2]}\n",
			"6:12: instances[web].group: group is the multicast destination"},
		{"track_source without source", "    track_source: true\n", "6:19: instances[web].track_source: track_source needs a source address"},
		{"unicast without peers", "    unicast: {source: 192.0.2.1, peers: []}\n",
			"6:41: warning: instances[web].unicast.peers: unicast without peers: the instance stays in FAULT"},
		{"unicast peers missing", "    unicast: {source: 192.0.2.1}\n", "6:14: instances[web].unicast.peers: unicast needs at least one peer"},
		{"refresh other interfaces too short", "    garp: {refresh_other_interfaces: 100ms}\n",
			"6:38: instances[web].garp.refresh_other_interfaces: 100ms is below the minimum 1s"},
		{"deleted a string", "    notify: {deleted: gone.sh}\n", "6:23: instances[web].notify.deleted: a command is a list of arguments"},
		{"route without to", "    routes: [{via: 192.0.2.254}]\n", "6:14: instances[web].routes[0].to: a route needs to"},
		{"route nowhere", "    routes: [{to: 203.0.113.0/24}]\n", "6:14: instances[web].routes[0]: a route needs via or interface"},
		{"route blackhole via", "    routes: [{to: 203.0.113.0/24, type: blackhole, via: 192.0.2.254}]\n",
			"6:41: instances[web].routes[0].type: a blackhole route goes nowhere"},
		{"route host bits", "    routes: [{to: 203.0.113.1/24, via: 192.0.2.254}]\n", "6:19: instances[web].routes[0].to: 203.0.113.1/24 has host bits set"},
		{"route families", "    routes: [{to: 203.0.113.0/24, via: '2001:db8::1'}]\n",
			"6:40: instances[web].routes[0].via: 2001:db8::1 is not of the family of 203.0.113.0/24"},
		{"route table name", "    routes: [{to: default, via: 192.0.2.254, table: dmz}]\n", `6:53: instances[web].routes[0].table: "dmz" is not a routing table`},
		{"route unknown key", "    routes: [{to: default, via: 192.0.2.254, mtu: 1400}]\n", `6:46: instances[web].routes[0].mtu: unknown key "mtu"`},
		{"rule without table", "    rules: [{from: 192.0.2.0/24}]\n", "6:13: instances[web].rules[0].table: a rule needs a table"},
		{"rule action and table", "    rules: [{from: 192.0.2.0/24, action: prohibit, table: 100}]\n",
			"6:59: instances[web].rules[0].table: a prohibit rule looks up no table"},
		{"rule bad mark", "    rules: [{table: 100, fwmark: nope}]\n", `6:34: instances[web].rules[0].fwmark: "nope" is not a firewall mark`},
		{"vmac is the interface", "    vmac: {name: eth0}\n", "6:18: instances[web].vmac.name: eth0 is the instance's own interface"},
		{"vmac unicast without xmit_base", "    vmac: true\n    unicast: {source: 192.0.2.1, peers: [192.0.2.2]}\n",
			"6:11: instances[web].vmac.xmit_base: a unicast instance sends its adverts from its own interface"},
		{"vmac bad kind", "    vmac: {kind: vlan}\n", `6:18: instances[web].vmac.kind: "vlan" is not one of macvlan, ipvlan`},
		{"vmac twice", "    vmac: true\n  - {name: api, interface: eth0, vrid: 51, vips: ['2001:db8::1'], vmac: {name: vrrp.51}}\n",
			"7:80: instances[api].vmac.name: vrrp.51 is already the virtual MAC interface of instance web"},
		{"keepalived's use_vmac", "    use_vmac: true\n", `6:5: instances[web].use_vmac: unknown key "use_vmac" (hint: write vmac: true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(one(tt.extra)))
			var got []string
			if p, ok := err.(*Problems); ok {
				for _, pr := range *p {
					got = append(got, pr.String())
				}
			} else if err == nil {
				for _, pr := range cfg.Warnings {
					got = append(got, pr.String())
				}
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], "x.yaml:"+tt.want) {
				t.Fatalf("got:\n%s\nwant one: x.yaml:%s...", strings.Join(got, "\n"), tt.want)
			}
		})
	}
}
