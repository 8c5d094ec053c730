package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/internal/daemons"
)

// daemonRun is one run of a daemon on a node.
type daemonRun struct {
	kind    daemons.Kind
	n       *node
	config  string // the configuration file
	proc    *daemons.Process
	log     *stateLog
	started time.Time
}

// start writes cfg for kind and starts the daemon on n. vrrpd logs at info, keepalived
// as always; both to the harness, which reads their state changes.
func (n *node) start(kind daemons.Kind, cfg *daemons.Node, vrrpdBin string) (*daemonRun, error) {
	r := &daemonRun{kind: kind, n: n, config: n.path(string(kind) + ".conf"), log: newStateLog(kind)}
	if err := os.WriteFile(r.config, []byte(cfg.Config(kind)), 0o644); err != nil {
		return nil, err
	}
	cmd := daemons.KeepalivedCommand(n.ns.Name, r.config, n.dir)
	if kind == daemons.Vrrpd {
		cmd = daemons.VrrpdCommand(n.ns.Name, vrrpdBin, r.config, "info")
		if cfg.Nice != 0 {
			cmd = daemons.NiceVrrpdCommand(n.ns.Name, vrrpdBin, r.config, "info", cfg.Nice)
		}
	}
	cmd.Stdout, cmd.Stderr = r.log, r.log
	r.started = time.Now()
	p, err := daemons.Start(cmd)
	if err != nil {
		return nil, err
	}
	r.proc = p
	n.run = r
	return r, nil
}

// vrrpdConfig completes cfg with the node's paths.
func (n *node) nodeConfig(instances []daemons.Instance) *daemons.Node {
	return &daemons.Node{Name: n.name, Socket: n.path("vrrpd.sock"), StateFile: n.path("vips.json"),
		Files:     []daemons.File{{Name: "lower", Path: n.path("lower")}, {Name: "fault", Path: n.path("fault")}},
		Instances: instances}
}

// kill ends the daemon as a crash would, and waits until none of its processes is left.
func (r *daemonRun) kill() error {
	if r.kind == daemons.Keepalived {
		if child := daemons.KillKeepalived(r.proc, r.n.dir, r.config); child > 0 {
			return daemons.Reap(child, 5*time.Second)
		}
		return nil
	}
	r.proc.Kill()
	return nil
}

// term sends SIGTERM and returns at once.
func (r *daemonRun) term() { r.proc.Signal(syscall.SIGTERM) }

// pids returns the daemon's processes: vrrpd, or keepalived's parent and its VRRP
// child.
func (r *daemonRun) pids() []int {
	pids := []int{r.proc.PID()}
	if r.kind == daemons.Keepalived {
		if child, err := daemons.KeepalivedChild(r.n.dir, r.config); err == nil {
			pids = append(pids, child)
		}
	}
	return pids
}

// status asks vrrpd for its status.
func (r *daemonRun) status() (control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return control.QueryStatus(ctx, r.n.path("vrrpd.sock"))
}

// latenessMax is the most any of vrrpd's periodic adverts went out late.
func (r *daemonRun) latenessMax() (time.Duration, error) {
	st, err := r.status()
	if err != nil {
		return 0, err
	}
	var m time.Duration
	for _, in := range st.Instances {
		m = max(m, time.Duration(in.AdvertLatenessMax))
	}
	return m, nil
}

// transition is a state change a daemon logged, stamped when the harness read it.
type transition struct {
	at       time.Time
	instance string
	to       string
}

// The lines that say an instance changed state.
var (
	vrrpdState      = regexp.MustCompile(`msg="state changed" .*\binstance=(\S+) .*\bto=([A-Z]+)`)
	keepalivedState = regexp.MustCompile(`\((\S+)\) Entering (MASTER|BACKUP|FAULT) STATE`)
)

// stateLog reads a daemon's log: the state of each instance, every change, and the
// last lines for messages.
type stateLog struct {
	re *regexp.Regexp

	mu      sync.Mutex
	partial []byte
	tail    []string
	changes []transition
	state   map[string]string
	count   map[string]int
}

func newStateLog(kind daemons.Kind) *stateLog {
	re := vrrpdState
	if kind == daemons.Keepalived {
		re = keepalivedState
	}
	return &stateLog{re: re, state: map[string]string{}, count: map[string]int{}}
}

const logTail = 40

func (l *stateLog) Write(b []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		if l.tail = append(l.tail, line); len(l.tail) > logTail {
			l.tail = l.tail[1:]
		}
		m := l.re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		in, to := m[1], m[2]
		if old, ok := l.state[in]; ok {
			l.count[old]--
		}
		l.state[in] = to
		l.count[to]++
		l.changes = append(l.changes, transition{at: now, instance: in, to: to})
	}
	return len(b), nil
}

// in returns how many instances are in state.
func (l *stateLog) in(state string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[state]
}

// stateOf returns the state of an instance, "" before its first.
func (l *stateLog) stateOf(instance string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state[instance]
}

// transitions returns every change so far.
func (l *stateLog) transitions() []transition {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]transition(nil), l.changes...)
}

func (l *stateLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n")
}

// procStat is what /proc says of a set of processes: CPU time in clock ticks, and
// memory in kB.
type procStat struct {
	ticks                     int64
	rss, anon, file, hwm, lck int64
}

// readStat sums /proc/PID/stat and /proc/PID/status over pids.
func readStat(pids []int) (procStat, error) {
	var s procStat
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return s, err
		}
		// The command name, field 2, is in parentheses and may hold spaces; utime and
		// stime are fields 14 and 15.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return s, fmt.Errorf("/proc/%d/stat: %q", pid, b)
		}
		for _, i := range []int{14 - 3, 15 - 3} {
			v, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
			}
			s.ticks += v
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return s, err
		}
		for _, line := range strings.Split(string(st), "\n") {
			key, rest, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				continue
			}
			switch key {
			case "VmRSS":
				s.rss += kb
			case "RssAnon":
				s.anon += kb
			case "RssFile":
				s.file += kb
			case "VmHWM":
				s.hwm += kb
			case "VmLck":
				s.lck += kb
			}
		}
	}
	return s, nil
}

// clockTicks is the unit of CPU times in /proc/PID/stat (USER_HZ): 100 on every Linux
// this runs on; getconf says.
func clockTicks() (float64, error) {
	out, err := runCmd("getconf", "CLK_TCK")
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(out), 64)
}
