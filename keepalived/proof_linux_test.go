package keepalived

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The proof of a conversion: keepalived runs one node with its original file, vrrpd
// the other with the converted file; then they swap. Both ways, the same node must win
// each election and hold the VIPs, and neither side may complain about the other.

// proofScenario is a pair of keepalived.conf files (lb1, lb2) and who must win what.
type proofScenario struct {
	name string
	// conf returns lb N's keepalived.conf (N is 1 or 2; lb N has 192.0.2.N and 2001:db8::N);
	// dir is the round's directory, for the files the configuration names.
	conf func(n int, dir string) string
	// winners maps each VIP to the node (1 or 2) that must hold it.
	winners map[string]int
	// then, when set, changes something once the winners hold (in dir, the round's
	// directory), after which the VIPs must be where after says.
	then  func(t *testing.T, dir string)
	after map[string]int
	// vipInterface is where the VIPs are: eth0 unless the scenario has a virtual MAC.
	vipInterface string
}

var proofScenarios = []proofScenario{
	{
		name: "haproxy-pair-v2",
		conf: func(n int, dir string) string {
			prio := map[int]int{1: 150, 2: 100}[n]
			return fmt.Sprintf(`! lb%d
global_defs {
   router_id lb%d
}
vrrp_script chk_haproxy {
    script "/bin/true"
    interval 1
    fall 2
    rise 2
}
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cr3t
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0 label eth0:vip
    }
    track_script {
        chk_haproxy weight -60
    }
    track_interface {
        eth0 weight -30
    }
}
`, n, n, map[int]string{1: "MASTER", 2: "BACKUP"}[n], prio)
		},
		winners: map[string]int{"192.0.2.100": 1},
	},
	{
		name: "unicast-v3",
		conf: func(n int, dir string) string {
			return fmt.Sprintf(`vrrp_instance U {
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority %d
  version 3
  advert_int 0.5
  unicast_src_ip 192.0.2.%d
  unicast_peer {
    192.0.2.%d
  }
  virtual_ipaddress {
    192.0.2.161/24
  }
}
`, map[int]int{1: 100, 2: 120}[n], n, 3-n)
		},
		winners: map[string]int{"192.0.2.161": 2},
	},
	{
		name: "ipv6-and-two-instances",
		conf: func(n int, dir string) string {
			return fmt.Sprintf(`global_defs {
  vrrp_version 3
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 64
  priority %d
  advert_int 0.5
  virtual_ipaddress {
    2001:db8::164/64
  }
}
vrrp_instance A {
  interface eth0
  virtual_router_id 71
  priority %d
  advert_int 0.5
  virtual_ipaddress {
    192.0.2.171/24
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 72
  priority %d
  advert_int 0.5
  virtual_ipaddress {
    192.0.2.172/24
  }
  virtual_ipaddress_excluded {
    198.51.100.172/24
  }
}
`, map[int]int{1: 200, 2: 100}[n], map[int]int{1: 100, 2: 200}[n], map[int]int{1: 200, 2: 100}[n])
		},
		winners: map[string]int{"2001:db8::164": 1, "192.0.2.171": 2, "192.0.2.172": 1, "198.51.100.172": 1},
	},
	{
		// Two instances in a sync group, A tracking a file with weight 0: lb1 wins both;
		// a number in lb1's file puts A in FAULT, and the group takes B with it: both
		// move to lb2, whichever of keepalived and vrrpd runs where.
		name: "sync-group",
		conf: func(n int, dir string) string {
			return fmt.Sprintf(`global_defs {
  vrrp_version 3
}
track_file drain {
  file %s/drain%d
}
vrrp_sync_group G {
  group {
    A
    B
  }
}
vrrp_instance A {
  interface eth0
  virtual_router_id 81
  priority %d
  advert_int 0.5
  virtual_ipaddress {
    192.0.2.181/24
  }
  track_file {
    drain weight 0
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 82
  priority %d
  advert_int 0.5
  virtual_ipaddress {
    192.0.2.182/24
  }
}
`, dir, n, map[int]int{1: 150, 2: 100}[n], map[int]int{1: 150, 2: 100}[n])
		},
		winners: map[string]int{"192.0.2.181": 1, "192.0.2.182": 1},
		then: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "drain1"), []byte("-1000\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		after: map[string]int{"192.0.2.181": 2, "192.0.2.182": 2},
	},
	{
		// use_vmac: the VIP on vrrp.91, the virtual MAC interface, on whichever node
		// wins; then the winner's file says FAULT, and the other takes the VIP on its own
		// vrrp.91.
		name: "vmac",
		conf: func(n int, dir string) string {
			return fmt.Sprintf(`global_defs {
  vrrp_version 3
}
track_file drain {
  file %s/drain%d
}
vrrp_instance V {
  interface eth0
  virtual_router_id 91
  priority %d
  advert_int 0.5
  use_vmac vrrp.91
  virtual_ipaddress {
    192.0.2.191/24
  }
  track_file {
    drain weight 0
  }
}
`, dir, n, map[int]int{1: 150, 2: 100}[n])
		},
		winners: map[string]int{"192.0.2.191": 1},
		then: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "drain1"), []byte("-1000\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		after:        map[string]int{"192.0.2.191": 2},
		vipInterface: "vrrp.91",
	},
}

// vrrpd is the binary under test, built once; TestMain removes it.
var vrrpd netnstest.Vrrpd

func TestMain(m *testing.M) {
	code := m.Run()
	vrrpd.Remove()
	os.Exit(code)
}

// complaint matches what keepalived logs about adverts it drops.
var complaint = regexp.MustCompile(`(?i)checksum|invalid|bogus|header check|ttl|mismatch|password|wrong|advert interval`)

func TestConversionProof(t *testing.T) {
	netnstest.Require(t)
	kabin := netnstest.RequireCommand(t, "keepalived")
	for _, sc := range proofScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, keepalivedOn := range []int{1, 2} {
				proofRound(t, sc, kabin, keepalivedOn)
			}
		})
	}
}

// proofRound runs keepalived on node keepalivedOn and converted vrrpd on the other.
func proofRound(t *testing.T, sc proofScenario, kabin string, keepalivedOn int) {
	bin := vrrpd.Path(t) // before anything starts: both sides must start together
	lan := netnstest.NewLAN(t)
	nodes := map[int]*netnstest.NS{}
	for n := 1; n <= 2; n++ {
		nodes[n] = lan.Node(fmt.Sprintf("p%d", n), "", fmt.Sprintf("192.0.2.%d/24", n), fmt.Sprintf("2001:db8::%d/64", n))
		// Excluded VIPs sit on the same interface in another subnet.
		nodes[n].IP("addr", "add", fmt.Sprintf("198.51.100.%d/24", n), "dev", "eth0")
	}
	dir := t.TempDir()
	for n := 1; n <= 2; n++ {
		// The files tracked start at 0: both nodes healthy.
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("drain%d", n)), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var kaOut, vrOut netnstest.Buffer
	var vrSocket string
	for n := 1; n <= 2; n++ {
		conf := filepath.Join(dir, fmt.Sprintf("lb%d.conf", n))
		if err := os.WriteFile(conf, []byte(sc.conf(n, dir)), 0o644); err != nil {
			t.Fatal(err)
		}
		if n == keepalivedOn {
			cmd := nodes[n].Command(kabin, "--vrrp", "--dont-fork", "--log-console", "--log-detail", "--no-syslog",
				"--use-file", conf, "--pid", filepath.Join(dir, "k.pid"), "--vrrp_pid", filepath.Join(dir, "v.pid"))
			cmd.Stdout, cmd.Stderr = &kaOut, &kaOut
			netnstest.Start(t, cmd)
			continue
		}
		res, err := Convert(conf, Options{})
		if err != nil {
			t.Fatalf("convert lb%d: %v", n, err)
		}
		vrSocket = filepath.Join(dir, "vrrpd.sock")
		yaml := fmt.Sprintf("socket: %s\nstate_file: %s\n%s", vrSocket, filepath.Join(dir, "vips.json"), res.YAML)
		path := filepath.Join(dir, fmt.Sprintf("lb%d.yaml", n))
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := nodes[n].Command(bin, "run", "--config", path)
		cmd.Stdout, cmd.Stderr = &vrOut, &vrOut
		netnstest.Start(t, cmd)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived on lb%d:\n%s", keepalivedOn, kaOut.String())
			t.Logf("vrrpd on lb%d:\n%s", 3-keepalivedOn, vrOut.String())
		}
	})

	// Each VIP on its winner only, and staying there for a few intervals.
	winners := sc.winners
	vipIf := sc.vipInterface
	if vipIf == "" {
		vipIf = "eth0"
	}
	holds := func() bool {
		for vip, winner := range winners {
			a := netip.MustParseAddr(vip)
			if !hasAddress(nodes[winner], vipIf, a) || hasAddress(nodes[3-winner], vipIf, a) {
				return false
			}
		}
		return true
	}
	netnstest.Eventually(t, 15*time.Second, holds, "keepalived on lb%d: VIPs not on their winners %v", keepalivedOn, sc.winners)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if !holds() {
			t.Fatalf("keepalived on lb%d: a VIP moved off its winner", keepalivedOn)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, line := range strings.Split(kaOut.String(), "\n") {
		// Lines naming the test's files echo its command line, not a complaint.
		if complaint.MatchString(line) && !strings.Contains(line, dir) && !strings.Contains(line, "'") {
			t.Errorf("keepalived complains: %s", line)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := control.QueryStatus(ctx, vrSocket)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range st.Instances {
		if len(in.Drops) > 0 {
			t.Errorf("vrrpd %s dropped keepalived's adverts: %v (last: %+v)", in.Name, in.Drops, in.LastDrop)
		}
		if in.State != "MASTER" && in.State != "BACKUP" {
			t.Errorf("vrrpd %s is %s: %s", in.Name, in.State, in.Reason)
		}
	}
	if sc.then == nil {
		return
	}
	sc.then(t, dir)
	winners = sc.after
	netnstest.Eventually(t, 15*time.Second, holds, "keepalived on lb%d: VIPs not on their winners %v after the change", keepalivedOn, winners)
	deadline = time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if !holds() {
			t.Fatalf("keepalived on lb%d: a VIP moved off its winner after the change", keepalivedOn)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasAddress reports whether a is on ifname in ns; false while ifname does not exist (a
// virtual MAC interface before its daemon creates it).
func hasAddress(ns *netnstest.NS, ifname string, a netip.Addr) bool {
	if _, err := ns.Exec("ip", "link", "show", "dev", ifname); err != nil {
		return false
	}
	return ns.HasAddress(ifname, a)
}
