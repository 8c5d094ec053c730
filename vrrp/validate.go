package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Meta is what the socket says about a received packet.
type Meta struct {
	Src, Dst netip.Addr // IP source and destination
	TTL      int        // TTL (IPv4) or hop limit (IPv6)
	IfIndex  int        // interface the packet arrived on; 0 when unknown
	// Received is when the kernel received the packet, by the receiver's clock; zero
	// when unknown. A backup's timers count from it (see ArrivalCredit).
	Received time.Time
}

// Expect is what an instance requires of the adverts it accepts.
type Expect struct {
	Version Version
	Family  Family
	VRID    uint8
	// IfIndex, when not 0, is the only interface adverts may arrive on.
	IfIndex int
	// AuthType and AuthData are compared in VRRPv2 only.
	AuthType AuthType
	AuthData [8]byte
	// Interval is the configured advert interval; VRRPv2 adverts must carry the same.
	Interval time.Duration
	// VIPs are the addresses every advert must carry, in any order.
	VIPs []netip.Addr
	// Unicast instances accept only packets addressed to Source, at any TTL; multicast
	// instances only packets to the group, at TTL 255.
	Unicast bool
	// Source is the instance's own address: its adverts' source and its unicast
	// destination. A packet from it is our own, looped back.
	Source netip.Addr
	// Peers, when not empty, are the only sources accepted (keepalived's check_unicast_src).
	Peers []netip.Addr
	// Group, when valid, is the only multicast destination accepted.
	Group netip.Addr
}

// Received is an advert that passed every receive check.
type Received struct {
	Advertisement
	// Form is the checksum form that matched: VRRPv3 over IPv4 accepts either.
	Form ChecksumForm
	// LinkLocalFirst reports for IPv6 whether the first address is link-local, as
	// RFC 9568 errata ask. keepalived neither sends nor checks it: log it, do not drop.
	LinkLocalFirst bool
}

// Reason is why an advert was discarded. Each reason is a counter in `vrrpd show`.
type Reason uint8

// Discard reasons, in the order Validate checks them.
const (
	ReasonLength       Reason = iota // shorter than its header and address count require
	ReasonTTL                        // multicast with TTL or hop limit other than 255
	ReasonInterface                  // arrived on another interface
	ReasonVRID                       // another virtual router
	ReasonVersion                    // VRRP version other than the instance's
	ReasonAuth                       // VRRPv2 authentication type or password differs
	ReasonIntervalZero               // advert interval 0 (RFC 9568 errata)
	ReasonInterval                   // VRRPv2 advert interval differs from ours
	ReasonType                       // type other than advertisement
	ReasonCountZero                  // no addresses (RFC 9568 errata)
	ReasonAddressCount               // address count differs from our VIP count
	ReasonChecksum                   // checksum matches no accepted form
	ReasonDestination                // multicast in unicast mode, or the reverse, or not to our source
	ReasonLocalSource                // our own advert, looped back
	ReasonSource                     // unicast source not a configured peer
	ReasonAddressList                // a configured VIP is missing from the advert
	NumReasons                       // number of reasons, for counter arrays
)

var reasonNames = [NumReasons]string{
	ReasonLength:       "length",
	ReasonTTL:          "ttl",
	ReasonInterface:    "interface",
	ReasonVRID:         "vrid",
	ReasonVersion:      "version",
	ReasonAuth:         "auth",
	ReasonIntervalZero: "interval_zero",
	ReasonInterval:     "interval",
	ReasonType:         "type",
	ReasonCountZero:    "count_zero",
	ReasonAddressCount: "address_count",
	ReasonChecksum:     "checksum",
	ReasonDestination:  "destination",
	ReasonLocalSource:  "local_source",
	ReasonSource:       "source",
	ReasonAddressList:  "address_list",
}

// String returns the reason's counter name, e.g. "ttl" or "address_count".
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason %d", uint8(r))
}

// DiscardError says why an advert was discarded, with what it carried and what was
// expected, e.g. "version: version 2, expected 3".
type DiscardError struct {
	Reason Reason
	Detail string
}

func (e *DiscardError) Error() string { return e.Reason.String() + ": " + e.Detail }

// Validate applies the receive checks of RFC 5798 section 7.1 to the packet pkt in the
// order keepalived applies them, and decodes it. It returns a *DiscardError when the
// packet must be dropped. It is pure: the same inputs give the same answer.
func Validate(pkt []byte, m Meta, e *Expect) (Received, error) {
	r, d := validate(pkt, m, e)
	if d.dropped {
		return Received{}, &DiscardError{Reason: d.reason, Detail: d.detail()}
	}
	return r, nil
}

// maxListed is how many of an advert's addresses a discard keeps for its detail.
const maxListed = 8

// discard is why a packet was dropped: its reason and the values its detail names,
// kept unformatted, so that dropping a packet, which any host on the LAN can make us do
// at line rate, allocates nothing. detail formats it.
type discard struct {
	dropped bool
	reason  Reason
	variant uint8 // which detail of the reason
	n1, n2  int64
	a1, a2  netip.Addr
	listed  [maxListed]netip.Addr
	count   int // addresses in the advert, for address_list
}

// Variants of a reason's detail.
const (
	lengthHeader uint8 = iota
	lengthAddresses
	lengthDecode
)

const (
	authType uint8 = iota
	authPassword
)

const (
	destinationUnicast uint8 = iota
	destinationMulticast
)

func drop(r Reason, variant uint8, n1, n2 int64) discard {
	return discard{dropped: true, reason: r, variant: variant, n1: n1, n2: n2}
}

func dropAddrs(r Reason, variant uint8, a1, a2 netip.Addr) discard {
	return discard{dropped: true, reason: r, variant: variant, a1: a1, a2: a2}
}

// detail says what the packet carried and what was expected.
func (d *discard) detail() string {
	switch d.reason {
	case ReasonLength:
		switch d.variant {
		case lengthHeader:
			return fmt.Sprintf("%d bytes, a header needs %d", d.n1, d.n2)
		case lengthAddresses:
			return fmt.Sprintf("%d bytes, %d addresses need %d", d.n1, d.n2>>16, d.n2&0xffff)
		}
		return "undecodable"
	case ReasonTTL:
		return fmt.Sprintf("ttl %d, expected 255", d.n1)
	case ReasonInterface:
		return fmt.Sprintf("interface index %d, expected %d", d.n1, d.n2)
	case ReasonVRID:
		return fmt.Sprintf("vrid %d, expected %d", d.n1, d.n2)
	case ReasonVersion:
		return fmt.Sprintf("version %d, expected %d", d.n1, d.n2)
	case ReasonAuth:
		if d.variant == authPassword {
			return "wrong password"
		}
		return fmt.Sprintf("auth type %v, expected %v", AuthType(d.n1), AuthType(d.n2))
	case ReasonIntervalZero:
		return "advert interval 0"
	case ReasonInterval:
		return fmt.Sprintf("advert interval %v, expected %v", time.Duration(d.n1), time.Duration(d.n2))
	case ReasonType:
		return fmt.Sprintf("type %d, expected %d", d.n1, TypeAdvertisement)
	case ReasonCountZero:
		return "no addresses"
	case ReasonAddressCount:
		return fmt.Sprintf("%d addresses, expected %d", d.n1, d.n2)
	case ReasonChecksum:
		return fmt.Sprintf("checksum %#04x matches no accepted form", d.n1)
	case ReasonDestination:
		if d.variant == destinationMulticast {
			if d.a2.IsValid() {
				return fmt.Sprintf("sent to %v, expected the group %v", d.a1, d.a2)
			}
			return fmt.Sprintf("sent to %v, expected multicast", d.a1)
		}
		return fmt.Sprintf("sent to %v, expected unicast to %v", d.a1, d.a2)
	case ReasonLocalSource:
		return fmt.Sprintf("from our own address %v", d.a1)
	case ReasonSource:
		return fmt.Sprintf("from %v, not a configured peer", d.a1)
	case ReasonAddressList:
		listed := d.listed[:min(d.count, maxListed)]
		s := fmt.Sprintf("%v missing from %v", d.a1, listed)
		if d.count > maxListed {
			s = fmt.Sprintf("%v missing from %v (and %d more)", d.a1, listed, d.count-maxListed)
		}
		return s
	}
	return d.reason.String()
}

// validate is Validate without allocations for a dropped packet; an accepted one is
// decoded (its address list allocated).
func validate(pkt []byte, m Meta, e *Expect) (Received, discard) {
	if len(pkt) < headerLen {
		return Received{}, drop(ReasonLength, lengthHeader, int64(len(pkt)), headerLen)
	}
	version := Version(pkt[0] >> 4)
	if version != Version2 && version != Version3 {
		version = e.Version // length as the instance would see it; the version check follows
	}
	count := int(pkt[3])
	if need := messageLen(version, e.Family, count); len(pkt) < need {
		return Received{}, drop(ReasonLength, lengthAddresses, int64(len(pkt)), int64(count)<<16|int64(need))
	}
	if !e.Unicast && m.TTL != 255 {
		return Received{}, drop(ReasonTTL, 0, int64(m.TTL), 0)
	}
	if e.IfIndex != 0 && m.IfIndex != 0 && m.IfIndex != e.IfIndex {
		return Received{}, drop(ReasonInterface, 0, int64(m.IfIndex), int64(e.IfIndex))
	}
	if pkt[1] != e.VRID {
		return Received{}, drop(ReasonVRID, 0, int64(pkt[1]), int64(e.VRID))
	}
	if v := Version(pkt[0] >> 4); v != e.Version {
		return Received{}, drop(ReasonVersion, 0, int64(v), int64(e.Version))
	}
	a, err := parseHeader(pkt, e.Family)
	if err != nil {
		// Unreachable after the checks above; kept so a future change cannot panic.
		return Received{}, drop(ReasonLength, lengthDecode, 0, 0)
	}
	if a.Version == Version2 {
		if a.AuthType != e.AuthType {
			return Received{}, drop(ReasonAuth, authType, int64(a.AuthType), int64(e.AuthType))
		}
		if a.AuthType == AuthSimple && a.AuthData != e.AuthData {
			return Received{}, drop(ReasonAuth, authPassword, 0, 0)
		}
	}
	if a.Interval == 0 {
		return Received{}, drop(ReasonIntervalZero, 0, 0, 0)
	}
	if a.Version == Version2 && a.Interval != e.Interval {
		return Received{}, drop(ReasonInterval, 0, int64(a.Interval), int64(e.Interval))
	}
	if a.Type != TypeAdvertisement {
		return Received{}, drop(ReasonType, 0, int64(a.Type), 0)
	}
	if count == 0 {
		return Received{}, drop(ReasonCountZero, 0, 0, 0)
	}
	if count != len(e.VIPs) {
		return Received{}, drop(ReasonAddressCount, 0, int64(count), int64(len(e.VIPs)))
	}
	form, ok := checkChecksum(pkt[:messageLen(a.Version, e.Family, count)], m)
	if !ok {
		return Received{}, drop(ReasonChecksum, 0, int64(a.Checksum), 0)
	}
	if e.Unicast && (m.Dst.IsMulticast() || m.Dst != e.Source) {
		return Received{}, dropAddrs(ReasonDestination, destinationUnicast, m.Dst, e.Source)
	}
	if !e.Unicast && (!m.Dst.IsMulticast() || e.Group.IsValid() && m.Dst != e.Group) {
		return Received{}, dropAddrs(ReasonDestination, destinationMulticast, m.Dst, e.Group)
	}
	if m.Src == e.Source {
		return Received{}, dropAddrs(ReasonLocalSource, 0, m.Src, netip.Addr{})
	}
	if e.Unicast && len(e.Peers) > 0 && !slices.Contains(e.Peers, m.Src) {
		return Received{}, dropAddrs(ReasonSource, 0, m.Src, netip.Addr{})
	}
	for _, vip := range e.VIPs {
		if !carries(pkt, e.Family, count, vip) {
			d := dropAddrs(ReasonAddressList, 0, vip, netip.Addr{})
			d.count = count
			for i := range min(count, maxListed) {
				d.listed[i] = addressAt(pkt, e.Family, i)
			}
			return Received{}, d
		}
	}
	a.Addresses = make([]netip.Addr, count)
	for i := range a.Addresses {
		a.Addresses[i] = addressAt(pkt, e.Family, i)
	}
	r := Received{Advertisement: a, Form: form}
	if e.Family == IPv6 {
		r.LinkLocalFirst = a.Addresses[0].IsLinkLocalUnicast()
	}
	return r, discard{}
}

// carries reports whether the advert pkt, of count addresses, carries vip.
func carries(pkt []byte, f Family, count int, vip netip.Addr) bool {
	for i := range count {
		if addressAt(pkt, f, i) == vip {
			return true
		}
	}
	return false
}

// checkChecksum verifies the checksum of msg. VRRPv3 over IPv4 accepts the pseudo-header
// form and the message-only form and reports which one matched.
func checkChecksum(msg []byte, m Meta) (ChecksumForm, bool) {
	got := binary.BigEndian.Uint16(msg[6:8])
	if Checksum(msg, ChecksumPseudoHeader, m.Src, m.Dst) == got {
		return ChecksumPseudoHeader, true
	}
	if Version(msg[0]>>4) == Version3 && m.Src.Is4() && Checksum(msg, ChecksumMessageOnly, m.Src, m.Dst) == got {
		return ChecksumMessageOnly, true
	}
	return ChecksumPseudoHeader, false
}
