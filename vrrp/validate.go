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

func discard(r Reason, format string, args ...any) *DiscardError {
	return &DiscardError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Validate applies the receive checks of RFC 5798 section 7.1 to the packet pkt in the
// order keepalived applies them, and decodes it. It returns a *DiscardError when the
// packet must be dropped. It is pure: the same inputs give the same answer.
func Validate(pkt []byte, m Meta, e *Expect) (Received, error) {
	if len(pkt) < headerLen {
		return Received{}, discard(ReasonLength, "%d bytes, a header needs %d", len(pkt), headerLen)
	}
	version := Version(pkt[0] >> 4)
	if version != Version2 && version != Version3 {
		version = e.Version // length as the instance would see it; the version check follows
	}
	count := int(pkt[3])
	if need := messageLen(version, e.Family, count); len(pkt) < need {
		return Received{}, discard(ReasonLength, "%d bytes, %d addresses need %d", len(pkt), count, need)
	}
	if !e.Unicast && m.TTL != 255 {
		return Received{}, discard(ReasonTTL, "ttl %d, expected 255", m.TTL)
	}
	if e.IfIndex != 0 && m.IfIndex != 0 && m.IfIndex != e.IfIndex {
		return Received{}, discard(ReasonInterface, "interface index %d, expected %d", m.IfIndex, e.IfIndex)
	}
	if pkt[1] != e.VRID {
		return Received{}, discard(ReasonVRID, "vrid %d, expected %d", pkt[1], e.VRID)
	}
	if v := Version(pkt[0] >> 4); v != e.Version {
		return Received{}, discard(ReasonVersion, "version %d, expected %d", v, e.Version)
	}
	a, err := Parse(pkt, e.Family)
	if err != nil {
		// Unreachable after the checks above; kept so a future change cannot panic.
		return Received{}, discard(ReasonLength, "%v", err)
	}
	if a.Version == Version2 {
		if a.AuthType != e.AuthType {
			return Received{}, discard(ReasonAuth, "auth type %v, expected %v", a.AuthType, e.AuthType)
		}
		if a.AuthType == AuthSimple && a.AuthData != e.AuthData {
			return Received{}, discard(ReasonAuth, "wrong password")
		}
	}
	if a.Interval == 0 {
		return Received{}, discard(ReasonIntervalZero, "advert interval 0")
	}
	if a.Version == Version2 && a.Interval != e.Interval {
		return Received{}, discard(ReasonInterval, "advert interval %v, expected %v", a.Interval, e.Interval)
	}
	if a.Type != TypeAdvertisement {
		return Received{}, discard(ReasonType, "type %d, expected %d", a.Type, TypeAdvertisement)
	}
	if count == 0 {
		return Received{}, discard(ReasonCountZero, "no addresses")
	}
	if count != len(e.VIPs) {
		return Received{}, discard(ReasonAddressCount, "%d addresses, expected %d", count, len(e.VIPs))
	}
	form, ok := checkChecksum(pkt[:a.Len()], m)
	if !ok {
		return Received{}, discard(ReasonChecksum, "checksum %#04x matches no accepted form", a.Checksum)
	}
	if e.Unicast && (m.Dst.IsMulticast() || m.Dst != e.Source) {
		return Received{}, discard(ReasonDestination, "sent to %v, expected unicast to %v", m.Dst, e.Source)
	}
	if !e.Unicast && !m.Dst.IsMulticast() {
		return Received{}, discard(ReasonDestination, "sent to %v, expected multicast", m.Dst)
	}
	if m.Src == e.Source {
		return Received{}, discard(ReasonLocalSource, "from our own address %v", m.Src)
	}
	if e.Unicast && len(e.Peers) > 0 && !slices.Contains(e.Peers, m.Src) {
		return Received{}, discard(ReasonSource, "from %v, not a configured peer", m.Src)
	}
	for _, vip := range e.VIPs {
		if !slices.Contains(a.Addresses, vip) {
			return Received{}, discard(ReasonAddressList, "%v missing from %v", vip, a.Addresses)
		}
	}
	r := Received{Advertisement: a, Form: form}
	if e.Family == IPv6 {
		r.LinkLocalFirst = a.Addresses[0].IsLinkLocalUnicast()
	}
	return r, nil
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
