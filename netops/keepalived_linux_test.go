package netops_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// complaint matches what keepalived 2.2 logs when it drops an advert it does not like.
var complaint = regexp.MustCompile(`(?i)checksum|invalid|bogus|header check|length|ttl|mismatch|password|wrong`)

// startKeepalived runs keepalived's VRRP process in ns with config conf, logging to the
// returned buffer.
func startKeepalived(t *testing.T, ns *netnstest.NS, conf string) *netnstest.Buffer {
	t.Helper()
	bin := netnstest.RequireCommand(t, "keepalived")
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &netnstest.Buffer{}
	cmd := ns.Command(bin, "--vrrp", "--dont-fork", "--log-console", "--log-detail", "--no-syslog",
		"--use-file", path, "--pid", filepath.Join(dir, "k.pid"), "--vrrp_pid", filepath.Join(dir, "v.pid"))
	cmd.Stdout, cmd.Stderr = out, out
	netnstest.Start(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived output:\n%s", out.String())
		}
	})
	return out
}

func TestKeepalivedWire(t *testing.T) {
	netnstest.Require(t)
	cases := []struct {
		name    string
		version vrrp.Version
		family  vrrp.Family
		unicast bool
		vip     string
		prefix  int
	}{
		{name: "v2", version: vrrp.Version2, family: vrrp.IPv4, vip: "192.0.2.100", prefix: 24},
		{name: "v3 IPv4", version: vrrp.Version3, family: vrrp.IPv4, vip: "192.0.2.100", prefix: 24},
		{name: "v3 IPv6", version: vrrp.Version3, family: vrrp.IPv6, vip: "2001:db8::100", prefix: 64},
		{name: "v3 IPv4 unicast", version: vrrp.Version3, family: vrrp.IPv4, unicast: true, vip: "192.0.2.100", prefix: 24},
		{name: "v3 IPv6 unicast", version: vrrp.Version3, family: vrrp.IPv6, unicast: true, vip: "2001:db8::100", prefix: 64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			keepalivedWire(t, c.version, c.family, c.unicast, netip.MustParseAddr(c.vip), c.prefix)
		})
	}
}

// keepalivedWire runs keepalived at priority 100 beside our adverts at 200: keepalived
// must stay backup without complaint. Then we leave with priority 0: keepalived must take
// over within its skew time, and its adverts must pass our receive checks.
func keepalivedWire(t *testing.T, v vrrp.Version, f vrrp.Family, unicast bool, vip netip.Addr, prefix int) {
	lan := netnstest.NewLAN(t)
	ka := lan.Node("ka", "", "192.0.2.1/24", "2001:db8::1/64")
	us := lan.Node("us", "", "192.0.2.2/24", "2001:db8::2/64")

	kaAddr, ourAddr, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), vrrp.GroupIPv4
	if f == vrrp.IPv6 {
		kaAddr, ourAddr, dst = ka.LinkLocal("eth0"), us.LinkLocal("eth0"), vrrp.GroupIPv6
	}
	unicastConf := ""
	if unicast {
		kaAddr, ourAddr = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
		if f == vrrp.IPv6 {
			kaAddr, ourAddr = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
		}
		dst = kaAddr
		unicastConf = fmt.Sprintf("unicast_src_ip %v\n  unicast_peer {\n    %v\n  }", kaAddr, ourAddr)
	}
	conf := fmt.Sprintf(`global_defs {
  router_id ka
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  version %d
  %s
  virtual_ipaddress {
    %v/%d
  }
}
`, v, unicastConf, vip, prefix)

	var sock netops.Socket
	us.MustDo(func() (err error) {
		sock, err = netops.OpenSocket("eth0", f)
		return err
	})
	defer sock.Close()
	rx := reader(t, sock)

	adv := vrrp.Advertisement{Version: v, Type: vrrp.TypeAdvertisement, VRID: 51, Priority: 200, Interval: time.Second,
		Addresses: []netip.Addr{vip}}
	send := func(prio uint8) {
		t.Helper()
		adv.Priority = prio
		b, err := adv.Encode(ourAddr, dst, vrrp.ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		if err := sock.Write(b, ourAddr, dst); err != nil {
			t.Fatal(err)
		}
	}

	send(200)
	out := startKeepalived(t, ka, conf)
	netnstest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "Entering BACKUP STATE") },
		"keepalived did not start")
	// Advertise for well over keepalived's Master_Down_Interval (3.609 s).
	for range 6 {
		send(200)
		if r, ok := next(t, rx, time.Second); ok {
			t.Fatalf("keepalived sent an advert (priority %d) while we were master: it did not accept ours", r.pkt[2])
		}
	}
	if strings.Contains(out.String(), "Entering MASTER STATE") {
		t.Fatal("keepalived became master beside a higher-priority vrrpd")
	}

	// Leave: keepalived takes over in Skew_Time (0.609 s at priority 100), not 3.6 s.
	send(0)
	left := time.Now()
	e := vrrp.Expect{Version: v, Family: f, VRID: 51, Interval: time.Second, VIPs: []netip.Addr{vip},
		Unicast: unicast, Source: ourAddr}
	accepted := 0
	for accepted < 2 {
		r, ok := next(t, rx, 3*time.Second)
		if !ok {
			t.Fatalf("keepalived sent %d adverts after our priority 0", accepted)
		}
		got, err := vrrp.Validate(r.pkt, r.meta, &e)
		if err != nil {
			t.Fatalf("keepalived's advert from %v: %v", r.meta.Src, err)
		}
		if accepted == 0 {
			if took := time.Since(left); took > 1500*time.Millisecond {
				t.Errorf("keepalived took over %v after priority 0, want about 0.609 s", took)
			}
			if got.Priority != 100 || r.meta.Src != kaAddr {
				t.Fatalf("first advert priority %d from %v", got.Priority, r.meta.Src)
			}
		}
		accepted++
	}
	netnstest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(out.String(), "Entering MASTER STATE") },
		"keepalived did not log its takeover")
	for _, line := range strings.Split(out.String(), "\n") {
		if complaint.MatchString(line) {
			t.Errorf("keepalived complains: %s", line)
		}
	}
}
