package bench

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/daemons"
	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The run TestFailover makes. The defaults are the smoke test of `make test`: one
// repetition of two cheap scenarios; `make bench-failover` sets them all.
var (
	repsFlag           = flag.Int("reps", 1, "repetitions of each scenario, for each daemon (the median is reported)")
	scenariosFlag      = flag.String("scenarios", "stop,fault", "scenarios, comma-separated, or all: stop, fault, lowered, split-brain, host-loss, sigkill, preempt, scale, load, chaos")
	intervalsFlag      = flag.String("intervals", "100ms", "advert intervals of the failover scenarios, comma-separated")
	splitRepsFlag      = flag.Int("split-reps", 0, "repetitions of split-brain; 0 for 4 x reps")
	instancesFlag      = flag.Int("instances", 1000, "instances of the scale scenario (at most 1020)")
	scaleIntervalsFlag = flag.String("scale-intervals", "1s,100ms", "advert intervals of the scale scenario")
	windowFlag         = flag.Duration("window", 20*time.Second, "steady window over which the scale scenario measures CPU")
	loadInstancesFlag  = flag.Int("load-instances", 100, "instances at 10 ms under load")
	loadMinutesFlag    = flag.Float64("load-minutes", 10, "minutes of stress-ng in the load scenario, for each daemon and variant")
	loadVariantsFlag   = flag.String("load-variants", "default,realtime", "scheduling variants of the load scenario: default, realtime, realtime-locked, locked")
	daemonsFlag        = flag.String("daemons", "keepalived,vrrpd", "daemons to run, comma-separated")
	chaosCyclesFlag    = flag.Int("chaos-cycles", 200, "cycles of the chaos scenario's plan (about 1.3 faults each)")
	chaosSeedFlag      = flag.Uint64("chaos-seed", 29, "seed of the chaos scenario's plan")
	docFlag            = flag.String("doc", "", "write the results as docs/performance.md to this file")
	commandFlag        = flag.String("command", "go test ./bench/", "the command to name in the doc")
)

// vrrpdBinary is vrrpd as shipped, without the race detector: the figures are its own.
var vrrpdBinary = netnstest.Vrrpd{Plain: true}

func TestMain(m *testing.M) {
	flag.Parse()
	// Orphans come to this process, so that it can reap keepalived's VRRP process after
	// killing its parent.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "prctl PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	code := m.Run()
	vrrpdBinary.Remove()
	os.Exit(code)
}

func durations(t *testing.T, list string) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 10*time.Millisecond || d%(10*time.Millisecond) != 0 {
			t.Fatalf("interval %q: want a multiple of 10ms", s)
		}
		out = append(out, d)
	}
	return out
}

// kindsFor returns the daemons in the order repetition rep runs them: keepalived first
// in odd ones, vrrpd first in even ones, so that neither always runs on a machine the
// other has just warmed.
func kindsFor(kinds []daemons.Kind, rep int) []daemons.Kind {
	out := slices.Clone(kinds)
	if rep%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// TestFailover runs the scenarios -scenarios names and prints the table.
func TestFailover(t *testing.T) {
	netnstest.Require(t)
	netnstest.RequireCommand(t, "nft")
	begun := time.Now()
	env := Environment{Date: begun, LoadBefore: loadAverage(), Go: runtime.Version(), Command: *commandFlag}

	wanted := map[string]bool{}
	for _, s := range strings.Split(*scenariosFlag, ",") {
		wanted[strings.TrimSpace(s)] = true
	}
	all := wanted["all"]
	var kinds []daemons.Kind
	for _, k := range strings.Split(*daemonsFlag, ",") {
		kind := daemons.Kind(strings.TrimSpace(k))
		if kind != daemons.Vrrpd && kind != daemons.Keepalived {
			t.Fatalf("-daemons: %q is neither vrrpd nor keepalived", k)
		}
		if kind == daemons.Keepalived {
			netnstest.RequireCommand(t, "keepalived")
		}
		kinds = append(kinds, kind)
	}
	b := &benchRun{t: t, kinds: kinds, table: &Table{}, vrrpd: vrrpdBinary.Path(t)}
	intervals := durations(t, *intervalsFlag)
	var todo []scenario
	for _, s := range failoverScenarios {
		if all || wanted[s.id] {
			todo = append(todo, s)
			b.table.addRows(s, intervals)
		}
	}
	scaleIntervals := durations(t, *scaleIntervalsFlag)
	scale := scaleScenario(*instancesFlag)
	if all || wanted["scale"] {
		b.table.addRows(scale, scaleIntervals)
	}
	var variants []loadVariant
	if all || wanted["load"] {
		netnstest.RequireCommand(t, "stress-ng")
		for _, name := range strings.Split(*loadVariantsFlag, ",") {
			i := slices.IndexFunc(loadVariants, func(v loadVariant) bool { return v.name == strings.TrimSpace(name) })
			if i < 0 {
				t.Fatalf("-load-variants: no variant %q", name)
			}
			variants = append(variants, loadVariants[i])
			b.table.addRows(loadScenario(*loadInstancesFlag, *loadMinutesFlag, loadVariants[i].text), []time.Duration{ms10})
		}
	}

	chaosPlan := chaosScenario(*chaosCyclesFlag, *chaosSeedFlag)
	if all || wanted["chaos"] {
		b.table.addRows(chaosPlan, []time.Duration{chaosInterval})
	}

	if len(todo) > 0 {
		p := newPair(t)
		for _, s := range todo {
			for _, iv := range intervals {
				reps := *repsFlag
				if s.id == "split-brain" {
					reps = *splitRepsFlag
					if reps == 0 {
						reps = 4 * *repsFlag
					}
				}
				b.failover(p, s, iv, reps)
			}
		}
	}
	if all || wanted["scale"] {
		l := newLinks(t)
		for _, iv := range scaleIntervals {
			b.scale(l, scale, iv)
		}
	}
	if len(variants) > 0 {
		l := newLinks(t)
		for _, v := range variants {
			b.load(l, v)
		}
	}

	if all || wanted["chaos"] {
		b.chaos(chaosPlan, *chaosCyclesFlag, *chaosSeedFlag)
	}

	fmt.Printf("\n%s\n", b.table.Markdown())
	for _, r := range b.table.Missed() {
		v, _ := r.Value(daemons.Vrrpd)
		fmt.Printf("goal not met: %s, %s, %s: %s, goal %s\n", r.Scenario, intervalName(r.Interval), r.Figure, r.format(v, len(r.Values[daemons.Vrrpd])), r.goalText())
	}
	if *docFlag != "" {
		env.LoadAfter, env.Duration = loadAverage(), time.Since(begun)
		fillEnvironment(t, &env)
		if err := os.WriteFile(*docFlag, []byte(RenderDoc(b.table, env)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", *docFlag)
	}
	// The harness works: every row has a figure of every daemon, and no run failed.
	for _, r := range b.table.Rows() {
		for _, k := range kinds {
			if k == daemons.Keepalived && r.VrrpdOnly {
				continue
			}
			if _, ok := r.Value(k); !ok {
				t.Errorf("no figure of %s: %s", k, r.Key())
			}
			if n := r.Failed[k]; n > 0 {
				t.Errorf("%d runs of %s failed: %s", n, k, r.Key())
			}
		}
	}
}

// benchRun is the run in progress.
type benchRun struct {
	t     *testing.T
	kinds []daemons.Kind
	table *Table
	vrrpd string
}

// failover runs reps repetitions of s at interval iv for every daemon.
func (b *benchRun) failover(p *pair, s scenario, iv time.Duration, reps int) {
	for rep := range reps {
		for _, kind := range kindsFor(b.kinds, rep) {
			pr := &pairRun{p: p, kind: kind, interval: iv, vrrpd: b.vrrpd}
			figs, err := pr.runFailover(s.id)
			if terr := pr.tearDown(); terr != nil && err == nil {
				err = fmt.Errorf("tear down: %w", terr)
			}
			var got []string
			for _, f := range s.figures {
				r := b.table.row(s, iv, f)
				v, ok := figs[f.name]
				if err != nil || !ok {
					r.Fail(kind)
					continue
				}
				r.Add(kind, v)
				got = append(got, f.name+" "+r.format(v, 1))
			}
			if err != nil {
				b.t.Logf("%s %v rep %d/%d %s: FAILED: %v", s.id, iv, rep+1, reps, kind, err)
				continue
			}
			b.t.Logf("%s %v rep %d/%d %s: %s", s.id, iv, rep+1, reps, kind, strings.Join(got, ", "))
		}
	}
}

// scale runs the scale scenario at iv for every daemon.
func (b *benchRun) scale(l *links, s scenario, iv time.Duration) {
	for rep := range *repsFlag {
		for _, kind := range kindsFor(b.kinds, rep) {
			sr := &scaleRun{l: l, kind: kind, interval: iv, count: *instancesFlag, vrrpd: b.vrrpd}
			f, err := sr.runScale(*windowFlag)
			if terr := sr.tearDown(); terr != nil && err == nil {
				err = fmt.Errorf("tear down: %w", terr)
			}
			values := map[string]float64{
				"master CPU": f.masterCPU, "master RSS (VmRSS)": roundMB(f.master.rss), "master RssAnon": roundMB(f.master.anon),
				"master RssFile": roundMB(f.master.file), "master peak RSS (VmHWM)": roundMB(f.master.hwm), "backup CPU": f.backupCPU,
				"all settled after the start": f.settled.Seconds(), "instances the lower node was master of": float64(f.wrongMasters),
			}
			for _, fig := range s.figures {
				r := b.table.row(s, iv, fig)
				if err != nil {
					r.Fail(kind)
				} else {
					r.Add(kind, values[fig.name])
				}
			}
			if err != nil {
				b.t.Logf("scale %v rep %d/%d %s: FAILED: %v", iv, rep+1, *repsFlag, kind, err)
				continue
			}
			b.t.Logf("scale %v rep %d/%d %s: master CPU %.2f %%, RSS %.1f MB (anon %.1f, file %.1f, peak %.1f), backup CPU %.2f %%, settled %s, lower node master of %d",
				iv, rep+1, *repsFlag, kind, f.masterCPU, roundMB(f.master.rss), roundMB(f.master.anon), roundMB(f.master.file),
				roundMB(f.master.hwm), f.backupCPU, formatSeconds(f.settled.Seconds()), f.wrongMasters)
		}
	}
}

// load runs the load scenario in variant v for every daemon.
func (b *benchRun) load(l *links, v loadVariant) {
	s := loadScenario(*loadInstancesFlag, *loadMinutesFlag, v.text)
	d := time.Duration(*loadMinutesFlag * float64(time.Minute))
	for _, kind := range b.kinds {
		sr := &scaleRun{l: l, kind: kind, interval: ms10, count: *loadInstancesFlag, vrrpd: b.vrrpd, tune: v.tune}
		f, err := sr.runLoad(d)
		if terr := sr.tearDown(); terr != nil && err == nil {
			err = fmt.Errorf("tear down: %w", terr)
		}
		values := map[string]float64{
			"takeovers by the backup (false)":                      float64(f.takeovers),
			"latest periodic advert (vrrpd's advert_lateness_max)": f.lateness.Seconds(),
			"master CPU under load":                                f.masterCPU,
		}
		for _, fig := range s.figures {
			r := b.table.row(s, ms10, fig)
			switch {
			case fig.vrrpdOnly && kind != daemons.Vrrpd:
			case err != nil:
				r.Fail(kind)
			default:
				r.Add(kind, values[fig.name])
			}
		}
		if err != nil {
			b.t.Logf("load %s %s: FAILED: %v", v.name, kind, err)
			continue
		}
		b.t.Logf("load %s %s: %d false takeovers, master CPU %.1f %%, advert_lateness_max %v (before the load %v)",
			v.name, kind, f.takeovers, f.masterCPU, f.lateness, f.latenessStart)
	}
}

// loadAverage returns /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], ", ")
}

// fillEnvironment fills in the machine and the versions.
func fillEnvironment(t *testing.T, env *Environment) {
	first := func(out string, err error) string {
		if err != nil {
			t.Logf("environment: %v", err)
			return "?"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		return line
	}
	env.Kernel = first(runCmd("uname", "-sr"))
	env.Keepalived = first(runCmdCombined("keepalived", "--version"))
	env.StressNG = first(runCmd("stress-ng", "--version"))
	env.Vrrpd = first(runCmd("git", "describe", "--tags", "--always", "--dirty"))
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf("%.1f GB", float64(kb)*1024/1e9)
		}
	}
	env.Machine = fmt.Sprintf("%s, %d CPUs, %s of memory; shared with other work", model, runtime.NumCPU(), mem)
}
