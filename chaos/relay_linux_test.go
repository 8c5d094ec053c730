package chaos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// relay delays every frame between two interfaces of the switch namespace, both ways:
// the kernel has no sch_netem, so a node's port is taken off the bridge and the harness
// carries its frames to a veth whose other end is on the bridge, each frame held for
// the delay. Order is kept; a frame that finds the queue full is dropped.
type relay struct {
	conns []*packet.Conn
	wg    sync.WaitGroup
}

// relayQueue bounds the frames in flight one way: at 4 ms probes and 100 ms adverts a
// 200 ms delay holds about a hundred.
const relayQueue = 4096

// startRelay relays frames between the interfaces a and b of sw with delay.
func startRelay(sw *netnstest.NS, a, b string, delay time.Duration) (*relay, error) {
	r := &relay{}
	err := sw.Do(func() error {
		for _, name := range []string{a, b} {
			c, err := listenAll(name)
			if err != nil {
				return err
			}
			r.conns = append(r.conns, c)
		}
		return nil
	})
	if err != nil {
		r.stop()
		return nil, err
	}
	r.pump(r.conns[0], r.conns[1], delay)
	r.pump(r.conns[1], r.conns[0], delay)
	return r, nil
}

// listenAll opens a packet socket that receives every frame arriving on ifname, and
// none that the host sends on it (the relay's own writes).
func listenAll(ifname string) (*packet.Conn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
	if err != nil {
		return nil, fmt.Errorf("relay: listen on %s: %w", ifname, err)
	}
	rc, err := c.SyscallConn()
	if err == nil {
		var serr error
		err = rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
		})
		err = errors.Join(err, serr)
	}
	if err == nil {
		err = c.SetPromiscuous(true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("relay: set up %s: %w", ifname, err)
	}
	return c, nil
}

type delayed struct {
	frame []byte
	due   time.Time
}

// pump carries frames from one socket to the other, each delay after it arrived.
func (r *relay) pump(from, to *packet.Conn, delay time.Duration) {
	q := make(chan delayed, relayQueue)
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		defer close(q)
		buf := make([]byte, 65536)
		for {
			n, _, err := from.ReadFrom(buf)
			if err != nil {
				return
			}
			frame := append([]byte(nil), buf[:n]...)
			completeUDPChecksum(frame)
			select {
			case q <- delayed{frame, time.Now().Add(delay)}:
			default:
			}
		}
	}()
	go func() {
		defer r.wg.Done()
		for d := range q {
			time.Sleep(time.Until(d.due))
			if len(d.frame) < 14 {
				continue
			}
			// The destination MAC of the frame; a raw socket sends the frame as it is.
			if _, err := to.WriteTo(d.frame, &packet.Addr{HardwareAddr: net.HardwareAddr(d.frame[:6])}); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
}

// stop ends the relay; frames still held are lost.
func (r *relay) stop() {
	for _, c := range r.conns {
		c.Close()
	}
	r.wg.Wait()
}

// completeUDPChecksum computes the UDP checksum of a frame again. A veth hands frames on
// with the checksum left to the hardware (CHECKSUM_PARTIAL): a packet socket reads them
// with only the pseudo-header's sum in the field, and the node that receives the frame
// from the relay would drop it. Other protocols' checksums (VRRP, ICMP) are computed
// in software and arrive whole.
func completeUDPChecksum(f []byte) {
	if len(f) < 14 {
		return
	}
	ip := f[14:]
	var udp []byte
	var sum uint32
	switch binary.BigEndian.Uint16(f[12:14]) {
	case 0x0800:
		if len(ip) < 20 || ip[9] != unix.IPPROTO_UDP || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
			return // not UDP, or a fragment
		}
		ihl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:4]))
		if total > len(ip) || ihl+8 > total {
			return
		}
		udp = ip[ihl:total]
		sum = onesSum(ip[12:20]) + unix.IPPROTO_UDP + uint32(len(udp))
	case 0x86dd:
		if len(ip) < 40 || ip[6] != unix.IPPROTO_UDP {
			return // not UDP, or behind extension headers
		}
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if 40+plen > len(ip) || plen < 8 {
			return
		}
		udp = ip[40 : 40+plen]
		sum = onesSum(ip[8:40]) + unix.IPPROTO_UDP + uint32(len(udp))
	default:
		return
	}
	udp[6], udp[7] = 0, 0
	sum += onesSum(udp)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	cs := ^uint16(sum)
	if cs == 0 {
		cs = 0xffff // 0 means "no checksum" in UDP
	}
	binary.BigEndian.PutUint16(udp[6:8], cs)
}

// onesSum adds b as big-endian 16-bit words, RFC 1071.
func onesSum(b []byte) uint32 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}
