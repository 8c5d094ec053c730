// Package pcapfile reads classic libpcap capture files of Ethernet frames and picks out
// the IP packets in them, so tests can replay packets captured from real peers.
package pcapfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// Packet is one IPv4 or IPv6 packet of a capture, with its link-layer and IP headers
// taken apart.
type Packet struct {
	Frame     []byte // the whole Ethernet frame
	EtherType uint16
	Src, Dst  netip.Addr
	TTL       int    // TTL or hop limit
	TOS       uint8  // TOS or traffic class
	Protocol  uint8  // IPv4 protocol or IPv6 next header
	Payload   []byte // the IP payload, exactly as long as the IP header says
}

// ErrFormat is wrapped by errors about malformed files.
var ErrFormat = errors.New("pcapfile: malformed capture")

const linkTypeEthernet = 1

// Read returns the frames of a capture file, in order.
func Read(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("%w: %s: no global header", ErrFormat, path)
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: %s: bad magic", ErrFormat, path)
	}
	if lt := order.Uint32(b[20:]); lt != linkTypeEthernet {
		return nil, fmt.Errorf("%w: %s: link type %d, want Ethernet", ErrFormat, path, lt)
	}
	var frames [][]byte
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return nil, fmt.Errorf("%w: %s: truncated record header at %d", ErrFormat, path, off)
		}
		n := int(order.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			return nil, fmt.Errorf("%w: %s: truncated record at %d", ErrFormat, path, off)
		}
		frames = append(frames, b[off:off+n])
		off += n
	}
	return frames, nil
}

// IPPackets returns the IPv4 and IPv6 packets of a capture file; other frames are skipped.
func IPPackets(path string) ([]Packet, error) {
	frames, err := Read(path)
	if err != nil {
		return nil, err
	}
	var pkts []Packet
	for i, f := range frames {
		p, ok, err := parseIP(f)
		if err != nil {
			return nil, fmt.Errorf("%s: frame %d: %w", path, i+1, err)
		}
		if ok {
			pkts = append(pkts, p)
		}
	}
	return pkts, nil
}

func parseIP(f []byte) (Packet, bool, error) {
	if len(f) < 14 {
		return Packet{}, false, fmt.Errorf("%w: short frame", ErrFormat)
	}
	p := Packet{Frame: f, EtherType: binary.BigEndian.Uint16(f[12:])}
	ip := f[14:]
	switch p.EtherType {
	case 0x0800:
		if len(ip) < 20 {
			return Packet{}, false, fmt.Errorf("%w: short IPv4 header", ErrFormat)
		}
		hl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:]))
		if hl < 20 || total < hl || total > len(ip) {
			return Packet{}, false, fmt.Errorf("%w: IPv4 lengths %d/%d", ErrFormat, hl, total)
		}
		p.TOS, p.TTL, p.Protocol = ip[1], int(ip[8]), ip[9]
		p.Src = netip.AddrFrom4([4]byte(ip[12:16]))
		p.Dst = netip.AddrFrom4([4]byte(ip[16:20]))
		p.Payload = ip[hl:total]
	case 0x86dd:
		if len(ip) < 40 {
			return Packet{}, false, fmt.Errorf("%w: short IPv6 header", ErrFormat)
		}
		n := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+n > len(ip) {
			return Packet{}, false, fmt.Errorf("%w: IPv6 payload length %d", ErrFormat, n)
		}
		p.TOS = uint8(binary.BigEndian.Uint16(ip[0:]) >> 4)
		p.Protocol, p.TTL = ip[6], int(ip[7])
		p.Src = netip.AddrFrom16([16]byte(ip[8:24]))
		p.Dst = netip.AddrFrom16([16]byte(ip[24:40]))
		p.Payload = ip[40 : 40+n]
	default:
		return Packet{}, false, nil
	}
	return p, true, nil
}
