package daemon

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/rhi"
	"github.com/vrrpd/vrrpd/rhi/process"
)

// bgp announces the configuration's routes (package rhi) from the trackers' states and
// the instances' VRRP states, for the daemon's life: a reload reconfigures it, adds it
// or stops it.
type bgp struct {
	d       *Daemon
	m       *rhi.Manager
	speaker rhi.Speaker

	mu   sync.Mutex
	vrrp map[string]string // state of each instance, from transitions

	cancel context.CancelFunc
	done   chan struct{}
}

// newBGP prepares the routes of cfg; nil when cfg has no bgp section. A test's
// Options.Speaker stands for vrrpd-bgp.
func newBGP(d *Daemon, cfg *config.BGP, speaker rhi.Speaker) *bgp {
	if cfg == nil {
		return nil
	}
	b := &bgp{d: d, vrrp: map[string]string{}}
	if speaker == nil {
		speaker = process.New("", d.log.With("bgp", "gobgp"), b.peerChanged)
	}
	b.speaker = speaker
	b.m = rhi.NewManager(cfg, speaker, d.sys.Addresses, rhi.Env{Now: d.clock.Now, After: clockAfter(d.clock)}, d.log.With("bgp", "routes"), b.routeChanged)
	return b
}

// start opens the sessions and follows the trackers and the instances' transitions.
func (b *bgp) start() error {
	if b == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	events, stop := b.d.Events()
	b.m.Update(b.inputs())
	if err := b.m.Start(ctx); err != nil {
		stop()
		cancel()
		close(b.done)
		return fmt.Errorf("bgp: %w", err)
	}
	go func() {
		defer close(b.done)
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-b.d.trk.set.Changes():
			case e := <-events:
				if e.Type != "transition" {
					continue
				}
				b.mu.Lock()
				b.vrrp[e.Instance] = e.To
				b.mu.Unlock()
			}
			b.m.Update(b.inputs())
		}
	}()
	return nil
}

func (b *bgp) inputs() rhi.Inputs {
	b.mu.Lock()
	defer b.mu.Unlock()
	return rhi.Inputs{Trackers: b.d.trk.set.Status(), VRRP: maps.Clone(b.vrrp)}
}

// reload applies a new bgp section, which may add or remove the whole of it.
func reloadBGP(ctx context.Context, d *Daemon, b *bgp, cfg *config.BGP, speaker rhi.Speaker) (*bgp, error) {
	switch {
	case b == nil && cfg == nil:
		return nil, nil
	case b == nil:
		nb := newBGP(d, cfg, speaker)
		return nb, nb.start()
	case cfg == nil:
		b.stop(ctx)
		return nil, nil
	}
	if err := b.m.Reconfigure(ctx, cfg); err != nil {
		return b, fmt.Errorf("bgp: %w", err)
	}
	b.m.Update(b.inputs())
	return b, nil
}

// stop leaves gracefully (see rhi.Manager.Stop).
func (b *bgp) stop(ctx context.Context) {
	if b == nil || b.cancel == nil {
		return
	}
	b.cancel()
	<-b.done
	b.m.Stop(ctx)
}

func (b *bgp) routeChanged(c rhi.Change) {
	if c.Route == nil {
		return
	}
	r := c.Route
	b.d.events.publish(control.Event{Type: "route", Time: b.d.clock.Now(), Node: b.d.node(), Route: r.Name,
		State: r.State.String(), Reason: r.Reason})
}

func (b *bgp) peerChanged(p rhi.PeerStatus) {
	b.d.log.Info("BGP session", "peer", p.Address.String(), "state", p.State, "last_error", p.LastError)
	b.d.events.publish(control.Event{Type: "peer", Time: b.d.clock.Now(), Node: b.d.node(), Peer: p.Address.String(),
		State: p.State, Detail: p.LastError})
}

// status returns the peers and routes for `vrrpd show`.
func (b *bgp) status() *control.BGPStatus {
	if b == nil {
		return nil
	}
	st := b.m.Status()
	out := &control.BGPStatus{ASN: st.ASN, RouterID: st.RouterID.String(), Peers: []control.BGPPeerStatus{}, Routes: []control.RouteStatus{}}
	for _, p := range st.Peers {
		out.Peers = append(out.Peers, control.BGPPeerStatus{Address: p.Address.String(), ASN: p.ASN, State: p.State,
			Since: p.Since, LastError: p.LastError, BFD: p.BFD, Advertised: p.Advertised})
	}
	for _, r := range st.Routes {
		rs := control.RouteStatus{Name: r.Name, State: r.State.String(), Announced: r.Announced, Reason: r.Reason,
			Cause: string(r.Cause), Since: r.Since, Interface: r.Interface}
		for s, n := range r.Transitions {
			if rs.Transitions == nil {
				rs.Transitions = map[string]uint64{}
			}
			rs.Transitions[s.String()] = n
		}
		for _, p := range r.Prefixes {
			rs.Prefixes = append(rs.Prefixes, p.String())
		}
		out.Routes = append(out.Routes, rs)
	}
	return out
}

// clockAfter is time.After on the daemon's clock.
func clockAfter(c Clock) func(time.Duration) <-chan time.Time {
	return func(d time.Duration) <-chan time.Time {
		t := c.NewTimer()
		t.Reset(d)
		return t.C()
	}
}
