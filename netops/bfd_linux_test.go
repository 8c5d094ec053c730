package netops_test

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
	"github.com/vrrpd/vrrpd/vrrp"
)

// nsBFD opens the kernel's BFD sockets inside a namespace.
type nsBFD struct{ ns *netnstest.NS }

func (n nsBFD) ListenBFD(f vrrp.Family) (l netops.BFDListener, err error) {
	err = n.ns.Do(func() (err error) {
		l, err = netops.KernelBFD{}.ListenBFD(f)
		return err
	})
	return l, err
}

func (n nsBFD) DialBFD(local, peer netip.Addr, ifname string) (s netops.BFDSender, err error) {
	err = n.ns.Do(func() (err error) {
		s, err = netops.KernelBFD{}.DialBFD(local, peer, ifname)
		return err
	})
	return s, err
}

func TestBFDContract(t *testing.T) {
	p := newPair(t)
	nodes := map[string]*netnstest.NS{"a": p.a, "b": p.b}
	addrs := map[string]map[vrrp.Family]string{
		"a": {vrrp.IPv4: "192.0.2.1", vrrp.IPv6: "2001:db8::1"},
		"b": {vrrp.IPv4: "192.0.2.2", vrrp.IPv6: "2001:db8::2"},
	}
	contract.BFD(t, contract.BFDEnv{
		Sockets: func(_ *testing.T, host string) netops.BFDSockets { return nsBFD{nodes[host]} },
		Addr: func(_ *testing.T, host string, f vrrp.Family) netip.Addr {
			return netip.MustParseAddr(addrs[host][f])
		},
		SendTTL: func(t *testing.T, host string, dst netip.Addr, pkt []byte, ttl int) {
			nodes[host].MustDo(func() error {
				network := "udp4"
				if dst.Is6() {
					network = "udp6"
				}
				c, err := net.Dial(network, net.JoinHostPort(dst.String(), strconv.Itoa(3784)))
				if err != nil {
					return err
				}
				defer c.Close()
				if dst.Is6() {
					err = ipv6.NewConn(c).SetHopLimit(ttl)
				} else {
					err = ipv4.NewConn(c).SetTTL(ttl)
				}
				if err != nil {
					return err
				}
				_, err = c.Write(pkt)
				return err
			})
		},
	})
}
