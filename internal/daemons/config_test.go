package daemons

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// testNode uses every field of Node and Instance.
func testNode(dir string) *Node {
	return &Node{
		Name: "n1", Socket: filepath.Join(dir, "vrrpd.sock"), StateFile: filepath.Join(dir, "vips.json"),
		Files:            []File{{Name: "lower", Path: filepath.Join(dir, "lower")}},
		RealtimePriority: 10, LockMemory: true, Nice: -5,
		Instances: []Instance{
			{Name: "v4", Interface: "eth0", VRID: 51, Priority: 150, Version: 3, Interval: 100 * time.Millisecond,
				VIPs:     []netip.Prefix{netip.MustParsePrefix("192.0.2.100/32"), netip.MustParsePrefix("192.0.2.101/32")},
				Excluded: []netip.Prefix{netip.MustParsePrefix("192.0.2.102/32")},
				Track:    []Track{{File: "lower", Weight: -60}},
				GARP:     &GARP{Repeat: 1}, VrrpdKeys: []string{"make_before_break: false"}},
			{Name: "v6", Interface: "eth1", VRID: 52, Priority: 100, Version: 3, Interval: time.Second, NoPreempt: true,
				VIPs: []netip.Prefix{netip.MustParsePrefix("2001:db8::100/128")}},
			{Name: "v2", Interface: "eth0", VRID: 53, Priority: 100, Version: 2, Interval: 2 * time.Second, Password: "secret",
				UnicastSource: netip.MustParseAddr("192.0.2.1"), UnicastPeers: []netip.Addr{netip.MustParseAddr("192.0.2.2")},
				VIPs: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/32")}},
		},
	}
}

// TestVrrpdConfig: vrrpd's own parser reads the file as the Node says.
func TestVrrpdConfig(t *testing.T) {
	n := testNode(t.TempDir())
	cfg, err := config.Parse("vrrpd.yaml", []byte(n.VrrpdConfig()))
	if err != nil {
		t.Fatalf("%v\n%s", err, n.VrrpdConfig())
	}
	if cfg.RealtimePriority != 10 || !cfg.LockMemory || len(cfg.Files) != 1 || len(cfg.Instances) != 3 {
		t.Fatalf("parsed %+v", cfg)
	}
	v4, v6, v2 := cfg.Instances[0], cfg.Instances[1], cfg.Instances[2]
	switch {
	case v4.VRID != 51 || v4.Priority != 150 || v4.AdvertInterval != 100*time.Millisecond || !v4.Preempt || v4.MakeBeforeBreak:
		t.Errorf("v4: %+v", v4)
	case len(v4.VIPs) != 2 || len(v4.ExcludedVIPs) != 1 || v4.GARP.Repeat != 1 || v4.GARP.Delay != 0:
		t.Errorf("v4 addresses and GARP: %+v", v4)
	case len(v4.Track.Files) != 1 || v4.Track.Files[0].Weight != -60:
		t.Errorf("v4 track: %+v", v4.Track)
	case v6.Interface != "eth1" || v6.Preempt || v6.AdvertInterval != time.Second:
		t.Errorf("v6: %+v", v6)
	case v2.Version != 2 || v2.Unicast == nil || len(v2.Unicast.Peers) != 1 || v2.Auth == nil:
		t.Errorf("v2: %+v", v2)
	}
}

// TestKeepalivedConfig: keepalived's own check finds nothing wrong with the file, in a
// namespace that has the interfaces it names.
func TestKeepalivedConfig(t *testing.T) {
	netnstest.Require(t)
	netnstest.RequireCommand(t, "keepalived")
	ns := netnstest.NewNS(t, "kc")
	ns.IP("link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
	dir := t.TempDir()
	n := testNode(dir)
	text := n.KeepalivedConfig()
	for _, want := range []string{"vrrp_rt_priority 10", "vrrp_no_swap", "vrrp_priority -5", "track_file lower", "lower weight -60",
		"garp_master_repeat 1", "garp_master_delay 0", "nopreempt", "version 3\n  advert_int 0.1", "advert_int 2\n",
		"auth_pass secret", "unicast_peer {\n    192.0.2.2", "virtual_ipaddress_excluded {\n    192.0.2.102/32"} {
		if !strings.Contains(text, want) {
			t.Errorf("keepalived.conf has no %q:\n%s", want, text)
		}
	}
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ns.Exec("keepalived", "--config-test", "--use-file", path)
	if err != nil {
		t.Errorf("keepalived --config-test: %v\n%s\n%s", err, out, text)
	}
}
