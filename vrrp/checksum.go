package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ChecksumForm says what a VRRPv3 IPv4 checksum covers. RFC 5798 is ambiguous about it:
// keepalived and Wireshark include the IPv4 pseudo-header, RFC 9568, Cisco and Juniper use
// the message alone. VRRPv2 always uses the message alone and VRRPv3 IPv6 always the
// pseudo-header, whatever the form says.
type ChecksumForm uint8

// Checksum forms. The zero value is keepalived's.
const (
	ChecksumPseudoHeader ChecksumForm = iota
	ChecksumMessageOnly
)

func (c ChecksumForm) String() string {
	if c == ChecksumMessageOnly {
		return "message-only"
	}
	return "pseudo-header"
}

// Checksum computes the checksum of an encoded advert msg sent from src to dst, treating
// its checksum field as zero. form applies to VRRPv3 over IPv4 only.
func Checksum(msg []byte, form ChecksumForm, src, dst netip.Addr) uint16 {
	var sum uint32
	if len(msg) >= headerLen && Version(msg[0]>>4) == Version3 && (src.Is6() || form == ChecksumPseudoHeader) {
		sum = pseudoHeaderSum(src, dst, len(msg))
	}
	sum = onesSum(sum, msg[:min(len(msg), 6)])
	if len(msg) > headerLen {
		sum = onesSum(sum, msg[headerLen:])
	}
	return ^fold(sum)
}

// pseudoHeaderSum sums the IPv4 (RFC 768) or IPv6 (RFC 8200 section 8.1) pseudo-header.
func pseudoHeaderSum(src, dst netip.Addr, length int) uint32 {
	var sum uint32
	var buf [32]byte
	sum = onesSum(sum, appendAddr(buf[:0], src))
	sum = onesSum(sum, appendAddr(buf[:0], dst))
	// Both forms reduce to the same sum: the length and the protocol in 16-bit words.
	sum += uint32(length>>16) + uint32(length&0xffff) + IPProtocol
	return sum
}

// onesSum adds b to sum as big-endian 16-bit words (RFC 1071); an odd last byte is padded.
func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		sum = sum&0xffff + sum>>16
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// Encode returns the advert's wire form with its checksum computed for a packet from src
// to dst. For a multicast advert dst is the group; for unicast, each peer gets its own.
func (a *Advertisement) Encode(src, dst netip.Addr, form ChecksumForm) ([]byte, error) {
	return a.AppendEncoded(make([]byte, 0, a.Len()), src, dst, form)
}

// AppendEncoded is Encode appending to b: with a b of enough capacity, reused from one
// advert to the next, it allocates nothing.
func (a *Advertisement) AppendEncoded(b []byte, src, dst netip.Addr, form ChecksumForm) ([]byte, error) {
	if a.Version == Version3 && (FamilyOf(src) != a.Family() && len(a.Addresses) > 0 || FamilyOf(dst) != FamilyOf(src)) {
		return b, fmt.Errorf("vrrp: encode: %w: %v -> %v for an %v advert", ErrFamily, src, dst, a.Family())
	}
	start := len(b)
	c := *a
	c.Checksum = 0
	b, err := c.AppendBinary(b)
	if err != nil {
		return b, err
	}
	msg := b[start:]
	binary.BigEndian.PutUint16(msg[6:8], Checksum(msg, form, src, dst))
	return b, nil
}
