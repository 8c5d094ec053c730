package rhi_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

const frrDir = "/usr/lib/frr" // Debian's place for FRR's daemons

// routerOpts are what a scenario asks of the router.
type routerOpts struct {
	hold int  // seconds
	bfd  bool // BFD with every node over IPv4, 200 ms x 5
	// passwords are the TCP MD5 passwords of the nodes' IPv4 sessions, by node name.
	passwords map[string]string
	// retryAtOnce makes BIRD open a session again a second after an error, where it
	// waits a minute by default.
	retryAtOnce bool
}

func (l *lab) birdConf(o routerOpts) string {
	var b strings.Builder
	fmt.Fprintf(&b, `router id 192.0.2.1;
log stderr all;
debug protocols { states, events };
timeformat log "%%T.%%3f";
protocol device {}
protocol kernel { ipv4 { export all; import none; }; merge paths on; }
protocol kernel { ipv6 { export all; import none; }; merge paths on; }
filter gshut { if (65535,0) ~ bgp_community then bgp_local_pref = 0; accept; }
`)
	if o.bfd {
		b.WriteString("protocol bfd { interface \"*\" { min rx interval 200 ms; min tx interval 200 ms; idle tx interval 200 ms; multiplier 5; }; }\n")
	}
	for _, nd := range l.nodes {
		extra := fmt.Sprintf("hold time %d; connect retry time 1;", o.hold)
		if o.retryAtOnce {
			extra += " error wait time 1,2;"
		}
		if o.bfd {
			extra += " bfd on;"
		}
		if pw := o.passwords[nd.name]; pw != "" {
			extra += fmt.Sprintf(" password %q;", pw)
		}
		fmt.Fprintf(&b, "protocol bgp %s4 { local as 65000; neighbor %s as 65010; %s ipv4 { import filter gshut; export none; }; }\n", nd.name, nd.addr4, extra)
		fmt.Fprintf(&b, "protocol bgp %s6 { local as 65000; neighbor %s as 65010; hold time %d; connect retry time 1; ipv6 { import filter gshut; export none; }; }\n", nd.name, nd.addr6, o.hold)
	}
	return b.String()
}

func (l *lab) frrConf(o routerOpts) string {
	var b strings.Builder
	b.WriteString("frr defaults traditional\nhostname r\n!\nbgp community-list standard gshut seq 5 permit graceful-shutdown\n")
	b.WriteString("route-map in permit 10\n match community gshut\n set local-preference 0\nroute-map in permit 20\n!\n")
	b.WriteString("router bgp 65000\n bgp router-id 192.0.2.1\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n")
	for _, nd := range l.nodes {
		for _, a := range []string{nd.addr4, nd.addr6} {
			fmt.Fprintf(&b, " neighbor %s remote-as 65010\n neighbor %s timers %d %d\n neighbor %s timers connect 1\n", a, a, o.hold/3, o.hold, a)
		}
		if o.bfd {
			fmt.Fprintf(&b, " neighbor %s bfd 5 200 200\n", nd.addr4)
		}
		if pw := o.passwords[nd.name]; pw != "" {
			fmt.Fprintf(&b, " neighbor %s password %s\n", nd.addr4, pw)
		}
	}
	for _, af := range []string{"ipv4", "ipv6"} {
		fmt.Fprintf(&b, " address-family %s unicast\n  maximum-paths 8\n", af)
		for _, nd := range l.nodes {
			a := nd.addr4
			if af == "ipv6" {
				a = nd.addr6
			}
			fmt.Fprintf(&b, "  neighbor %s activate\n  neighbor %s route-map in in\n", a, a)
		}
		b.WriteString(" exit-address-family\n")
	}
	return b.String()
}

// startRouter starts the router's daemons (again, after stopRouter).
func (l *lab) startRouter(o routerOpts) {
	t := l.t
	log := filepath.Join(l.dir, "router.log")
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var procs []*exec.Cmd
	start := func(cmd *exec.Cmd) {
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
		procs = append(procs, cmd)
	}
	switch l.kind {
	case "bird":
		conf := filepath.Join(l.dir, "bird.conf")
		os.WriteFile(conf, []byte(l.birdConf(o)), 0o644)
		start(l.router.Command(netnstest.RequireCommand(t, "bird"), "-f", "-c", conf, "-s", filepath.Join(l.dir, "bird.ctl"), "-P", filepath.Join(l.dir, "bird.pid")))
	case "frr":
		for _, c := range []string{"zebra", "bgpd", "bfdd"} {
			netnstest.RequireCommand(t, filepath.Join(frrDir, c))
		}
		netnstest.RequireCommand(t, "vtysh")
		zconf, bconf := filepath.Join(l.dir, "zebra.conf"), filepath.Join(l.dir, "bgpd.conf")
		os.WriteFile(zconf, []byte("hostname r\n"), 0o644)
		os.WriteFile(bconf, []byte(l.frrConf(o)), 0o644)
		os.WriteFile(filepath.Join(l.dir, "bfdd.conf"), []byte("hostname r\n"), 0o644)
		zsock := filepath.Join(l.dir, "zserv.api")
		os.Remove(zsock)
		common := []string{"-z", zsock, "--vty_socket", l.dir, "-u", "root", "-g", "frrvty", "-P", "0", "--log", "stdout"}
		start(l.router.Command(filepath.Join(frrDir, "zebra"), append([]string{"-f", zconf, "-i", filepath.Join(l.dir, "zebra.pid")}, common...)...))
		netnstest.Eventually(t, 10*time.Second, func() bool { _, err := os.Stat(zsock); return err == nil }, "zebra did not start:\n%s", l.routerLog())
		start(l.router.Command(filepath.Join(frrDir, "bfdd"), append([]string{"-f", filepath.Join(l.dir, "bfdd.conf"), "-i", filepath.Join(l.dir, "bfdd.pid")}, common...)...))
		start(l.router.Command(filepath.Join(frrDir, "bgpd"), append([]string{"-f", bconf, "-i", filepath.Join(l.dir, "bgpd.pid"), "-p", "179"}, common...)...))
	}
	done := make(chan struct{})
	go func() {
		for _, p := range procs {
			p.Wait()
		}
		f.Close()
		close(done)
	}()
	l.rprocs, l.rdone = procs, done
	t.Cleanup(l.stopRouter)
}

// stopRouter kills the router's daemons, as a crash or a power cut would.
func (l *lab) stopRouter() {
	if l.rdone == nil {
		return
	}
	for i := len(l.rprocs) - 1; i >= 0; i-- {
		l.rprocs[i].Process.Signal(syscall.SIGKILL)
	}
	<-l.rdone
	l.rdone = nil
	// The kernel keeps what a killed router installed: start from an empty table.
	// zebra installs its routes through nexthop objects: deleting those deletes them.
	exec.Command("ip", "-n", l.router.Name, "nexthop", "flush").Run()
	for _, fam := range []string{"-4", "-6"} {
		exec.Command("ip", fam, "-n", l.router.Name, "route", "flush", "proto", "bird").Run()
		exec.Command("ip", fam, "-n", l.router.Name, "route", "flush", "proto", "bgp").Run()
	}
}

func (l *lab) routerLog() string {
	b, _ := os.ReadFile(filepath.Join(l.dir, "router.log"))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// ribPaths returns the router's BGP paths to prefix as "NEXT_HOP as-path [AS_PATH] med
// MED", sorted, read from the router itself (birdc, vtysh).
func (l *lab) ribPaths(prefix string) []string {
	l.t.Helper()
	var paths []string
	switch l.kind {
	case "bird":
		out, err := exec.Command("birdc", "-s", filepath.Join(l.dir, "bird.ctl"), "show", "route", "all", "for", prefix).CombinedOutput()
		if err != nil {
			l.t.Fatalf("birdc: %v: %s", err, out)
		}
		var nh, asPath, med string
		flush := func() {
			if nh != "" {
				paths = append(paths, fmt.Sprintf("%s as-path [%s] med %s", nh, asPath, med))
			}
			nh, asPath, med = "", "", "-"
		}
		flush()
		for line := range strings.Lines(string(out)) {
			f := strings.Fields(line)
			switch {
			case len(f) >= 2 && f[0] == "via":
				flush()
				nh = f[1]
			case len(f) >= 1 && f[0] == "BGP.as_path:":
				asPath = strings.Join(f[1:], " ")
			case len(f) == 2 && f[0] == "BGP.med:":
				med = f[1]
			}
		}
		flush()
	case "frr":
		afi := "ipv4"
		if strings.Contains(prefix, ":") {
			afi = "ipv6"
		}
		out, err := exec.Command("vtysh", "--vty_socket", l.dir, "-c", "show bgp "+afi+" unicast "+prefix+" json").Output()
		if err != nil {
			l.t.Fatalf("vtysh: %v: %s", err, out)
		}
		var r struct {
			Paths []struct {
				ASPath struct {
					String string `json:"string"`
				} `json:"aspath"`
				MED      *uint32 `json:"metric"`
				Nexthops []struct {
					IP string `json:"ip"`
				} `json:"nexthops"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			l.t.Fatalf("vtysh: %v: %s", err, out)
		}
		for _, p := range r.Paths {
			med := "-"
			if p.MED != nil {
				med = fmt.Sprint(*p.MED)
			}
			if len(p.Nexthops) > 0 {
				paths = append(paths, fmt.Sprintf("%s as-path [%s] med %s", p.Nexthops[0].IP, p.ASPath.String, med))
			}
		}
	}
	slices.Sort(paths)
	return paths
}
