package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/rhi"
)

// helperEnv makes the test binary vrrpd-bgp with a fake speaker.
const helperEnv = "VRRPD_PROCESS_TEST_HELPER"

// crash is a prefix whose announce ends the fake vrrpd-bgp, as a crash would; hang one
// it never answers, as a stuck speaker would; garbage one it answers with a line that
// is not a message.
var (
	crash   = netip.MustParsePrefix("203.0.113.66/32")
	hang    = netip.MustParsePrefix("203.0.113.67/32")
	garbage = netip.MustParsePrefix("203.0.113.68/32")
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		level := slog.LevelInfo
		if len(os.Args) == 3 && os.Args[1] == "--log-level" {
			if err := level.UnmarshalText([]byte(os.Args[2])); err != nil {
				os.Exit(2)
			}
		}
		if err := Serve(os.Stdin, os.Stdout, level, newFake); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fake is a speaker that keeps what it is told and tells it back through Peers: one
// peer status per configured peer, Advertised the number of routes announced.
type fake struct {
	log    *slog.Logger
	onPeer func(rhi.PeerStatus)

	mu     sync.Mutex
	global rhi.Global
	peers  []config.BGPPeer
	routes map[netip.Prefix]rhi.Attributes
}

func newFake(log *slog.Logger, onPeer func(rhi.PeerStatus)) rhi.Speaker {
	return &fake{log: log.With("speaker", "fake"), onPeer: onPeer, routes: map[netip.Prefix]rhi.Attributes{}}
}

func (f *fake) Start(_ context.Context, g rhi.Global) error {
	if g.ASN == 64666 {
		return errors.New("AS 64666 refused")
	}
	f.mu.Lock()
	f.global = g
	f.mu.Unlock()
	f.log.Info("started", "asn", g.ASN, slog.Group("hold", "time", g.HoldTime))
	f.log.Debug("a detail")
	return nil
}

func (f *fake) SetPeers(_ context.Context, peers []config.BGPPeer) error {
	f.mu.Lock()
	f.peers = peers
	f.mu.Unlock()
	for _, p := range peers {
		f.onPeer(rhi.PeerStatus{Address: p.Address, ASN: p.ASN, State: "established"})
	}
	return nil
}

func (f *fake) Announce(_ context.Context, prefix netip.Prefix, a rhi.Attributes) error {
	switch prefix {
	case crash:
		os.Exit(3)
	case hang:
		select {}
	case garbage:
		fmt.Println("this is not a message")
		return nil
	}
	if !prefix.Addr().Is4() {
		return errors.New("no IPv6 here")
	}
	f.mu.Lock()
	f.routes[prefix] = a
	f.mu.Unlock()
	return nil
}

func (f *fake) Withdraw(_ context.Context, prefix netip.Prefix) error {
	f.mu.Lock()
	delete(f.routes, prefix)
	f.mu.Unlock()
	return nil
}

func (f *fake) Peers() []rhi.PeerStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rhi.PeerStatus
	for _, p := range f.peers {
		st := rhi.PeerStatus{Address: p.Address, ASN: p.ASN, State: "established", Advertised: len(f.routes),
			LastError: p.Password}
		if a, ok := f.routes[netip.MustParsePrefix("192.0.2.10/32")]; ok && len(a.Communities) > 0 {
			st.BFD = "communities"
		}
		out = append(out, st)
	}
	return out
}

func (f *fake) Stop(context.Context) error { return nil }

func startFake(t *testing.T, level slog.Level) (*Speaker, *netnstest.Buffer, chan rhi.PeerStatus) {
	t.Helper()
	t.Setenv(helperEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logs := &netnstest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))
	changes := make(chan rhi.PeerStatus, 64)
	s := New(exe, log, func(p rhi.PeerStatus) { changes <- p })
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s, logs, changes
}

var (
	global = rhi.Global{ASN: 65010, RouterID: netip.MustParseAddr("192.0.2.11"), HoldTime: 9 * time.Second}
	peers  = []config.BGPPeer{
		{Address: netip.MustParseAddr("192.0.2.1"), ASN: 65000, Password: "secret", BFD: &config.BFD{Interval: 200 * time.Millisecond, Multiplier: 5}},
		{Address: netip.MustParseAddr("2001:db8::1"), ASN: 65001},
	}
)

func TestSpeakerInAProcess(t *testing.T) {
	s, logs, changes := startFake(t, slog.LevelInfo)
	ctx := context.Background()
	if got := s.Peers(); got != nil {
		t.Errorf("peers before Start: %v", got)
	}
	if err := s.Announce(ctx, netip.MustParsePrefix("192.0.2.10/32"), rhi.Attributes{}); !errors.Is(err, errNotStarted) {
		t.Errorf("announce before Start: %v", err)
	}
	if err := s.Start(ctx, global); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, global); err == nil {
		t.Error("a second Start: no error")
	}
	if err := s.SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	for range peers {
		select {
		case p := <-changes:
			if p.State != "established" {
				t.Errorf("peer change %+v", p)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no peer change told")
		}
	}
	a := rhi.Attributes{MED: 10, HasMED: true, Prepend: 2, Communities: []uint32{65010<<16 | 100}}
	if err := s.Announce(ctx, netip.MustParsePrefix("192.0.2.10/32"), a); err != nil {
		t.Fatal(err)
	}
	if err := s.Announce(ctx, netip.MustParsePrefix("198.51.100.10/32"), rhi.Attributes{}); err != nil {
		t.Fatal(err)
	}
	err := s.Announce(ctx, netip.MustParsePrefix("2001:db8::10/128"), rhi.Attributes{})
	if err == nil || !strings.Contains(err.Error(), "no IPv6 here") {
		t.Errorf("the speaker's error: %v", err)
	}
	if err := s.Withdraw(ctx, netip.MustParsePrefix("198.51.100.10/32")); err != nil {
		t.Fatal(err)
	}
	got := s.Peers()
	if len(got) != 2 || got[0].Address != peers[0].Address || got[0].Advertised != 1 || got[0].LastError != "secret" ||
		got[0].BFD != "communities" || got[1].Address != peers[1].Address {
		t.Errorf("peers %+v", got)
	}
	out := logs.String()
	if !strings.Contains(out, `msg=started speaker=fake asn=65010 hold.time=9s`) || strings.Contains(out, "a detail") {
		t.Errorf("the speaker's log, logged again:\n%s", out)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Peers(); got != nil {
		t.Errorf("peers after Stop: %v", got)
	}
	// After Stop it starts again.
	if err := s.Start(ctx, global); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSpeakerStartRefused(t *testing.T) {
	s, _, _ := startFake(t, slog.LevelInfo)
	g := global
	g.ASN = 64666
	err := s.Start(context.Background(), g)
	if err == nil || !strings.Contains(err.Error(), "AS 64666 refused") {
		t.Fatalf("Start: %v", err)
	}
	if err := s.Start(context.Background(), global); err != nil {
		t.Fatalf("Start after a refusal: %v", err)
	}
}

// TestSpeakerStartedAgain: a vrrpd-bgp that ends on its own shows its peers down, and
// is started again with the identity, peers and routes it had.
func TestSpeakerStartedAgain(t *testing.T) {
	s, logs, changes := startFake(t, slog.LevelDebug)
	ctx := context.Background()
	if err := s.Start(ctx, global); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"192.0.2.10/32", "198.51.100.10/32"} {
		if err := s.Announce(ctx, netip.MustParsePrefix(p), rhi.Attributes{}); err != nil {
			t.Fatal(err)
		}
	}
	// Refused: not given again to the next vrrpd-bgp.
	if err := s.Announce(ctx, netip.MustParsePrefix("2001:db8::10/128"), rhi.Attributes{}); err == nil {
		t.Fatal("an IPv6 announce accepted")
	}
	// The announce that ends vrrpd-bgp is kept for the next one, as any request made
	// while none runs: no error.
	if err := s.Announce(ctx, crash, rhi.Attributes{}); err != nil {
		t.Fatalf("the announce that ended vrrpd-bgp: %v", err)
	}
	// Withdrawn while vrrpd-bgp is down: the next one is not given it (it would end
	// again).
	if err := s.Withdraw(ctx, crash); err != nil {
		t.Errorf("a withdraw with no vrrpd-bgp running: %v", err)
	}
	down := map[netip.Addr]bool{}
	deadline := time.After(10 * time.Second)
	for len(down) < len(peers) {
		select {
		case p := <-changes:
			if p.State == "idle" && strings.Contains(p.LastError, "vrrpd-bgp ended") {
				down[p.Address] = true
			}
		case <-deadline:
			t.Fatalf("peers told down: %v", down)
		}
	}
	if got := s.Peers(); len(got) != 2 || got[0].State != "idle" {
		t.Errorf("peers while vrrpd-bgp is down: %+v", got)
	}
	var got []rhi.PeerStatus
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got = s.Peers(); len(got) == 2 && got[0].State == "established" {
			break
		}
	}
	if len(got) != 2 || got[0].State != "established" || got[0].Advertised != 2 || got[0].LastError != "secret" {
		t.Fatalf("peers after the restart: %+v\n%s", got, logs)
	}
	if !strings.Contains(logs.String(), "BGP speaker vrrpd-bgp started again") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestServeEndsWithItsInput: vrrpd-bgp leaves at once when vrrpd's end of the pipe
// closes, whatever the speaker is doing.
func TestServeEndsWithItsInput(t *testing.T) {
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(r, io.Discard, slog.LevelInfo, newFake) }()
	if _, err := io.WriteString(w, `{"id":1,"op":"start","global":{"ASN":65010,"RouterID":"192.0.2.11","HoldTime":9000000000}}`+"\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	err := Serve(strings.NewReader("not json\n"), io.Discard, slog.LevelInfo, newFake)
	if err == nil {
		t.Error("a malformed request: no error")
	}
}

// TestServeEndsWhenVrrpdIsSilent: a vrrpd that stops saying it is alive (hung, or
// stopped with SIGSTOP) ends vrrpd-bgp after the silence, as a hung vrrpd with the
// speaker inside would have stopped answering the routers.
func TestServeEndsWhenVrrpdIsSilent(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- Serve(r, io.Discard, slog.LevelInfo, newFake) }()
	// Heartbeats for twice the silence keep it alive.
	for range 2 * silence / heartbeat {
		time.Sleep(heartbeat)
		if _, err := io.WriteString(w, `{"op":"alive"}`+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("ended while told alive: %v", err)
	default:
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrSilent) {
			t.Fatalf("Serve: %v", err)
		}
		if d := time.Since(start); d < 2*silence+silence {
			t.Errorf("ended after %v, before the silence", d)
		}
	case <-time.After(5 * silence):
		t.Fatal("Serve did not end")
	}
}

// TestSpeakerHungChild: a vrrpd-bgp that stops answering does not hold up the status,
// and is killed and started again after the call timeout, with its state.
func TestSpeakerHungChild(t *testing.T) {
	s, logs, _ := startFake(t, slog.LevelInfo)
	s.callTimeout = 500 * time.Millisecond
	ctx := context.Background()
	if err := s.Start(ctx, global); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	if err := s.Announce(ctx, netip.MustParsePrefix("192.0.2.10/32"), rhi.Attributes{}); err != nil {
		t.Fatal(err)
	}
	announced := make(chan error, 1)
	go func() { announced <- s.Announce(ctx, hang, rhi.Attributes{}) }()
	// The hang under way: its request is waiting for an answer.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		c := s.child
		s.mu.Unlock()
		c.mu.Lock()
		waiting := len(c.pending) > 0
		c.mu.Unlock()
		if waiting {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the hung announce was never sent")
		}
	}
	start := time.Now()
	got := s.Peers()
	if d := time.Since(start); d > peersTimeout+time.Second || len(got) != 2 {
		t.Fatalf("Peers took %v behind a hung request: %+v", d, got)
	}
	select {
	case err := <-announced:
		if err != nil {
			t.Errorf("the hung announce: %v, want it kept for the next vrrpd-bgp", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hung announce never returned")
	}
	// Withdrawn before the restart gives it again.
	if err := s.Withdraw(ctx, hang); err != nil {
		t.Fatal(err)
	}
	var ps []rhi.PeerStatus
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if ps = s.Peers(); len(ps) == 2 && ps[0].State == "established" && ps[0].Advertised == 1 {
			break
		}
	}
	if len(ps) != 2 || ps[0].State != "established" || ps[0].Advertised != 1 {
		t.Fatalf("peers after the restart: %+v\n%s", ps, logs)
	}
	if !strings.Contains(logs.String(), "does not answer: killing it") {
		t.Errorf("log:\n%s", logs)
	}
}

// TestSpeakerGarbledChild: output that is not a message ends that vrrpd-bgp, which is
// started again; Stop then leaves no process behind.
func TestSpeakerGarbledChild(t *testing.T) {
	s, logs, _ := startFake(t, slog.LevelInfo)
	ctx := context.Background()
	if err := s.Start(ctx, global); err != nil {
		t.Fatal(err)
	}
	if err := s.Announce(ctx, garbage, rhi.Attributes{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Withdraw(ctx, garbage); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "vrrpd-bgp started again"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not started again:\n%s", logs)
		}
	}
	if !strings.Contains(logs.String(), "invalid character") {
		t.Errorf("the garbled line not named:\n%s", logs)
	}
	s.mu.Lock()
	c := s.child
	s.mu.Unlock()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	default:
		t.Fatal("Stop returned before vrrpd-bgp was reaped")
	}
}

// blockedWriter is a vrrpd that reads nothing of what vrrpd-bgp sends.
type blockedWriter struct{ stop chan struct{} }

func (w blockedWriter) Write(p []byte) (int, error) {
	<-w.stop
	return 0, io.ErrClosedPipe
}

// TestServeSilentWhileItsWritesBlock: a vrrpd that neither reads nor writes ends
// vrrpd-bgp after the silence, even with an answer stuck on its way.
func TestServeSilentWhileItsWritesBlock(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	out := blockedWriter{stop: make(chan struct{})}
	defer close(out.stop)
	done := make(chan error, 1)
	go func() { done <- Serve(r, out, slog.LevelInfo, newFake) }()
	if _, err := io.WriteString(w, `{"id":1,"op":"peers"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrSilent) {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * silence):
		t.Fatal("Serve did not end")
	}
}
