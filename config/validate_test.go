package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHost is a machine with fixed interfaces and addresses.
type fakeHost map[string][]netip.Addr

func (h fakeHost) Addrs(ifname string) ([]netip.Addr, error) {
	if ifname == "broken0" {
		return nil, errors.New("netlink: permission denied")
	}
	addrs, ok := h[ifname]
	if !ok {
		return nil, fmt.Errorf("link %s: %w", ifname, ErrNoInterface)
	}
	return addrs, nil
}

// LookupGroup knows the groups vrrpd and ops; "broken" cannot be read.
func (h fakeHost) LookupGroup(name string) error {
	switch name {
	case "vrrpd", "ops":
		return nil
	case "broken":
		return errors.New("open /etc/group: permission denied")
	}
	return fmt.Errorf("group %s: %w", name, ErrNoGroup)
}

// BGPSpeaker is installed unless the host has an interface named "no-vrrpd-bgp".
func (h fakeHost) BGPSpeaker() error {
	if _, ok := h["no-vrrpd-bgp"]; ok {
		return errors.New("the BGP speaker vrrpd-bgp is in none of [/usr/sbin /usr/libexec/vrrpd]")
	}
	return nil
}

// bgpRoute is a bgp section whose route puts its address on ifname.
func bgpRoute(ifname string) string {
	return `bgp:
  asn: 65010
  router_id: 192.0.2.1
  peers: [{address: 192.0.2.254, asn: 65000}]
  routes:
    - name: web
      prefixes: [198.51.100.10/32]
      address: {interface: ` + ifname + `}
`
}

func TestCheck(t *testing.T) {
	host := fakeHost{
		"eth0": {addr("192.0.2.1"), addr("fe80::1")},
		"eth1": {addr("198.51.100.1")},
	}
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"clean", minimal + "    source: 192.0.2.1\n    track: {interfaces: [eth1]}\n", nil},
		{"no interface", strings.Replace(minimal, "eth0", "eth9", 1),
			[]string{"3:16: instances[web].interface: interface eth9 does not exist on this node"}},
		{"VIP interface missing", strings.Replace(minimal, "[192.0.2.100/24]", "[{address: 192.0.2.100, interface: eth9}]", 1),
			[]string{"5:46: instances[web].vips[0].interface: interface eth9 does not exist on this node"}},
		{"interface unreadable", strings.Replace(minimal, "eth0", "broken0", 1),
			[]string{"3:16: instances[web].interface: cannot read the addresses of broken0: netlink: permission denied"}},
		{"VIP is a node address", strings.Replace(minimal, "[192.0.2.100/24]", "[192.0.2.100/24, 192.0.2.1/24]", 1),
			[]string{"5:28: instances[web].vips[1]: 192.0.2.1 is an address of this node on eth0, not a VIP; vrrpd never removes a node's own address"}},
		{"excluded VIP on another interface is a node address", minimal + "    excluded_vips: [{address: 198.51.100.1/24, interface: eth1}]\n",
			[]string{"6:31: instances[web].excluded_vips[0]: 198.51.100.1 is an address of this node on eth1, not a VIP"}},
		{"peer is a node address on another interface", minimal + "    unicast: {source: 192.0.2.1, peers: [198.51.100.1]}\n    track: {interfaces: [eth1]}\n",
			[]string{"6:42: instances[web].unicast.peers[0]: 198.51.100.1 is an address of this node on eth1; a unicast peer is another node"}},
		{"peer is a node address on the interface", minimal + "    unicast: {peers: [192.0.2.1]}\n",
			[]string{"6:23: instances[web].unicast.peers[0]: 192.0.2.1 is an address of this node on eth0; a unicast peer is another node"}},
		{"source not a node address", minimal + "    source: 192.0.2.9\n",
			[]string{"6:13: instances[web].source: 192.0.2.9 is not an address of this node on eth0; adverts are sent from the node's own address (hint: use one of eth0's addresses: 192.0.2.1, fe80::1, or omit it)"}},
		{"unicast source not a node address", minimal + "    unicast: {source: 192.0.2.9, peers: [192.0.2.2]}\n",
			[]string{"6:23: instances[web].unicast.source: 192.0.2.9 is not an address of this node on eth0"}},
		{"tracked interface missing", minimal + "    track: {interfaces: [{name: eth7, weight: -10}]}\n",
			[]string{"6:26: warning: instances[web].track.interfaces[0]: tracked interface eth7 does not exist on this node"}},
		{"socket group exists", "socket_group: ops\n" + minimal, nil},
		{"socket group missing", "socket_group: operators\n" + minimal,
			[]string{"1:15: socket_group: group operators does not exist on this node (hint: create it (groupadd --system operators), or remove socket_group)"}},
		{"socket group unreadable", "socket_group: broken\n" + minimal,
			[]string{"1:15: socket_group: cannot look up group broken: open /etc/group: permission denied"}},
		{"default socket group need not exist", minimal, nil},
		{"route address interface", minimal + bgpRoute("eth1"), nil},
		{"route address interface missing", minimal + bgpRoute("lo9"),
			[]string{"13:28: bgp.routes[0].address.interface: interface lo9 does not exist on this node"}},
		{"route address is a node address", strings.Replace(minimal+bgpRoute("eth1"), "198.51.100.10/32", "198.51.100.1/32", 1),
			[]string{"12:18: bgp.routes[0].prefixes[0]: 198.51.100.1 is an address of this node on eth1; the route would remove it after its withdraw (hint: remove it from eth1 and let the route add it, or omit address)"}},
		{"BFD session on its interface", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.254, source: 192.0.2.1, interface: eth0}}\n", nil},
		{"BFD interface missing", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.254, interface: eth9}}\n",
			[]string{"7:46: bfd.gw.interface: interface eth9 does not exist on this node"}},
		{"BFD source not on its interface", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.254, source: 192.0.2.9, interface: eth0}}\n",
			[]string{"7:43: bfd.gw.source: 192.0.2.9 is not an address of this node on eth0"}},
		{"BFD neighbour is this node", minimal + "    track: {bfd: [gw]}\nbfd: {gw: {neighbor: 192.0.2.1, interface: eth0}}\n",
			[]string{"7:22: bfd.gw.neighbor: 192.0.2.1 is an address of this node on eth0; a BFD neighbour is another node"}},
		{"each missing interface once", strings.Replace(minimal, "eth0", "eth9", 1) + "  - {name: db, interface: eth9, vrid: 52, vips: [192.0.2.101]}\n",
			[]string{"3:16: instances[web].interface: interface eth9 does not exist on this node"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := Check(cfg, host)
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

// TestCheckBGPSpeaker: a bgp section on a node without vrrpd-bgp is refused at the
// section, since vrrpd could not announce its routes.
func TestCheckBGPSpeaker(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(minimal+bgpRoute("eth1")))
	if err != nil {
		t.Fatal(err)
	}
	host := fakeHost{"eth0": {addr("192.0.2.1")}, "eth1": {addr("198.51.100.1")}, "no-vrrpd-bgp": nil}
	got := Check(cfg, host)
	want := "x.yaml:7:3: bgp: the BGP speaker vrrpd-bgp is in none of [/usr/sbin /usr/libexec/vrrpd] (hint: vrrpd's package installs it"
	if len(got) != 1 || !strings.HasPrefix(got[0].String(), want) {
		t.Fatalf("got %v, want %s...", got, want)
	}
	cfg, err = Parse("x.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if got := Check(cfg, host); len(got) != 0 {
		t.Errorf("without a bgp section: %v", got)
	}
}

// TestCheckExamples: the examples pass Check on a machine that has their addresses.
func TestCheckExamples(t *testing.T) {
	host := fakeHost{"eth0": {addr("192.0.2.11"), addr("fe80::11")}, "eth1": {addr("198.51.100.11")}}
	cfg, err := Load("../deploy/examples/unicast/lb1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if problems := Check(cfg, host); len(problems) > 0 {
		t.Errorf("Check:\n%v", problems.Error())
	}
}

// TestExamples loads every example configuration: each must be valid and free of
// warnings, since users copy them.
func TestExamples(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../deploy/examples/*.yaml", "../deploy/examples/*/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("found %d examples, want at least 5: %v", len(files), files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Warnings != nil {
				t.Errorf("warnings:\n%v", cfg.Warnings.Error())
			}
		})
	}
}

// TestTrackersGuide loads the two nodes of docs/trackers.md: each must be valid and
// free of warnings, since users copy them.
func TestTrackersGuide(t *testing.T) {
	data, err := os.ReadFile("../docs/trackers.md")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, block := range strings.Split(string(data), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		name, ok := strings.CutPrefix(strings.SplitN(block, "\n", 2)[0], "# ")
		if !ok || !strings.HasSuffix(name, ".yaml") {
			continue // a fragment, not a whole file
		}
		found++
		cfg, err := Parse(name, []byte(block))
		if err != nil {
			t.Errorf("%s:\n%v", name, err)
			continue
		}
		if cfg.Warnings != nil {
			t.Errorf("%s: warnings:\n%v", name, cfg.Warnings.Error())
		}
	}
	if found != 2 {
		t.Errorf("found %d whole files in docs/trackers.md, want 2", found)
	}
}
