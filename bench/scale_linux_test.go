package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vrrpd/vrrpd/internal/daemons"
)

// scaleInstances returns count virtual routers spread over eth0..eth3, VRIDs from 1 on
// each: IPv4 VIPs on eth0 (192.0.2.V/32) and eth1 (198.51.100.V/32), IPv6 on eth2 and
// eth3 (2001:db8:L::V/128). At most 4 x 255.
func scaleInstances(count, priority int, interval time.Duration, garp *daemons.GARP) []daemons.Instance {
	out := make([]daemons.Instance, 0, count)
	for k := range min(count, 4*255) {
		link, vrid := k%4, k/4+1
		var vip netip.Prefix
		switch link {
		case 0:
			vip = netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(vrid)}), 32)
		case 1:
			vip = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(vrid)}), 32)
		default:
			vip = netip.MustParsePrefix(fmt.Sprintf("2001:db8:%d::%x/128", link, vrid))
		}
		out = append(out, daemons.Instance{Name: fmt.Sprintf("i%d_%d", link, vrid), Interface: fmt.Sprintf("eth%d", link),
			VRID: vrid, Priority: priority, Version: 3, Interval: interval, VIPs: []netip.Prefix{vip}, GARP: garp})
	}
	return out
}

// scaleRun is both nodes of links running one daemon with many instances.
type scaleRun struct {
	l        *links
	kind     daemons.Kind
	interval time.Duration
	count    int
	vrrpd    string
	runs     [2]*daemonRun
	// tune sets what the variant of a load scenario changes in each node's configuration.
	tune func(*daemons.Node)
}

// start cleans both nodes and starts both daemons together.
func (sr *scaleRun) start() error {
	for _, n := range sr.l.nodes {
		if err := n.cleanVIPs(); err != nil {
			return err
		}
	}
	for i, n := range sr.l.nodes {
		prio := masterPriority
		if i == 1 {
			prio = backupPriority
		}
		cfg := n.nodeConfig(scaleInstances(sr.count, prio, sr.interval, nil))
		cfg.Files = nil
		if sr.tune != nil {
			sr.tune(cfg)
		}
		r, err := n.start(sr.kind, cfg, sr.vrrpd)
		if err != nil {
			return err
		}
		sr.runs[i] = r
	}
	return nil
}

// settle waits until node 1 is master and node 2 backup of every instance.
func (sr *scaleRun) settle(within time.Duration) error {
	m, b := sr.runs[0], sr.runs[1]
	return waitFor(within, func() bool {
		return m.log.in("MASTER") == sr.count && b.log.in("BACKUP") == sr.count || m.proc.Exited() || b.proc.Exited()
	}, "not settled: n1 master of %d, n2 backup of %d, of %d", m.log.in("MASTER"), b.log.in("BACKUP"), sr.count)
}

func (sr *scaleRun) exited() error {
	for i, r := range sr.runs {
		if r.proc.Exited() {
			return fmt.Errorf("%s on n%d exited: %v\n%s", r.kind, i+1, r.proc.Err(), r.log)
		}
	}
	return nil
}

func (sr *scaleRun) tearDown() error {
	var errs []error
	for i, r := range sr.runs {
		if r != nil && !r.proc.Exited() {
			errs = append(errs, r.kill())
		}
		errs = append(errs, sr.l.nodes[i].cleanVIPs())
		sr.l.nodes[i].run = nil
	}
	return errors.Join(errs...)
}

// scaleFigures is what one repetition of the scale scenario measured.
type scaleFigures struct {
	masterCPU, backupCPU float64 // % of one CPU
	master               procStat
	settled              time.Duration
	wrongMasters         int
}

// lastChange is the latest state change of r after its start, and the instances of r
// that were ever master.
func lastChange(r *daemonRun) (time.Duration, map[string]bool) {
	var last time.Duration
	masters := map[string]bool{}
	for _, tr := range r.log.transitions() {
		last = max(last, tr.at.Sub(r.started))
		if tr.to == "MASTER" {
			masters[tr.instance] = true
		}
	}
	return last, masters
}

// cpuOver returns the CPU each run used over window, in % of one CPU.
func cpuOver(runs []*daemonRun, window time.Duration) ([]float64, []procStat, error) {
	hz, err := clockTicks()
	if err != nil {
		return nil, nil, err
	}
	var before []procStat
	for _, r := range runs {
		s, err := readStat(r.pids())
		if err != nil {
			return nil, nil, err
		}
		before = append(before, s)
	}
	start := time.Now()
	time.Sleep(window)
	elapsed := time.Since(start)
	var cpu []float64
	var after []procStat
	for i, r := range runs {
		s, err := readStat(r.pids())
		if err != nil {
			return nil, nil, err
		}
		after = append(after, s)
		cpu = append(cpu, float64(s.ticks-before[i].ticks)/hz/elapsed.Seconds()*100)
	}
	return cpu, after, nil
}

// runScale runs one repetition: both nodes started together, settled, then a steady
// window after the announcements repeated 5 s later (the daemons' default).
func (sr *scaleRun) runScale(window time.Duration) (scaleFigures, error) {
	var f scaleFigures
	if err := sr.start(); err != nil {
		return f, err
	}
	if err := errors.Join(sr.settle(masterDown(sr.interval)+60*time.Second), sr.exited()); err != nil {
		return f, err
	}
	// Late changes, if any, are counted too.
	time.Sleep(2 * time.Second)
	for _, r := range sr.runs {
		last, _ := lastChange(r)
		f.settled = max(f.settled, last)
	}
	_, wrong := lastChange(sr.runs[1])
	f.wrongMasters = len(wrong)
	if wait := time.Until(sr.runs[0].started.Add(f.settled + 6*time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	cpu, stats, err := cpuOver(sr.runs[:], window)
	if err != nil {
		return f, err
	}
	if err := sr.exited(); err != nil {
		return f, err
	}
	f.masterCPU, f.backupCPU, f.master = cpu[0], cpu[1], stats[0]
	return f, nil
}
