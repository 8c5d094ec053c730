// Package netops is the Linux side of vrrpd: protocol-112 sockets, virtual IP addresses
// and link events through netlink, gratuitous ARP and unsolicited neighbour
// advertisements. It carries out what the state machine of package vrrp decides, and
// hands it what the kernel says about each packet; it decides nothing itself.
//
// # Sockets
//
// OpenSocket opens one raw socket per interface and family, and Mux shares it among
// every VRID on that interface, multicast and unicast alike, handing each packet to the
// subscriber of its VRID. A socket per instance would multiply read loops and group
// memberships for nothing: the VRID is in the second byte of every advert.
//
// Each socket is set up as keepalived and FRR set theirs (RFC 5798 section 5.1 and the
// protocol notes, section 8):
//
//   - SO_BINDTODEVICE, so that an advert that arrives on another interface is never
//     seen: the same VRID may run on two VLANs.
//   - IP_MULTICAST_ALL / IPV6_MULTICAST_ALL off. Linux otherwise delivers to a raw socket
//     the packets of every group joined on any interface, whatever the socket joined.
//   - Multicast loop off: a router must not hear its own adverts.
//   - TTL and hop limit 255, unicast and multicast: receivers drop multicast adverts
//     that crossed a router (RFC 5798 section 5.1.1.3).
//   - TOS / traffic class 0xc0 (network control), as keepalived sends.
//   - IP_MULTICAST_IF by index and the group joined on that interface only.
//   - IPv6: IPV6_CHECKSUM at offset 6, so the kernel computes the checksum with the
//     pseudo-header on send and drops wrong ones on receive. IPv4 has no such option:
//     the vrrp package computes both VRRPv3 forms in user space.
//
// The kernel builds the IP header. Control messages carry what the receive checks need
// (TTL or hop limit, destination, interface) to vrrp.Validate, so that every RFC check
// happens in one place, and carry the source address of each advert out, so that an
// advert leaves from the instance's address and never from a VIP the kernel might
// otherwise pick. Interfaces are named by index, never by name, in anything the kernel
// resolves, because a name is looked up in the namespace of the calling thread.
//
// # Addresses, announcements, events
//
// VIPManager adds and removes VIPs through netlink (IPv6 with IFA_F_NODAD), records
// every VIP it adds in a state file so that a restart after a crash removes what the
// crash left and never a node's own address, and puts back a VIP someone deletes while
// it is wanted. LinuxAnnouncer sends gratuitous ARP and unsolicited neighbour
// advertisements byte for byte as keepalived does, and Announce runs keepalived's burst
// schedule. Monitor turns netlink link and address notifications into typed events,
// listing the current state first and again after every re-subscription.
//
// # Routes, rules, virtual MAC interfaces, parameters
//
// RouteManager adds and removes an instance's virtual routes and policy rules, each
// marked with RouteProtocol (RTPROT and FRA_PROTOCOL 112) and recorded in routes.json,
// and removes only its own: the kernel matches the protocol on delete. LinkManager
// creates and removes virtual MAC interfaces (RFC 5798 section 7.3's MAC on a macvlan in
// private mode, or an L2 ipvlan), marked by their alias and recorded, with the base
// interface's parameters they changed, in links.json. Both clean what an earlier run
// left, at start and in `vrrpd cleanup`. SetSysctl writes the per-interface parameters
// (promote_secondaries, arp_ignore, ...). Sockets may also join a multicast group other
// than the RFC's (GroupJoiner, keepalived's mcast_dst_ip).
//
// # BFD
//
// KernelBFD opens the UDP sockets of single-hop BFD (RFC 5881): a listener per family on
// port 3784 of every address, which asks for each packet's TTL or hop limit,
// destination and interface and reports a packet at another TTL than 255 as
// ErrBFDTTL, and a sender per session, connected to the peer's port 3784 from a random
// free port of 49152..65535, with TTL or hop limit 255, traffic class 0xc0 and
// SO_BINDTODEVICE when the session names an interface. Package bfd decides what to send.
//
// Package netops/fake has in-memory versions of the sockets, addresses, routes, virtual
// MAC interfaces, BFD sockets and announcer for the daemon's unit tests; netops/contract holds the
// cases both must pass.
package netops
