package bfd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Port is the UDP destination port of single-hop control packets (RFC 5881 section 4).
const Port = 3784

// Source ports of control packets: each session sends from one port in this range
// (RFC 5881 section 4).
const (
	MinSourcePort = 49152
	MaxSourcePort = 65535
)

// TTL is the TTL or hop limit single-hop packets are sent with, and the only one
// accepted (RFC 5881 section 5, the GTSM of RFC 5082).
const TTL = 255

// Version is the protocol version of RFC 5880.
const Version = 1

// HeaderLen is the length of the mandatory section; without authentication it is the
// whole packet.
const HeaderLen = 24

// State is the state of a session, as the Sta field carries it (RFC 5880 section 4.1).
type State uint8

// The session states.
const (
	AdminDown State = 0
	Down      State = 1
	Init      State = 2
	Up        State = 3
)

func (s State) String() string {
	switch s {
	case AdminDown:
		return "AdminDown"
	case Down:
		return "Down"
	case Init:
		return "Init"
	case Up:
		return "Up"
	}
	return fmt.Sprintf("state %d", uint8(s))
}

// Diag is the Diagnostic field: why the sender's session last left Up (RFC 5880
// section 4.1).
type Diag uint8

// The diagnostic codes.
const (
	DiagNone                        Diag = 0
	DiagControlDetectionTimeExpired Diag = 1
	DiagEchoFunctionFailed          Diag = 2
	DiagNeighborSignaledSessionDown Diag = 3
	DiagForwardingPlaneReset        Diag = 4
	DiagPathDown                    Diag = 5
	DiagConcatenatedPathDown        Diag = 6
	DiagAdministrativelyDown        Diag = 7
	DiagReverseConcatenatedPathDown Diag = 8
)

var diagNames = [...]string{
	"no diagnostic", "control detection time expired", "echo function failed",
	"neighbor signaled session down", "forwarding plane reset", "path down",
	"concatenated path down", "administratively down", "reverse concatenated path down",
}

func (d Diag) String() string {
	if int(d) < len(diagNames) {
		return diagNames[d]
	}
	return fmt.Sprintf("diagnostic %d", uint8(d))
}

// ControlPacket is a BFD Control packet without its authentication section (RFC 5880
// section 4.1). Intervals travel in microseconds: a Duration is truncated to them, and
// one longer than 2^32-1 µs (71 minutes) is sent as that.
type ControlPacket struct {
	Version uint8
	Diag    Diag
	State   State
	// The flags: P, F, C, A, D and M.
	Poll, Final, ControlPlaneIndependent, AuthPresent, Demand, Multipoint bool
	DetectMult                                                            uint8
	// Length is the Length field as received; MarshalBinary writes HeaderLen.
	Length            uint8
	MyDiscriminator   uint32
	YourDiscriminator uint32
	// The intervals.
	DesiredMinTxInterval      time.Duration
	RequiredMinRxInterval     time.Duration
	RequiredMinEchoRxInterval time.Duration
}

// ErrDiscard is wrapped by every error of Parse: the packet must be discarded.
var ErrDiscard = errors.New("bfd: discard")

func discard(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDiscard}, args...)...)
}

// Parse decodes a control packet and applies the checks of RFC 5880 section 6.8.6
// that need no session. An error wraps ErrDiscard and says which check failed.
func Parse(b []byte) (ControlPacket, error) {
	var p ControlPacket
	if len(b) < HeaderLen {
		return p, discard("%d bytes, shorter than the %d of a control packet", len(b), HeaderLen)
	}
	p.Version = b[0] >> 5
	p.Diag = Diag(b[0] & 0x1f)
	p.State = State(b[1] >> 6)
	p.Poll = b[1]&0x20 != 0
	p.Final = b[1]&0x10 != 0
	p.ControlPlaneIndependent = b[1]&0x08 != 0
	p.AuthPresent = b[1]&0x04 != 0
	p.Demand = b[1]&0x02 != 0
	p.Multipoint = b[1]&0x01 != 0
	p.DetectMult = b[2]
	p.Length = b[3]
	p.MyDiscriminator = binary.BigEndian.Uint32(b[4:])
	p.YourDiscriminator = binary.BigEndian.Uint32(b[8:])
	p.DesiredMinTxInterval = micros(b[12:])
	p.RequiredMinRxInterval = micros(b[16:])
	p.RequiredMinEchoRxInterval = micros(b[20:])

	minLen := HeaderLen
	if p.AuthPresent {
		minLen = HeaderLen + 2 // the Auth Type and Auth Len of section 4.1
	}
	switch {
	case p.Version != Version:
		return p, discard("version %d, expected %d", p.Version, Version)
	case int(p.Length) < minLen:
		return p, discard("length field %d, shorter than %d", p.Length, minLen)
	case int(p.Length) > len(b):
		return p, discard("length field %d, longer than the %d bytes received", p.Length, len(b))
	case p.DetectMult == 0:
		return p, discard("detect mult 0")
	case p.Multipoint:
		return p, discard("multipoint bit set")
	case p.MyDiscriminator == 0:
		return p, discard("my discriminator 0")
	case p.YourDiscriminator == 0 && p.State != Down && p.State != AdminDown:
		return p, discard("your discriminator 0 in state %v", p.State)
	case p.AuthPresent:
		return p, discard("authentication present, none configured")
	}
	return p, nil
}

func micros(b []byte) time.Duration {
	return time.Duration(binary.BigEndian.Uint32(b)) * time.Microsecond
}

func putMicros(b []byte, d time.Duration) {
	us := d / time.Microsecond
	switch {
	case us < 0:
		us = 0
	case us > 1<<32-1:
		us = 1<<32 - 1
	}
	binary.BigEndian.PutUint32(b, uint32(us))
}

// MarshalBinary encodes the packet, HeaderLen bytes. Version 0 is written as Version;
// the A bit is never set, since no authentication section is written.
func (p ControlPacket) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, HeaderLen))
}

// AppendBinary appends the packet as MarshalBinary encodes it to b.
func (p ControlPacket) AppendBinary(b []byte) ([]byte, error) {
	if p.Diag > 0x1f {
		return b, fmt.Errorf("bfd: diagnostic %d does not fit 5 bits", p.Diag)
	}
	if p.State > Up {
		return b, fmt.Errorf("bfd: state %d does not fit 2 bits", p.State)
	}
	v := p.Version
	if v == 0 {
		v = Version
	}
	if v > 7 {
		return b, fmt.Errorf("bfd: version %d does not fit 3 bits", v)
	}
	var h [HeaderLen]byte
	h[0] = v<<5 | uint8(p.Diag)
	h[1] = uint8(p.State) << 6
	for i, f := range []bool{p.Poll, p.Final, p.ControlPlaneIndependent, false, p.Demand, p.Multipoint} {
		if f {
			h[1] |= 0x20 >> i
		}
	}
	h[2] = p.DetectMult
	h[3] = HeaderLen
	binary.BigEndian.PutUint32(h[4:], p.MyDiscriminator)
	binary.BigEndian.PutUint32(h[8:], p.YourDiscriminator)
	putMicros(h[12:], p.DesiredMinTxInterval)
	putMicros(h[16:], p.RequiredMinRxInterval)
	putMicros(h[20:], p.RequiredMinEchoRxInterval)
	return append(b, h[:]...), nil
}
