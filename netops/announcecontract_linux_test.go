package netops_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
)

// TestAnnouncerContractLinux runs the contract that netops/fake's Announcer also passes
// against the LinuxAnnouncer, each case on a LAN of its own: the announcer in B, with
// the VIPs on eth0, and a client C that counts the GARPs and NAs that reach it from B.
func TestAnnouncerContractLinux(t *testing.T) {
	netnstest.Require(t)
	macB, err := net.ParseMAC(netops.AnnMACB)
	if err != nil {
		t.Fatal(err)
	}
	contract.Announcer(t, func(t *testing.T) contract.AnnouncerEnv {
		lan := netnstest.NewLAN(t)
		b := lan.Node("b", netops.AnnMACB, "192.0.2.2/24", "2001:db8::2/64")
		c := lan.Node("c", "", "192.0.2.3/24", "2001:db8::3/64")
		netops.AnnQuietKernel(t, b)
		for _, vip := range slices.Concat(contract.AnnounceV4, contract.AnnounceV6) {
			netops.AnnAddVIP(t, b, vip)
		}
		// Every EtherType, so that GARPs and NAs come through one socket.
		frames := netops.AnnListen(t, c, ethernet.EtherType(unix.ETH_P_ALL))
		ann := netops.AnnNew(t, b)
		return contract.AnnouncerEnv{
			Announce: func(ifname string, vips []netip.Addr, count int, reply bool) error {
				return b.Do(func() error { return ann.Announce(ifname, vips, count, reply) })
			},
			Sent: func(t *testing.T, expect int) map[netip.Addr]contract.Sent {
				got := map[netip.Addr]contract.Sent{}
				for _, f := range netops.AnnCollect(t, frames, expect, announcementFrom(macB)) {
					vip, kind := announcement(f)
					s := got[vip]
					switch kind {
					case garpRequest:
						s.Requests++
					case garpReply:
						s.Replies++
					case unsolicitedNA:
						s.NAs++
					}
					got[vip] = s
				}
				return got
			},
			Withdraw: func(t *testing.T, vip netip.Addr) error {
				netops.AnnDelVIP(t, b, vip)
				// The kernel refuses the NA's source address.
				return unix.EINVAL
			},
		}
	})
}

// announcementKind is what kind of announcement a frame is.
type announcementKind int

const (
	notAnnouncement announcementKind = iota
	garpRequest                      // request-form gratuitous ARP
	garpReply                        // reply-form gratuitous ARP
	unsolicitedNA                    // unsolicited neighbour advertisement
)

// announcementFrom accepts the announcements from mac.
func announcementFrom(mac net.HardwareAddr) func(f []byte) bool {
	arps, ip6s := netops.AnnFrom(mac, ethernet.EtherTypeARP), netops.AnnFrom(mac, ethernet.EtherTypeIPv6)
	return func(f []byte) bool {
		if !arps(f) && !ip6s(f) {
			return false
		}
		_, kind := announcement(f)
		return kind != notAnnouncement
	}
}

// announcement returns what kind of announcement Ethernet frame f is, and the VIP it
// announces: a gratuitous ARP has the VIP as both sender and target IP, an unsolicited
// NA has it as target. Their form is checked byte for byte by TestAnnounceOnTheWire.
func announcement(f []byte) (netip.Addr, announcementKind) {
	if len(f) < 14 {
		return netip.Addr{}, notAnnouncement
	}
	switch ethernet.EtherType(binary.BigEndian.Uint16(f[12:])) {
	case ethernet.EtherTypeARP:
		var p arp.Packet
		if err := p.UnmarshalBinary(f[14:]); err != nil || p.SenderIP != p.TargetIP {
			return netip.Addr{}, notAnnouncement
		}
		switch p.Operation {
		case arp.OperationRequest:
			return p.SenderIP, garpRequest
		case arp.OperationReply:
			return p.SenderIP, garpReply
		}
	case ethernet.EtherTypeIPv6:
		// An NA has no extension header: next header ICMPv6, right after the fixed
		// 40-byte header.
		ip6 := f[14:]
		if len(ip6) <= 40 || ip6[6] != 58 {
			return netip.Addr{}, notAnnouncement
		}
		m, err := ndp.ParseMessage(ip6[40:])
		if err != nil {
			return netip.Addr{}, notAnnouncement
		}
		if na, ok := m.(*ndp.NeighborAdvertisement); ok && !na.Solicited {
			return na.TargetAddress, unsolicitedNA
		}
	}
	return netip.Addr{}, notAnnouncement
}
