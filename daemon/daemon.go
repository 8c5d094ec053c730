package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/rhi"
	"github.com/vrrpd/vrrpd/tracker"
	"github.com/vrrpd/vrrpd/vrrp"
)

// Options tune a Daemon; the zero value is usable.
type Options struct {
	// Version is reported by `vrrpd show`.
	Version string
	Log     *slog.Logger
	// Clock is the system clock unless a test says otherwise.
	Clock Clock
	// HookTimeout bounds each notify hook; 30 s by default.
	HookTimeout time.Duration
	// TrackerEnv is what health trackers need of the system; the zero value is the
	// real system. The daemon fills in the link events.
	TrackerEnv tracker.Env
	// Speaker stands for vrrpd-bgp in tests.
	Speaker rhi.Speaker
	// Launched is when the process started, zero if unknown: the instances' startup
	// grace counts from there (vrrp.Startup).
	Launched time.Time
}

// Daemon runs the instances of one configuration.
type Daemon struct {
	sys      System
	log      *slog.Logger
	clock    Clock
	version  string
	hookTime time.Duration
	launched time.Time
	mux      *netops.Mux
	trk      *trackers
	bfd      *bfdRunner
	events   broadcaster
	started  time.Time

	holders      holders
	routeHolders routeHolders
	reloads      reloads
	speaker      rhi.Speaker
	bgp          *bgp // nil without a bgp section
	groups       []*syncGroup

	mu        sync.Mutex // guards cfg, instances, onInterface, leaving and links
	cfg       *config.Config
	instances []*instance
	// onInterface indexes instances by interface, which an instance never changes:
	// each address event (a thousand at a takeover of a thousand VIPs) looks at the
	// instances of its interface only.
	onInterface map[string][]*instance
	// leaving are instances a reload removed that still hold their VIPs for the next
	// master (make-before-break); Stop waits for them too.
	leaving []*instance
	links   map[string]int // interface name -> index last seen, 0 once deleted
	stopped bool
	vipSet  map[netip.Addr]bool // every VIP address of cfg, built on first use
	// facts holds what the kernel said of the interfaces during a start or a reload
	// (askOnce); nil otherwise.
	facts *interfaceFacts
	// ports run the instances, one per interface and family, made on first use.
	ports map[portKey]*port
}

// leaveTimeout bounds how long an instance a reload removed keeps its VIPs for the
// next master; its router gives them up after Master_Down_Interval anyway.
const leaveTimeout = time.Minute

// New checks what the configuration needs of the system and returns a daemon ready to
// Start.
func New(cfg *config.Config, sys System, opts Options) (*Daemon, error) {
	d := &Daemon{
		sys:      sys,
		log:      opts.Log,
		clock:    opts.Clock,
		version:  opts.Version,
		hookTime: opts.HookTimeout,
		launched: opts.Launched,
		cfg:      cfg,
		links:    map[string]int{},
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if d.clock == nil {
		d.clock = systemClock{}
	}
	if d.hookTime == 0 {
		d.hookTime = 30 * time.Second
	}
	if err := checkHooks(cfg); err != nil {
		return nil, err
	}
	d.bfd = newBFDRunner(d, sys.BFD)
	if len(cfg.BFDSessions) > 0 && sys.BFD == nil {
		return nil, errors.New("bfd: this system has no BFD sockets")
	}
	env := opts.TrackerEnv
	if env.BFD == nil {
		env.BFD = d.bfd
	}
	d.trk = &trackers{d: d}
	if err := d.trk.prepare(cfg, env); err != nil {
		return nil, err
	}
	d.mux = netops.NewMux(sys.Open, d.log)
	d.speaker = opts.Speaker
	d.bgp = newBGP(d, cfg.BGP, d.speaker)
	return d, nil
}

// Start starts every instance: an address owner becomes master at once, the others
// backup. It also starts following link events.
func (d *Daemon) Start() error {
	defer d.askOnce()()
	d.mu.Lock()
	d.started = d.clock.Now()
	cfg := d.cfg
	d.mu.Unlock()
	// BFD sessions start first: the trackers watch them from their start.
	berr := d.bfd.configure(cfg.BFDSessions)
	// Each instance has its first priority before its router starts.
	d.trk.start()
	defer d.trk.refresh()
	started, err := d.startAll(instancesOf(cfg), d.launched)
	err = errors.Join(err, berr)
	d.mu.Lock()
	d.setInstances(append(d.instances, started...))
	d.mu.Unlock()
	d.regroup(context.Background(), cfg)
	if d.sys.Events != nil {
		go d.follow(d.sys.Events)
	}
	if berr := d.bgp.start(); berr != nil {
		err = errors.Join(err, berr)
	}
	return err
}

// instancesOf points into cfg's instances: the daemon keeps the running configuration,
// and each instance reads its own entry there rather than a copy of it.
func instancesOf(cfg *config.Config) []*config.Instance {
	out := make([]*config.Instance, len(cfg.Instances))
	for i := range cfg.Instances {
		out[i] = &cfg.Instances[i]
	}
	return out
}

// startAll opens instances of cfgs, then starts them together: each instance's first
// Master_Down_Interval starts when every socket listens, its grace as early as launched
// (zero after a reload), so that nodes started together elect their masters right,
// however many instances they have. The interfaces' addresses are read once for all.
func (d *Daemon) startAll(cfgs []*config.Instance, launched time.Time) ([]*instance, error) {
	var errs []error
	var opened []*instance
	for _, ic := range cfgs {
		in := newInstance(d, ic)
		if err := in.open(); err != nil {
			errs = append(errs, err)
			continue
		}
		opened = append(opened, in)
	}
	d.prepare(opened)
	// Started together: one request per port starts all of its instances, each from
	// the instant every socket listened. All of them then time out together, and a
	// takeover's adverts leave in one batch per port, ahead of the VIPs' work.
	listening := d.clock.Now()
	byPort := map[*port][]*instance{}
	var order []*port
	for _, in := range opened {
		if _, ok := byPort[in.port]; !ok {
			order = append(order, in.port)
		}
		byPort[in.port] = append(byPort[in.port], in)
	}
	for _, p := range order {
		p.run(nil, func() {
			for _, in := range byPort[p] {
				in.begin(vrrp.Startup{Listening: listening, Launched: launched})
				p.settle(in)
			}
		})
	}
	return opened, errors.Join(errs...)
}

// prepare readies, once per interface and family, what a takeover by one of instances
// will use: the mirror of the interface's addresses, the socket that announces its VIPs.
// A failure is left for the takeover to report.
func (d *Daemon) prepare(instances []*instance) {
	type key struct {
		ifname string
		v4     bool
	}
	seen := map[key]bool{}
	for _, in := range instances {
		for _, v := range in.cfg.VIPs {
			vip := toNetopsVIP(*in.cfg, v)
			k := key{vip.Interface, vip.Prefix.Addr().Is4()}
			if seen[k] {
				continue
			}
			seen[k] = true
			for _, sys := range []any{d.sys.Addresses, d.sys.Announcer} {
				if p, ok := sys.(netops.Preparer); ok {
					if err := p.Prepare(vip); err != nil {
						d.log.Debug("cannot prepare for a takeover", "error", err)
					}
				}
			}
		}
	}
}

// portFor returns the port of interface ifname and family f, started on first use.
func (d *Daemon) portFor(ifname string, f vrrp.Family) *port {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ports == nil {
		d.ports = map[portKey]*port{}
	}
	k := portKey{ifname, f}
	p := d.ports[k]
	if p == nil {
		p = newPort(d, k)
		d.ports[k] = p
	}
	return p
}

// interfaceFacts is what the kernel said of each interface during a start or a
// reload: a thousand instances on four interfaces ask four times, not a thousand.
type interfaceFacts struct {
	addrs map[string]fact[[]netip.Addr]
	up    map[string]fact[bool]
}

// fact is one answer of the kernel.
type fact[T any] struct {
	v   T
	err error
}

// askOnce makes what the kernel says of an interface last until forget is called: a
// start or a reload asks once per interface.
func (d *Daemon) askOnce() (forget func()) {
	d.mu.Lock()
	d.facts = &interfaceFacts{addrs: map[string]fact[[]netip.Addr]{}, up: map[string]fact[bool]{}}
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		d.facts = nil
		d.mu.Unlock()
	}
}

// ask returns query(ifname), kept in the map pick chooses while askOnce lasts.
func ask[T any](d *Daemon, pick func(*interfaceFacts) map[string]fact[T], ifname string, query func(string) (T, error)) (T, error) {
	d.mu.Lock()
	var known map[string]fact[T]
	if d.facts != nil {
		known = pick(d.facts)
	}
	f, ok := known[ifname]
	d.mu.Unlock()
	if ok {
		return f.v, f.err
	}
	v, err := query(ifname)
	if known != nil {
		d.mu.Lock()
		known[ifname] = fact[T]{v, err}
		d.mu.Unlock()
	}
	return v, err
}

// nodeAddrs returns the node's addresses on ifname.
func (d *Daemon) nodeAddrs(ifname string) ([]netip.Addr, error) {
	return ask(d, func(f *interfaceFacts) map[string]fact[[]netip.Addr] { return f.addrs }, ifname, d.sys.Interfaces.Addrs)
}

// linkUp says whether ifname is up.
func (d *Daemon) linkUp(ifname string) (bool, error) {
	return ask(d, func(f *interfaceFacts) map[string]fact[bool] { return f.up }, ifname, d.sys.Interfaces.Up)
}

func (d *Daemon) node() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg.Node
}

// isVIP reports whether a is the address of a VIP of any instance, so that none is taken
// for an advert source. The set is built once per configuration.
func (d *Daemon) isVIP(a netip.Addr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.vipSet == nil {
		d.vipSet = map[netip.Addr]bool{}
		for _, in := range d.cfg.Instances {
			for _, v := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
				d.vipSet[v.Prefix.Addr()] = true
			}
		}
	}
	return d.vipSet[a]
}

// follow dispatches link and address events to the instances until events closes.
func (d *Daemon) follow(events <-chan netops.Event) {
	for ev := range events {
		switch ev := ev.(type) {
		case netops.LinkEvent:
			d.trk.link(ev)
			d.linkEvent(ev)
			d.vmacEvent(ev)
		case netops.AddrEvent:
			// Only instances still without an advert source care: with a thousand
			// instances, the VIPs they add must not make a thousand requests each.
			for _, in := range d.waitingForSource(ev.Interface) {
				in.do(in.tryCreateRouter)
			}
			d.sourceEvent(ev)
		}
	}
}

func (d *Daemon) linkEvent(ev netops.LinkEvent) {
	d.mu.Lock()
	prev, known := d.links[ev.Name]
	if ev.Deleted {
		d.links[ev.Name] = 0
	} else {
		d.links[ev.Name] = ev.Index
	}
	d.mu.Unlock()
	if !ev.Deleted && known && prev != ev.Index {
		// The interface was created again: sockets bound to the old index hear nothing.
		if err := d.mux.Reopen(ev.Name); err != nil {
			d.log.Error("cannot reopen sockets", "interface", ev.Name, "error", err)
		}
	}
	up := ev.Up && !ev.Deleted
	for _, in := range d.instancesOn(ev.Name) {
		in.do(func() { in.linkChanged(up) })
	}
}

func (d *Daemon) instancesNamed(name string) []*instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*instance
	for _, in := range d.instances {
		if in.cfg.Name == name {
			out = append(out, in)
		}
	}
	return out
}

// setInstances makes instances the running ones. Under d.mu.
func (d *Daemon) setInstances(instances []*instance) {
	d.instances = instances
	d.onInterface = map[string][]*instance{}
	for _, in := range instances {
		d.onInterface[in.cfg.Interface] = append(d.onInterface[in.cfg.Interface], in)
	}
}

func (d *Daemon) instancesOn(ifname string) []*instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.onInterface[ifname])
}

// waitingForSource returns the instances of ifname still without an advert source.
func (d *Daemon) waitingForSource(ifname string) []*instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*instance
	for _, in := range d.onInterface[ifname] {
		if in.needsSource.Load() {
			out = append(out, in)
		}
	}
	return out
}

// Status returns a snapshot of every instance.
func (d *Daemon) Status() control.Status {
	d.mu.Lock()
	st := control.Status{Node: d.cfg.Node, Version: d.version, Started: d.started, Config: d.cfg.File}
	instances := slices.Clone(d.instances)
	d.mu.Unlock()
	// Each instance's status is written in its place: a thousand of them make a
	// scrape, and a copy of each on the heap would double what it costs.
	st.Instances = make([]control.InstanceStatus, len(instances))
	n := 0
	trackers := d.trk.status()
	for _, in := range instances {
		s := &st.Instances[n]
		if !in.do(func() { *s = in.status() }) {
			continue
		}
		n++
		for i, v := range s.VIPs {
			present, err := d.sys.Addresses.Present(netops.VIP{Prefix: netip.MustParsePrefix(v.Address), Interface: v.Interface})
			s.VIPs[i].Present = err == nil && present
		}
		for i, ts := range s.Trackers {
			if st, ok := trackers[ts.Kind+"/"+ts.Name]; ok {
				s.Trackers[i].Since, s.Trackers[i].Detail = st.Since, st.Detail
			}
		}
	}
	st.Instances = st.Instances[:n]
	if n == 0 {
		st.Instances = nil // `vrrpd show --json` says "instances": null, as it always has
	}
	d.fillDaemonStatus(&st)
	st.SyncGroups = d.groupsStatus()
	st.BGP = d.bgpNow().status()
	return st
}

func (d *Daemon) bgpNow() *bgp {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bgp
}

// Events subscribes to transitions; call the returned function to stop.
func (d *Daemon) Events() (<-chan control.Event, func()) { return d.events.subscribe() }

// Stop shuts every instance down at once: masters send priority 0 and release their
// VIPs, stop hooks run (until ctx ends), sockets close.
func (d *Daemon) Stop(ctx context.Context) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.stopped = true
	instances := d.instances
	leaving := slices.Clone(d.leaving)
	d.setInstances(nil)
	d.mu.Unlock()
	// Routes drain while the instances stop.
	bgpDone := make(chan struct{})
	go func() { d.bgpNow().stop(ctx); close(bgpDone) }()
	stopAll(ctx, instances)
	d.closeGroups(ctx)
	<-bgpDone
	d.trk.close()
	d.bfd.stop()
	for _, in := range leaving {
		select {
		case <-in.done:
		case <-ctx.Done():
			in.do(in.release)
			<-in.done
		}
	}
	d.mu.Lock()
	ports := d.ports
	d.ports = nil
	d.mu.Unlock()
	for _, p := range ports {
		p.stop()
	}
	d.mux.Close()
}

// retire shuts instances a reload removed down in the background: those that hold
// VIPs for the next master stay in leaving until they let them go.
func (d *Daemon) retire(instances []*instance) {
	for _, in := range instances {
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		in.do(func() { in.deleted = true; in.shutdown(ctx) })
		d.mu.Lock()
		d.leaving = append(d.leaving, in)
		d.mu.Unlock()
		go func() {
			<-in.done
			cancel()
			d.mu.Lock()
			d.leaving = slices.DeleteFunc(d.leaving, func(o *instance) bool { return o == in })
			d.mu.Unlock()
		}()
	}
}

// finishLeaving ends at once a leaving instance that uses the socket subscription a new
// instance ic needs: one virtual router per interface, family and VRID.
func (d *Daemon) finishLeaving(ic config.Instance) {
	d.mu.Lock()
	var same []*instance
	for _, in := range d.leaving {
		if in.cfg.Interface == ic.Interface && in.cfg.Family() == ic.Family() && in.cfg.VRID == ic.VRID {
			same = append(same, in)
		}
	}
	d.mu.Unlock()
	for _, in := range same {
		in.do(in.release)
		<-in.done
	}
}

func stopAll(ctx context.Context, instances []*instance) {
	var wg sync.WaitGroup
	for _, in := range instances {
		wg.Go(func() {
			in.do(func() { in.shutdown(ctx) })
			<-in.done
		})
	}
	wg.Wait()
}

// identity is what must not change for a reload to keep an instance running: its
// interface, VRID, family and mode.
type identity struct {
	ifname  string
	vrid    uint8
	family  vrrp.Family
	unicast bool
	vmac    config.VMAC // zero without one
}

func identityOf(in config.Instance) identity {
	id := identity{in.Interface, in.VRID, in.Family(), in.Unicast != nil, config.VMAC{}}
	if in.VMAC != nil {
		id.vmac = *in.VMAC
		id.vmac.Line = 0
	}
	return id
}

// Reload applies a new, valid configuration: instances whose identity is unchanged keep
// their state and VIPs and take the difference; removed instances release their VIPs;
// new ones start. The caller has validated cfg: a bad file never reaches here.
func (d *Daemon) Reload(ctx context.Context, cfg *config.Config) (err error) {
	defer func() { d.reloads.record(d.clock.Now(), err == nil) }()
	defer d.askOnce()()
	// Hooks that fail the security check, like the tracker set below, refuse the
	// reload before anything changes.
	if err := checkHooks(cfg); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	// Trackers that cannot be built (a script that fails the security check) refuse
	// the reload before anything changes.
	if err := d.trk.reconfigure(cfg); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	defer d.trk.refresh()
	// A session whose neighbour, source and interface are unchanged keeps running.
	berr := d.bfd.configure(cfg.BFDSessions)
	d.mu.Lock()
	old := map[identity]*instance{}
	for _, in := range d.instances {
		old[identityOf(*in.cfg)] = in
	}
	d.cfg, d.vipSet = cfg, nil
	d.mu.Unlock()

	var kept []*instance
	var fresh []*config.Instance
	var gone [][]netops.VIP
	for i := range cfg.Instances {
		ic := &cfg.Instances[i]
		in, ok := old[identityOf(*ic)]
		if !ok {
			fresh = append(fresh, ic)
			continue
		}
		delete(old, identityOf(*ic))
		in.do(func() {
			in.log = d.log.With("instance", ic.Name)
			gone = append(gone, in.reconfigure(ic))
			d.trk.apply(in) // a new base priority resets the router's
		})
		kept = append(kept, in)
	}
	// VIPs go once every kept instance has added its own: one that moved between
	// instances stays in the kernel throughout.
	for i, in := range kept {
		if len(gone[i]) > 0 {
			in.do(func() { in.removeVIPs(gone[i]) })
		}
	}
	// Removed instances leave as a stop does: a master keeps serving until the next
	// master announces, without holding up the reload.
	var removed []*instance
	for _, in := range old {
		removed = append(removed, in)
	}
	d.retire(removed)
	for _, ic := range fresh {
		d.finishLeaving(*ic)
	}
	started, err := d.startAll(fresh, time.Time{})
	errs := []error{err, berr}
	d.mu.Lock()
	d.setInstances(slices.Concat(kept, started))
	b := d.bgp
	d.mu.Unlock()
	d.regroup(ctx, cfg)
	b, err = reloadBGP(ctx, d, b, cfg.BGP, d.speaker)
	if err != nil {
		errs = append(errs, err)
	}
	d.mu.Lock()
	d.bgp = b
	d.mu.Unlock()
	d.log.Info("configuration reloaded", "kept", len(kept), "started", len(started), "removed", len(removed))
	return errors.Join(errs...)
}
