package gobgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/rhi"
)

// Timers of the sessions besides the hold time: a router that restarts finds vrrpd
// connecting again within seconds.
const (
	connectRetry           = 3 // seconds
	idleHoldTimeAfterReset = 1 // seconds
)

// Speaker is rhi.Speaker: GoBGP's server embedded, without its gRPC listener and
// without a listening socket (ListenPort -1): vrrpd opens every session.
type Speaker struct {
	log *slog.Logger
	// onPeer is told of every change of a session's state.
	onPeer func(rhi.PeerStatus)
	// listenPort is -1 (no listening socket) unless a test listens.
	listenPort int32

	mu     sync.Mutex
	srv    *server.BgpServer
	global rhi.Global
	cancel context.CancelFunc // the peer watch
	peers  []config.BGPPeer   // as configured, in order
	errs   map[string]string  // last error by neighbor address, from GoBGP's log
}

var _ rhi.Speaker = (*Speaker)(nil)

// New returns a speaker that logs GoBGP's warnings to log and tells onPeer (when
// not nil) of every change of a session's state.
func New(log *slog.Logger, onPeer func(rhi.PeerStatus)) *Speaker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if onPeer == nil {
		onPeer = func(rhi.PeerStatus) {}
	}
	return &Speaker{log: log, onPeer: onPeer, listenPort: -1, errs: map[string]string{}}
}

// ErrNotStarted is returned by the methods of a GoBGP that is not started.
var ErrNotStarted = errors.New("gobgp: BGP speaker not started")

// Start implements rhi.Speaker.
func (g *Speaker) Start(ctx context.Context, gl rhi.Global) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv != nil {
		return errors.New("gobgp: BGP speaker already started")
	}
	level := &slog.LevelVar{}
	level.Set(slog.LevelDebug) // the tap keeps what it needs; the rest is dropped
	logger := slog.New(&errorTap{next: g.log.Handler(), record: g.recordError})
	srv := server.NewBgpServer(server.LoggerOption(logger, level))
	go srv.Serve()
	err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: gl.ASN, RouterId: gl.RouterID.String(), ListenPort: g.listenPort,
	}})
	if err != nil {
		srv.Stop()
		return fmt.Errorf("gobgp: start BGP: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	err = srv.WatchEvent(wctx, server.WatchEventMessageCallbacks{
		OnPeerUpdate: func(ev *apiutil.WatchEventMessage_PeerEvent, _ time.Time) {
			if ev.Type == apiutil.PEER_EVENT_STATE {
				g.peerChanged(ev.Peer.State.NeighborAddress)
			}
		},
	}, server.WatchPeer())
	if err != nil {
		cancel()
		srv.Stop()
		return fmt.Errorf("gobgp: watch BGP peers: %w", err)
	}
	g.srv, g.global, g.cancel, g.peers = srv, gl, cancel, nil
	return nil
}

func (g *Speaker) peerChanged(addr netip.Addr) {
	for _, p := range g.Peers() {
		if p.Address == addr {
			g.onPeer(p)
		}
	}
}

// SetPeers implements rhi.Speaker.
func (g *Speaker) SetPeers(ctx context.Context, peers []config.BGPPeer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv == nil {
		return ErrNotStarted
	}
	var errs []error
	for _, old := range g.peers {
		i := slices.IndexFunc(peers, func(p config.BGPPeer) bool { return p.Address == old.Address })
		if i >= 0 && samePeer(old, peers[i]) {
			continue
		}
		if err := g.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: old.Address.String()}); err != nil {
			errs = append(errs, fmt.Errorf("gobgp: remove peer %v: %w", old.Address, err))
		}
	}
	var kept []config.BGPPeer
	for _, p := range peers {
		i := slices.IndexFunc(g.peers, func(o config.BGPPeer) bool { return o.Address == p.Address })
		if i < 0 || !samePeer(g.peers[i], p) {
			delete(g.errs, p.Address.String())
			if err := g.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: g.apiPeer(p)}); err != nil {
				errs = append(errs, fmt.Errorf("gobgp: add peer %v: %w", p.Address, err))
				continue
			}
		}
		kept = append(kept, p)
	}
	g.peers = kept
	return errors.Join(errs...)
}

func samePeer(a, b config.BGPPeer) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

func (g *Speaker) apiPeer(p config.BGPPeer) *api.Peer {
	afi := api.Family_AFI_IP
	if p.Address.Is6() {
		afi = api.Family_AFI_IP6
	}
	hold := uint64(g.global.HoldTime / time.Second)
	peer := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN, AuthPassword: p.Password},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: hold, KeepaliveInterval: max(hold/3, 1),
			ConnectRetry: connectRetry, IdleHoldTimeAfterReset: idleHoldTimeAfterReset,
		}},
		Transport: &api.Transport{RemotePort: uint32(p.Port)},
		AfiSafis: []*api.AfiSafi{{Config: &api.AfiSafiConfig{
			Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true,
		}}},
	}
	if p.BFD != nil {
		us := uint32(p.BFD.Interval / time.Microsecond)
		peer.Bfd = &api.BfdPeerConfig{Enabled: true, DesiredMinimumTxInterval: us, RequiredMinimumReceive: us,
			DetectionMultiplier: uint32(p.BFD.Multiplier)}
	}
	return peer
}

// path builds the path of prefix with attributes a; withdraw builds its withdrawal.
func (g *Speaker) path(prefix netip.Prefix, a rhi.Attributes, withdraw bool) (*apiutil.Path, error) {
	nlri, err := bgp.NewIPAddrPrefix(prefix)
	if err != nil {
		return nil, fmt.Errorf("gobgp: %v: %w", prefix, err)
	}
	p := &apiutil.Path{Family: bgp.RF_IPv4_UC, Nlri: nlri, Withdrawal: withdraw}
	if prefix.Addr().Is6() {
		p.Family = bgp.RF_IPv6_UC
	}
	if withdraw {
		return p, nil
	}
	// The unspecified next hop is replaced by the session's own address.
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	if prefix.Addr().Is4() {
		nh, err := bgp.NewPathAttributeNextHop(netip.IPv4Unspecified())
		if err != nil {
			return nil, fmt.Errorf("gobgp: next hop: %w", err)
		}
		attrs = append(attrs, nh)
	} else {
		mp, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv6_UC, []bgp.PathNLRI{{NLRI: nlri}}, netip.IPv6Unspecified())
		if err != nil {
			return nil, fmt.Errorf("gobgp: next hop: %w", err)
		}
		attrs = append(attrs, mp)
	}
	asPath := []bgp.AsPathParamInterface{}
	if a.Prepend > 0 {
		asns := make([]uint32, a.Prepend)
		for i := range asns {
			asns[i] = g.global.ASN
		}
		asPath = append(asPath, bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, asns))
	}
	attrs = append(attrs, bgp.NewPathAttributeAsPath(asPath))
	if a.HasMED {
		attrs = append(attrs, bgp.NewPathAttributeMultiExitDisc(a.MED))
	}
	if len(a.Communities) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeCommunities(slices.Clone(a.Communities)))
	}
	p.Attrs = attrs
	return p, nil
}

// Announce implements rhi.Speaker.
func (g *Speaker) Announce(_ context.Context, prefix netip.Prefix, a rhi.Attributes) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv == nil {
		return ErrNotStarted
	}
	p, err := g.path(prefix, a, false)
	if err != nil {
		return err
	}
	if _, err := g.srv.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("gobgp: announce %v: %w", prefix, err)
	}
	return nil
}

// Withdraw implements rhi.Speaker.
func (g *Speaker) Withdraw(_ context.Context, prefix netip.Prefix) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv == nil {
		return ErrNotStarted
	}
	p, err := g.path(prefix, rhi.Attributes{}, true)
	if err != nil {
		return err
	}
	if err := g.srv.DeletePath(apiutil.DeletePathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("gobgp: withdraw %v: %w", prefix, err)
	}
	return nil
}

// Peers implements rhi.Speaker.
func (g *Speaker) Peers() []rhi.PeerStatus {
	g.mu.Lock()
	srv, peers := g.srv, slices.Clone(g.peers)
	errs := make(map[string]string, len(g.errs))
	for k, v := range g.errs {
		errs[k] = v
	}
	g.mu.Unlock()
	if srv == nil {
		return nil
	}
	byAddr := map[netip.Addr]*api.Peer{}
	srv.ListPeer(context.Background(), &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		if a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress()); err == nil {
			byAddr[a] = p
		}
	})
	out := make([]rhi.PeerStatus, 0, len(peers))
	for _, conf := range peers {
		st := rhi.PeerStatus{Address: conf.Address, ASN: conf.ASN, State: "idle", LastError: errs[conf.Address.String()]}
		if p := byAddr[conf.Address]; p != nil {
			s := p.GetState()
			st.State = strings.ToLower(strings.TrimPrefix(s.GetSessionState().String(), "SESSION_STATE_"))
			if st.State == "unspecified" {
				st.State = "idle"
			}
			timers := p.GetTimers().GetState()
			if st.Established() && timers.GetUptime() != nil {
				st.Since = timers.GetUptime().AsTime()
			} else if timers.GetDowntime() != nil && timers.GetDowntime().GetSeconds() > 0 {
				st.Since = timers.GetDowntime().AsTime()
			}
			if conf.BFD != nil && s.GetBfdState() != nil {
				st.BFD = strings.ToLower(strings.TrimPrefix(s.GetBfdState().GetSessionState().String(), "BFD_SESSION_STATE_"))
			}
			for _, af := range p.GetAfiSafis() {
				st.Advertised += int(af.GetState().GetAdvertised())
			}
			if st.LastError != "" && conf.Password != "" && strings.Contains(st.LastError, "timeout") {
				st.LastError += " (a TCP MD5 password that differs from the router's looks like this)"
			}
		}
		out = append(out, st)
	}
	return out
}

// Stop implements rhi.Speaker.
func (g *Speaker) Stop(context.Context) error {
	g.mu.Lock()
	srv, cancel := g.srv, g.cancel
	g.srv, g.cancel, g.peers = nil, nil, nil
	g.mu.Unlock()
	if srv == nil {
		return nil
	}
	cancel()
	// Stop sends the Cease NOTIFICATIONs, closes the sessions and stops BFD; it logs
	// what fails (through errorTap), and a StopBgp before it would be logged as a
	// failure of its own.
	srv.Stop()
	return nil
}

func (g *Speaker) recordError(neighbor, msg string) {
	g.mu.Lock()
	g.errs[neighbor] = msg
	g.mu.Unlock()
}

// errorTap reads GoBGP's log: it keeps the last error of each neighbor (GoBGP reports
// a failed connect only at debug level) and passes warnings and errors on.
type errorTap struct {
	next   slog.Handler
	attrs  []slog.Attr
	record func(neighbor, msg string)
}

// tappedMessages are the messages below warning level that say why a session is down.
var tappedMessages = []string{"failed to connect", "Peer Down", "received notification", "sent notification", "outgoing connection IO error"}

func (t *errorTap) Enabled(context.Context, slog.Level) bool { return true }

func (t *errorTap) Handle(ctx context.Context, r slog.Record) error {
	tapped := r.Level >= slog.LevelWarn || slices.Contains(tappedMessages, r.Message)
	if tapped {
		var key string
		var details []string
		collect := func(a slog.Attr) bool {
			switch a.Key {
			case "Key":
				key = a.Value.String()
			case "Error", "Reason", "reason", "Code", "Subcode", "Data":
				details = append(details, a.Value.String())
			}
			return true
		}
		for _, a := range t.attrs {
			collect(a)
		}
		r.Attrs(collect)
		if key != "" {
			msg := r.Message
			if len(details) > 0 {
				msg += ": " + strings.Join(details, " ")
			}
			t.record(key, msg)
		}
	}
	if r.Level < slog.LevelWarn || !t.next.Enabled(ctx, r.Level) {
		return nil
	}
	return t.next.Handle(ctx, r)
}

func (t *errorTap) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &errorTap{next: t.next.WithAttrs(attrs), attrs: slices.Concat(t.attrs, attrs), record: t.record}
}

func (t *errorTap) WithGroup(name string) slog.Handler {
	return &errorTap{next: t.next.WithGroup(name), attrs: t.attrs, record: t.record}
}
