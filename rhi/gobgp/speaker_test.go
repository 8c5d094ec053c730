package gobgp

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/rhi"
)

// router is a plain GoBGP server standing for the upstream router: passive, on a port
// of the loopback, so that the test needs no privilege.
type router struct {
	srv  *server.BgpServer
	port int
}

func freePort(t *testing.T, network, addr string) int {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startRouter(t *testing.T, neighbors ...string) *router {
	t.Helper()
	port := freePort(t, "tcp4", "127.0.0.1:0")
	srv := server.NewBgpServer()
	go srv.Serve()
	ctx := context.Background()
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: 65000, RouterId: "192.0.2.1", ListenPort: int32(port), ListenAddresses: []string{"127.0.0.1", "::1"},
	}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.StopBgp(context.Background(), &api.StopBgpRequest{}); srv.Stop() })
	for _, n := range neighbors {
		afi := api.Family_AFI_IP
		if strings.Contains(n, ":") {
			afi = api.Family_AFI_IP6
		}
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
			Conf:      &api.PeerConf{NeighborAddress: n, PeerAsn: 65010},
			Transport: &api.Transport{PassiveMode: true},
			AfiSafis:  []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true}}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return &router{srv: srv, port: port}
}

// received returns what the router holds of prefix, as text: "as_path med communities",
// or "" when it has no path.
func (r *router) received(t *testing.T, prefix string) string {
	t.Helper()
	family := bgp.RF_IPv4_UC
	if strings.Contains(prefix, ":") {
		family = bgp.RF_IPv6_UC
	}
	var out string
	err := r.srv.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: family,
		Prefixes: []*apiutil.LookupPrefix{{Prefix: prefix}}}, func(_ bgp.NLRI, paths []*apiutil.Path) {
		for _, p := range paths {
			var parts []string
			for _, a := range p.Attrs {
				switch a := a.(type) {
				case *bgp.PathAttributeAsPath:
					parts = append(parts, "as "+a.String())
				case *bgp.PathAttributeMultiExitDisc:
					parts = append(parts, a.String())
				case *bgp.PathAttributeCommunities:
					parts = append(parts, a.String())
				}
			}
			slices.Sort(parts)
			out = strings.Join(parts, " | ")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 15s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGoBGPLoopback drives the adapter against a second speaker over the loopback:
// sessions in both families, announces with communities, MED and prepending, replaced
// attributes, withdraws, a reload that keeps the session, a peer that does not answer
// and its last error, and the session's end at Stop.
func TestGoBGPLoopback(t *testing.T) {
	r := startRouter(t, "127.0.0.1", "::1")
	changes := make(chan rhi.PeerStatus, 64)
	g := New(nil, func(p rhi.PeerStatus) {
		select {
		case changes <- p:
		default:
		}
	})
	ctx := context.Background()
	if err := g.Start(ctx, rhi.Global{ASN: 65010, RouterID: netip.MustParseAddr("192.0.2.11"), HoldTime: 9 * time.Second}); err != nil {
		t.Fatal(err)
	}
	defer g.Stop(ctx)
	peers := []config.BGPPeer{
		{Address: netip.MustParseAddr("127.0.0.1"), ASN: 65000, Port: r.port},
		{Address: netip.MustParseAddr("::1"), ASN: 65000, Port: r.port},
	}
	if err := g.SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	established := func() bool {
		ps := g.Peers()
		return len(ps) == 2 && ps[0].Established() && ps[1].Established()
	}
	waitFor(t, "both sessions established", established)
	since := g.Peers()[0].Since
	if since.IsZero() || time.Since(since) > time.Minute {
		t.Errorf("established since %v", since)
	}

	const v4, v6 = "198.51.100.10/32", "2001:db8:100::10/128"
	healthy := rhi.Attributes{Communities: []uint32{65010<<16 | 100}}
	for _, p := range []string{v4, v6} {
		if err := g.Announce(ctx, netip.MustParsePrefix(p), healthy); err != nil {
			t.Fatal(err)
		}
	}
	want := "as {AsPath: 65010} | {Communities: 65010:100}"
	waitFor(t, "the IPv4 announce received", func() bool { return r.received(t, v4) == want })
	waitFor(t, "the IPv6 announce received", func() bool { return r.received(t, v6) == want })

	lastResort := rhi.Attributes{MED: 1000, HasMED: true, Prepend: 2, Communities: healthy.Communities}
	if err := g.Announce(ctx, netip.MustParsePrefix(v4), lastResort); err != nil {
		t.Fatal(err)
	}
	want = "as {AsPath: 65010 65010 65010} | {Communities: 65010:100} | {Med: 1000}"
	waitFor(t, "the last-resort attributes received, got "+r.received(t, v4), func() bool { return r.received(t, v4) == want })

	if err := g.Withdraw(ctx, netip.MustParsePrefix(v4)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the withdraw received", func() bool { return r.received(t, v4) == "" })
	if r.received(t, v6) == "" {
		t.Fatal("the IPv6 prefix went with the IPv4 one")
	}
	if ps := g.Peers(); ps[0].Advertised != 0 || ps[1].Advertised != 1 {
		t.Errorf("advertised %d and %d, want 0 and 1", ps[0].Advertised, ps[1].Advertised)
	}

	// A reload that adds a peer keeps the sessions of the others.
	silent := config.BGPPeer{Address: netip.MustParseAddr("127.0.0.2"), ASN: 65001, Port: freePort(t, "tcp4", "127.0.0.1:0"), Password: "s3cret"}
	if err := g.SetPeers(ctx, append(slices.Clone(peers), silent)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unanswered peer's error", func() bool {
		ps := g.Peers()
		return len(ps) == 3 && strings.Contains(ps[2].LastError, "failed to connect")
	})
	ps := g.Peers()
	if !ps[0].Established() || !ps[0].Since.Equal(since) {
		t.Errorf("the first session after the reload: %+v, want established since %v", ps[0], since)
	}
	if ps[2].Established() || ps[2].ASN != 65001 {
		t.Errorf("the unanswered peer: %+v", ps[2])
	}
	t.Logf("unanswered peer: %+v", ps[2])

	// Removing a peer closes its session alone.
	if err := g.SetPeers(ctx, peers[1:]); err != nil {
		t.Fatal(err)
	}
	if ps := g.Peers(); len(ps) != 1 || ps[0].Address != peers[1].Address || !ps[0].Established() {
		t.Fatalf("after removing peers: %+v", ps)
	}
	sawEstablished := false
	for len(changes) > 0 {
		if p := <-changes; p.Established() {
			sawEstablished = true
		}
	}
	if !sawEstablished {
		t.Error("no peer change reported the sessions established")
	}

	if err := g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the router sees the session end", func() bool { return r.received(t, v6) == "" })
	if err := g.Announce(ctx, netip.MustParsePrefix(v4), healthy); err == nil {
		t.Error("Announce after Stop succeeded")
	}
}

// records keeps the log records at or above a level.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// TestGoBGPStopQuiet: stopping the speaker, and starting it again, logs no warning or
// error: a graceful stop is not a failure.
func TestGoBGPStopQuiet(t *testing.T) {
	rec := &records{}
	g := New(slog.New(rec), nil)
	ctx := context.Background()
	gl := rhi.Global{ASN: 65010, RouterID: netip.MustParseAddr("192.0.2.11"), HoldTime: 9 * time.Second}
	for range 2 {
		if err := g.Start(ctx, gl); err != nil {
			t.Fatal(err)
		}
		if err := g.SetPeers(ctx, []config.BGPPeer{{Address: netip.MustParseAddr("127.0.0.2"), ASN: 65000, Port: 1}}); err != nil {
			t.Fatal(err)
		}
		if err := g.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.msgs) > 0 {
		t.Errorf("start and stop logged %q", rec.msgs)
	}
}
