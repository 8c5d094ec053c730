// Package contract holds the behaviour that the Linux netops implementations and their
// in-memory fakes must share, as test cases each of them runs.
package contract

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// SocketEnv is two hosts, "a" and "b", on one LAN.
type SocketEnv struct {
	// Open opens host's socket of family f on its LAN interface; the test closes it.
	Open func(t *testing.T, host string, f vrrp.Family) netops.Socket
	// Addr returns host's advert source of family f: its IPv4 address, or its IPv6
	// link-local address.
	Addr func(t *testing.T, host string, f vrrp.Family) netip.Addr
	// Unicast returns host's unicast address of family f.
	Unicast func(t *testing.T, host string, f vrrp.Family) netip.Addr
}

// read is what one Read returned: data, its metadata M, and the error.
type read[M any] struct {
	data []byte
	meta M
	err  error
}

// readOnce reads once in a goroutine of its own, so that a test can wait with a deadline.
func readOnce[M any](r func([]byte) (int, M, error)) <-chan read[M] {
	ch := make(chan read[M], 1)
	go func() {
		b := make([]byte, 1500)
		n, m, err := r(b)
		ch <- read[M]{b[:n], m, err}
	}()
	return ch
}

func readOne(s netops.Socket) <-chan read[vrrp.Meta] { return readOnce(s.Read) }

func advert(t *testing.T, f vrrp.Family, src, dst netip.Addr) []byte {
	t.Helper()
	vip := netip.MustParseAddr("192.0.2.100")
	if f == vrrp.IPv6 {
		vip = netip.MustParseAddr("2001:db8::100")
	}
	a := vrrp.Advertisement{Version: vrrp.Version3, Type: vrrp.TypeAdvertisement, VRID: 42, Priority: 100,
		Interval: time.Second, Addresses: []netip.Addr{vip}}
	b, err := a.Encode(src, dst, vrrp.ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Sockets runs the socket contract against env.
func Sockets(t *testing.T, env SocketEnv) {
	for _, f := range []vrrp.Family{vrrp.IPv4, vrrp.IPv6} {
		t.Run(f.String()+" multicast reaches the peer, not the sender", func(t *testing.T) {
			sa, sb := env.Open(t, "a", f), env.Open(t, "b", f)
			ra, rb := readOne(sa), readOne(sb)
			src, dst := env.Addr(t, "a", f), netops.Group(f)
			pkt := advert(t, f, src, dst)
			if err := sa.Write(pkt, src, dst); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-rb:
				if p.err != nil {
					t.Fatal(p.err)
				}
				if string(p.data) != string(pkt) {
					t.Fatalf("received %x, sent %x", p.data, pkt)
				}
				if p.meta.Src != src || p.meta.Dst != dst || p.meta.TTL != 255 || p.meta.IfIndex == 0 {
					t.Fatalf("meta %+v, want from %v to %v, TTL 255, an interface", p.meta, src, dst)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("b received nothing")
			}
			select {
			case p := <-ra:
				t.Fatalf("the sender heard itself: %+v", p.meta)
			case <-time.After(200 * time.Millisecond):
			}
		})
		t.Run(f.String()+" another group reaches the peer that joined it only", func(t *testing.T) {
			group := netip.MustParseAddr("224.0.0.118")
			if f == vrrp.IPv6 {
				group = netip.MustParseAddr("ff02::118")
			}
			sa, sb := env.Open(t, "a", f), env.Open(t, "b", f)
			src := env.Addr(t, "a", f)
			pkt := advert(t, f, src, group)
			rb := readOne(sb)
			if err := sa.Write(pkt, src, group); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-rb:
				t.Fatalf("b heard %v before joining it: %+v", group, p.meta)
			case <-time.After(200 * time.Millisecond):
			}
			jb, ok := sb.(netops.GroupJoiner)
			if !ok {
				t.Fatal("the socket cannot join groups")
			}
			if err := jb.JoinGroup(group); err != nil {
				t.Fatal(err)
			}
			if err := sa.Write(pkt, src, group); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-rb:
				if p.err != nil || p.meta.Dst != group {
					t.Fatalf("received %+v (%v), want to %v", p.meta, p.err, group)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("b received nothing after joining")
			}
			if err := jb.LeaveGroup(group); err != nil {
				t.Fatal(err)
			}
			rb = readOne(sb)
			if err := sa.Write(pkt, src, group); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-rb:
				t.Fatalf("b heard %v after leaving it: %+v", group, p.meta)
			case <-time.After(200 * time.Millisecond):
			}
		})
		t.Run(f.String()+" unicast reaches the addressed peer", func(t *testing.T) {
			sa, sb := env.Open(t, "a", f), env.Open(t, "b", f)
			rb := readOne(sb)
			src, dst := env.Unicast(t, "a", f), env.Unicast(t, "b", f)
			if err := sa.Write(advert(t, f, src, dst), src, dst); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-rb:
				if p.err != nil || p.meta.Src != src || p.meta.Dst != dst {
					t.Fatalf("received %+v (%v), want from %v to %v", p.meta, p.err, src, dst)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("b received nothing")
			}
		})
	}
	t.Run("close ends a blocked read", func(t *testing.T) {
		s := env.Open(t, "a", vrrp.IPv4)
		r := readOne(s)
		time.Sleep(20 * time.Millisecond) // let the read block; the result does not depend on it
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-r:
			if !errors.Is(p.err, net.ErrClosed) {
				t.Fatalf("read after close: %v, want net.ErrClosed", p.err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("read still blocked after close")
		}
	})
}
