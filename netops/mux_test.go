package netops_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/fake"
	"github.com/vrrpd/vrrpd/vrrp"
)

var (
	srcA = netip.MustParseAddr("192.0.2.1")
	srcB = netip.MustParseAddr("192.0.2.2")
)

// fakeLAN returns the muxes of two hosts on one segment, and counts the sockets opened.
func fakeLAN(t *testing.T) (a, b *netops.Mux, opened *int) {
	seg := fake.NewSegment()
	ha, hb := fake.NewHost("a"), fake.NewHost("b")
	ha.Attach("eth0", seg, srcA)
	hb.Attach("eth0", seg, srcB)
	opened = new(int)
	counting := func(h *fake.Host) netops.Opener {
		return func(ifname string, f vrrp.Family) (netops.Socket, error) {
			*opened++
			return h.Open(ifname, f)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, b = netops.NewMux(counting(ha), log), netops.NewMux(counting(hb), log)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, opened
}

func subscribe(t *testing.T, m *netops.Mux, vrid uint8) *netops.Subscription {
	t.Helper()
	s, err := m.Subscribe("eth0", vrrp.IPv4, vrid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sendVRID(t *testing.T, s *netops.Subscription, vrid uint8) {
	t.Helper()
	pkt := []byte{0x31, vrid, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100}
	if err := s.Send(pkt, srcA, vrrp.GroupIPv4); err != nil {
		t.Fatal(err)
	}
}

func expectVRID(t *testing.T, s *netops.Subscription, vrid uint8) {
	t.Helper()
	select {
	case p := <-s.Packets():
		if p.Data[1] != vrid || p.Meta.Src != srcA {
			t.Fatalf("got VRID %d from %v, want %d from %v", p.Data[1], p.Meta.Src, vrid, srcA)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("VRID %d: nothing received", vrid)
	}
}

func expectNothing(t *testing.T, s *netops.Subscription) {
	t.Helper()
	select {
	case p := <-s.Packets():
		t.Fatalf("unexpected VRID %d", p.Data[1])
	case <-time.After(100 * time.Millisecond):
	}
}

func TestMuxDemultiplexesByVRID(t *testing.T) {
	a, b, opened := fakeLAN(t)
	a51, a52 := subscribe(t, a, 51), subscribe(t, a, 52)
	b51, b52 := subscribe(t, b, 51), subscribe(t, b, 52)
	if *opened != 2 {
		t.Fatalf("%d sockets for 2 hosts with 2 VRIDs each, want 2", *opened)
	}
	sendVRID(t, a51, 51)
	expectVRID(t, b51, 51)
	expectNothing(t, b52)
	sendVRID(t, a52, 52)
	expectVRID(t, b52, 52)
	expectNothing(t, b51)

	// Nobody on b listens to VRID 53: counted, not delivered.
	a53 := subscribe(t, a, 53)
	sendVRID(t, a53, 53)
	deadline := time.Now().Add(2 * time.Second)
	for b.Unknown("eth0", vrrp.IPv4) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("unknown VRIDs counted %d, want 1", b.Unknown("eth0", vrrp.IPv4))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMuxDuplicateVRID(t *testing.T) {
	a, _, _ := fakeLAN(t)
	subscribe(t, a, 51)
	if _, err := a.Subscribe("eth0", vrrp.IPv4, 51); !errors.Is(err, netops.ErrDuplicateVRID) {
		t.Fatalf("second subscription: %v, want ErrDuplicateVRID", err)
	}
	// The same VRID in the other family is another virtual router.
	if _, err := a.Subscribe("eth0", vrrp.IPv6, 51); err != nil {
		t.Fatal(err)
	}
}

func TestMuxLastCloseClosesSocket(t *testing.T) {
	a, b, opened := fakeLAN(t)
	a51, a52 := subscribe(t, a, 51), subscribe(t, a, 52)
	b51 := subscribe(t, b, 51)
	a51.Close()
	sendVRID(t, a52, 51) // the socket is still open for VRID 52
	expectVRID(t, b51, 51)
	a52.Close()
	if err := a52.Send([]byte{0x31, 52}, srcA, vrrp.GroupIPv4); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	before := *opened
	a51 = subscribe(t, a, 51)
	if *opened != before+1 {
		t.Fatal("a new subscription after the last close did not open a socket")
	}
	sendVRID(t, a51, 51)
	expectVRID(t, b51, 51)
}

func TestMuxReopenKeepsSubscriptions(t *testing.T) {
	a, b, opened := fakeLAN(t)
	a51, b51 := subscribe(t, a, 51), subscribe(t, b, 51)
	before := *opened
	if err := b.Reopen("eth0"); err != nil {
		t.Fatal(err)
	}
	if *opened != before+1 {
		t.Fatalf("reopen opened %d sockets", *opened-before)
	}
	sendVRID(t, a51, 51)
	expectVRID(t, b51, 51)
}

func TestMuxSlowSubscriberDropsAndCounts(t *testing.T) {
	a, b, _ := fakeLAN(t)
	a51, b51 := subscribe(t, a, 51), subscribe(t, b, 51)
	for range netops.QueueLen + 10 {
		sendVRID(t, a51, 51)
	}
	deadline := time.Now().Add(2 * time.Second)
	for b51.Dropped() != 10 {
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d, want 10", b51.Dropped())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := len(b51.Packets()); got != netops.QueueLen {
		t.Fatalf("%d queued, want %d", got, netops.QueueLen)
	}
}

// TestInbox: several subscriptions share an inbox; each queues apart, so that a flood on
// one VRID does not crowd out another's packets, and the inbox serves them in turn.
func TestInbox(t *testing.T) {
	host := fake.NewHost("h")
	seg := fake.NewSegment()
	host.Attach("eth0", seg, netip.MustParseAddr("192.0.2.1"))
	peer := fake.NewHost("p")
	peer.Attach("eth0", seg, netip.MustParseAddr("192.0.2.2"))
	m := netops.NewMux(host.Open, slog.New(slog.DiscardHandler))
	defer m.Close()
	inbox := netops.NewInbox()
	s51, err := m.SubscribeInbox("eth0", vrrp.IPv4, 51, inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.SubscribeInbox("eth0", vrrp.IPv4, 52, inbox); err != nil {
		t.Fatal(err)
	}
	tx, err := peer.Open("eth0", vrrp.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.2")
	for range 3 * netops.QueueLen { // a flood on 51
		tx.Write([]byte{0x31, 51, 100, 1}, src, vrrp.GroupIPv4)
	}
	tx.Write([]byte{0x31, 52, 100, 1}, src, vrrp.GroupIPv4)
	deadline := time.Now().Add(5 * time.Second)
	for !host.Idle() { // the Mux has read them all
		if time.Now().After(deadline) {
			t.Fatal("the Mux did not read the packets")
		}
		time.Sleep(time.Millisecond)
	}
	var got []byte
	for len(got) < netops.QueueLen+1 && time.Now().Before(deadline) {
		select {
		case <-inbox.Wake():
		case <-time.After(10 * time.Millisecond):
		}
		for p := inbox.Next(); p != nil; p = inbox.Next() {
			got = append(got, p.Data[1])
			p.Release()
		}
	}
	n51 := bytes.Count(got, []byte{51})
	if n51 != netops.QueueLen || bytes.Count(got, []byte{52}) != 1 {
		t.Fatalf("got VRIDs %v: want %d of 51 (its queue's worth) and the one of 52", got, netops.QueueLen)
	}
	if s51.Dropped() != 2*netops.QueueLen {
		t.Fatalf("51 dropped %d, want %d", s51.Dropped(), 2*netops.QueueLen)
	}
}
