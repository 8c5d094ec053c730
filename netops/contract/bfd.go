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

// BFDEnv is two hosts, "a" and "b", on one LAN, each with an interface "eth0".
type BFDEnv struct {
	// Sockets returns host's BFD sockets.
	Sockets func(t *testing.T, host string) netops.BFDSockets
	// Addr returns host's unicast address of family f on eth0.
	Addr func(t *testing.T, host string, f vrrp.Family) netip.Addr
	// SendTTL sends pkt from host to dst's port 3784 with TTL or hop limit ttl.
	SendTTL func(t *testing.T, host string, dst netip.Addr, pkt []byte, ttl int)
}

func readBFD(l netops.BFDListener) <-chan read[netops.BFDMeta] { return readOnce(l.Read) }

// BFD runs the BFD socket contract against env.
func BFD(t *testing.T, env BFDEnv) {
	pkt := []byte{0x20, 0x40, 3, 24, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40, 0, 0, 0x27, 0x10, 0, 0, 0, 0}
	for _, f := range []vrrp.Family{vrrp.IPv4, vrrp.IPv6} {
		listen := func(t *testing.T, host string) netops.BFDListener {
			l, err := env.Sockets(t, host).ListenBFD(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return l
		}
		dial := func(t *testing.T, host string, local, peer netip.Addr, ifname string) netops.BFDSender {
			s, err := env.Sockets(t, host).DialBFD(local, peer, ifname)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		t.Run(f.String()+" a packet reaches the peer's port 3784 at TTL 255 from a port of 49152..65535", func(t *testing.T) {
			l := listen(t, "b")
			src, dst := env.Addr(t, "a", f), env.Addr(t, "b", f)
			for _, c := range []struct {
				name   string
				local  netip.Addr
				ifname string
			}{{"source and interface", src, "eth0"}, {"source only", src, ""}, {"interface only", netip.Addr{}, "eth0"}} {
				s := dial(t, "a", c.local, dst, c.ifname)
				if p := s.LocalPort(); p < 49152 {
					t.Fatalf("%s: source port %d", c.name, p)
				}
				r := readBFD(l)
				if err := s.Write(pkt); err != nil {
					t.Fatal(err)
				}
				select {
				case p := <-r:
					if p.err != nil {
						t.Fatalf("%s: %v", c.name, p.err)
					}
					if string(p.data) != string(pkt) {
						t.Fatalf("%s: received %x, sent %x", c.name, p.data, pkt)
					}
					if p.meta.Src != src || p.meta.Dst != dst || p.meta.TTL != 255 || p.meta.IfIndex == 0 || p.meta.SrcPort != s.LocalPort() {
						t.Fatalf("%s: meta %+v, want from %v port %d to %v, TTL 255, an interface", c.name, p.meta, src, s.LocalPort(), dst)
					}
				case <-time.After(2 * time.Second):
					t.Fatalf("%s: b received nothing", c.name)
				}
			}
		})
		t.Run(f.String()+" a packet at another TTL is reported as such", func(t *testing.T) {
			l := listen(t, "b")
			r := readBFD(l)
			env.SendTTL(t, "a", env.Addr(t, "b", f), pkt, 254)
			select {
			case p := <-r:
				if !errors.Is(p.err, netops.ErrBFDTTL) || p.meta.TTL != 254 || p.meta.Src != env.Addr(t, "a", f) {
					t.Fatalf("read %v, %+v; want ErrBFDTTL for TTL 254 from a", p.err, p.meta)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("b received nothing")
			}
		})
		t.Run(f.String()+" one listener per family, and Close ends a Read", func(t *testing.T) {
			l := listen(t, "b")
			if l2, err := env.Sockets(t, "b").ListenBFD(f); err == nil {
				l2.Close()
				t.Fatal("a second listener opened")
			}
			r := readBFD(l)
			l.Close()
			select {
			case p := <-r:
				if !errors.Is(p.err, net.ErrClosed) {
					t.Fatalf("Read after Close: %v", p.err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Read did not return after Close")
			}
		})
	}
}
