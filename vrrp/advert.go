package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// IPProtocol is the IP protocol number of VRRP (RFC 5798 section 5.1.1.4).
const IPProtocol = 112

// TypeAdvertisement is the only VRRP packet type (RFC 5798 section 5.2.2).
const TypeAdvertisement = 1

// Multicast groups that adverts are sent to (RFC 5798 sections 5.1.1.2 and 5.1.2.2).
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
)

// Version is the VRRP version: 2 (RFC 3768) or 3 (RFC 5798/9568).
type Version uint8

// The two versions vrrpd speaks. They never mix within an instance.
const (
	Version2 Version = 2
	Version3 Version = 3
)

// Family is the address family of an instance: its VIPs, its sockets and its peers.
type Family uint8

// Address families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// addrLen is the size of one address in an advert of family f.
func (f Family) addrLen() int {
	if f == IPv6 {
		return 16
	}
	return 4
}

// FamilyOf returns the family of a.
func FamilyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// AuthType is the VRRPv2 authentication type (RFC 3768 section 5.3.6).
type AuthType uint8

// VRRPv2 authentication types. vrrpd speaks none and simple text password.
const (
	AuthNone   AuthType = 0
	AuthSimple AuthType = 1
	AuthAH     AuthType = 2
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthSimple:
		return "pass"
	case AuthAH:
		return "ah"
	}
	return fmt.Sprintf("auth type %d", uint8(t))
}

// AuthPassword returns the 8 authentication bytes for a VRRPv2 simple password:
// truncated to 8 bytes or padded with zeros, as keepalived does.
func AuthPassword(password string) [8]byte {
	var b [8]byte
	copy(b[:], password)
	return b
}

// Wire sizes.
const (
	headerLen   = 8 // version/type, VRID, priority, count, then auth+interval (v2) or interval (v3), checksum
	authDataLen = 8 // VRRPv2 always carries 8 authentication bytes
	// MaxInterval3 is the largest VRRPv3 Max Adver Interval: 4095 centiseconds.
	MaxInterval3 = 4095 * 10 * time.Millisecond
	// MaxInterval2 is the largest VRRPv2 Adver Int: 255 seconds.
	MaxInterval2 = 255 * time.Second
)

// Errors returned when decoding or encoding an advert. They are wrapped with detail;
// compare with errors.Is.
var (
	ErrShort    = errors.New("advert shorter than its address count requires")
	ErrVersion  = errors.New("unsupported VRRP version")
	ErrFamily   = errors.New("addresses of the wrong family")
	ErrInterval = errors.New("interval not representable")
	ErrCount    = errors.New("too many addresses")
)

// Advertisement is a VRRP advertisement, version 2 or 3, IPv4 or IPv6, as it is on the wire.
//
// The zero Checksum is sent as is by MarshalBinary; Encode computes it.
type Advertisement struct {
	Version  Version
	Type     uint8
	VRID     uint8
	Priority uint8
	// Interval is the Adver Int (VRRPv2, whole seconds) or the Max Adver Int (VRRPv3,
	// centiseconds, 12 bits).
	Interval time.Duration
	Checksum uint16
	// Addresses are the IPvX addresses of the virtual router, all of one family.
	Addresses []netip.Addr
	// AuthType and AuthData exist in VRRPv2 only.
	AuthType AuthType
	AuthData [8]byte
}

// Family returns the family of the advert's addresses; IPv4 when it carries none.
func (a *Advertisement) Family() Family {
	if len(a.Addresses) > 0 {
		return FamilyOf(a.Addresses[0])
	}
	return IPv4
}

// Len returns the size of the encoded advert in bytes.
func (a *Advertisement) Len() int {
	return messageLen(a.Version, a.Family(), len(a.Addresses))
}

func messageLen(v Version, f Family, count int) int {
	n := headerLen + count*f.addrLen()
	if v == Version2 {
		n += authDataLen
	}
	return n
}

// MarshalBinary encodes the advert as it is, Checksum included.
func (a *Advertisement) MarshalBinary() ([]byte, error) {
	return a.AppendBinary(make([]byte, 0, a.Len()))
}

// AppendBinary appends the encoded advert, Checksum included, to b.
func (a *Advertisement) AppendBinary(b []byte) ([]byte, error) {
	if err := a.check(); err != nil {
		return b, err
	}
	b = append(b, byte(a.Version)<<4|a.Type&0x0f, a.VRID, a.Priority, byte(len(a.Addresses)))
	switch a.Version {
	case Version2:
		b = append(b, byte(a.AuthType), byte(a.Interval/time.Second))
	case Version3:
		b = binary.BigEndian.AppendUint16(b, uint16(a.Interval/(10*time.Millisecond)))
	}
	b = binary.BigEndian.AppendUint16(b, a.Checksum)
	for _, addr := range a.Addresses {
		b = append(b, addr.AsSlice()...)
	}
	if a.Version == Version2 {
		b = append(b, a.AuthData[:]...)
	}
	return b, nil
}

// check reports whether the advert can be encoded.
func (a *Advertisement) check() error {
	if a.Version != Version2 && a.Version != Version3 {
		return fmt.Errorf("vrrp: encode: %w: %d", ErrVersion, a.Version)
	}
	if len(a.Addresses) > 255 {
		return fmt.Errorf("vrrp: encode: %w: %d", ErrCount, len(a.Addresses))
	}
	f := a.Family()
	for _, addr := range a.Addresses {
		if !addr.IsValid() || FamilyOf(addr) != f {
			return fmt.Errorf("vrrp: encode: %w: %v in an %v advert", ErrFamily, addr, f)
		}
	}
	if a.Version == Version2 && f != IPv4 {
		return fmt.Errorf("vrrp: encode: %w: VRRPv2 carries IPv4 only", ErrFamily)
	}
	return checkInterval(a.Version, a.Interval)
}

// checkInterval reports whether d fits the interval field of version v.
func checkInterval(v Version, d time.Duration) error {
	unit, limit := 10*time.Millisecond, MaxInterval3
	if v == Version2 {
		unit, limit = time.Second, MaxInterval2
	}
	if d < 0 || d > limit || d%unit != 0 {
		return fmt.Errorf("vrrp: %w: %v is not a multiple of %v up to %v", ErrInterval, d, unit, limit)
	}
	return nil
}

// UnmarshalBinary decodes an advert whose family is not known from elsewhere: VRRPv2 is
// IPv4; VRRPv3 is IPv4 or IPv6 by its exact length. A receiver that knows the family of
// its socket uses Parse instead.
func (a *Advertisement) UnmarshalBinary(b []byte) error {
	f := IPv4
	if len(b) >= headerLen && Version(b[0]>>4) == Version3 {
		count := int(b[3])
		if len(b) != messageLen(Version3, IPv4, count) && len(b) == messageLen(Version3, IPv6, count) {
			f = IPv6
		}
	}
	p, err := Parse(b, f)
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// Parse decodes an advert of family f. Bytes after the message are ignored. It checks
// only what decoding needs: the version and the length; Validate applies the protocol's
// receive checks.
func Parse(b []byte, f Family) (Advertisement, error) {
	a, err := parseHeader(b, f)
	if err != nil {
		return Advertisement{}, err
	}
	a.Addresses = make([]netip.Addr, b[3])
	for i := range a.Addresses {
		a.Addresses[i] = addressAt(b, f, i)
	}
	return a, nil
}

// parseHeader decodes everything but the addresses, and checks that b is long enough
// to hold them. It does not allocate unless it fails.
func parseHeader(b []byte, f Family) (Advertisement, error) {
	if len(b) < headerLen {
		return Advertisement{}, fmt.Errorf("vrrp: decode: %w: %d bytes", ErrShort, len(b))
	}
	a := Advertisement{
		Version:  Version(b[0] >> 4),
		Type:     b[0] & 0x0f,
		VRID:     b[1],
		Priority: b[2],
		Checksum: binary.BigEndian.Uint16(b[6:8]),
	}
	if a.Version != Version2 && a.Version != Version3 {
		return Advertisement{}, fmt.Errorf("vrrp: decode: %w: %d", ErrVersion, a.Version)
	}
	if a.Version == Version2 && f != IPv4 {
		return Advertisement{}, fmt.Errorf("vrrp: decode: %w: VRRPv2 carries IPv4 only", ErrFamily)
	}
	count := int(b[3])
	if need := messageLen(a.Version, f, count); len(b) < need {
		return Advertisement{}, fmt.Errorf("vrrp: decode: %w: %d bytes, %d addresses need %d", ErrShort, len(b), count, need)
	}
	switch a.Version {
	case Version2:
		a.AuthType = AuthType(b[4])
		a.Interval = time.Duration(b[5]) * time.Second
		copy(a.AuthData[:], b[headerLen+count*f.addrLen():])
	case Version3:
		// The 4 reserved bits are ignored on receive (RFC 5798 section 5.2.5).
		a.Interval = time.Duration(binary.BigEndian.Uint16(b[4:6])&0x0fff) * 10 * time.Millisecond
	}
	return a, nil
}

// addressAt returns the i-th address of an advert that parseHeader accepted.
func addressAt(b []byte, f Family, i int) netip.Addr {
	off := headerLen + i*f.addrLen()
	if f == IPv6 {
		return netip.AddrFrom16([16]byte(b[off : off+16]))
	}
	return netip.AddrFrom4([4]byte(b[off : off+4]))
}
