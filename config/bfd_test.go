package config

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestBFDSessions(t *testing.T) {
	file := `node: n1
bfd:
  gw: {neighbor: 192.0.2.1}
  core: {neighbor: 'fe80::1', source: 'fe80::2', interface: eth1, min_rx: 300ms, min_tx: 200ms, idle_tx: 2s, multiplier: 3, passive: true}
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.100/24]
    track: {bfd: [gw]}
  - name: db
    interface: eth0
    vrid: 52
    vips: [192.0.2.101/24]
sync_groups:
  g: {instances: [db], track: {bfd: [{name: core, weight: -20}]}}
`
	cfg, err := Parse("x.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []BFDSession{
		{Name: "gw", Neighbor: netip.MustParseAddr("192.0.2.1"), MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
			IdleTx: time.Second, Multiplier: 5, Line: 3},
		{Name: "core", Neighbor: netip.MustParseAddr("fe80::1"), Source: netip.MustParseAddr("fe80::2"), Interface: "eth1",
			MinRx: 300 * time.Millisecond, MinTx: 200 * time.Millisecond, IdleTx: 2 * time.Second, Multiplier: 3, Passive: true, Line: 4},
	}
	if !reflect.DeepEqual(cfg.BFDSessions, want) {
		t.Errorf("sessions:\n got %+v\nwant %+v", cfg.BFDSessions, want)
	}
	if got := cfg.Instances[0].Track.BFD; len(got) != 1 || got[0].Name != "gw" || got[0].Weight != 0 {
		t.Errorf("web tracks %+v, want gw with weight 0", got)
	}
	if got := cfg.Instances[1].Track.BFD; len(got) != 1 || got[0].Name != "core" || got[0].Weight != -20 {
		t.Errorf("db tracks %+v, want its group's core with weight -20", got)
	}
}
