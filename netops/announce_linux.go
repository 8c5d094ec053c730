package netops

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// LinuxAnnouncer is the Announcer of Linux. It sends gratuitous ARP frames on an AF_PACKET
// socket per interface and unsolicited neighbour advertisements on one raw ICMPv6 socket.
// Both need CAP_NET_RAW. Sockets are opened on first use, in the network namespace of
// the calling thread, and kept until Close; interfaces are looked up by name at every
// call, also in the calling thread's namespace. It is safe for concurrent use.
type LinuxAnnouncer struct {
	mu     sync.Mutex
	arp    map[string]*arpSocket // by interface name
	icmp   *ipv6.PacketConn      // nil until the first IPv6 VIP
	closed bool
	// ioctl is a socket for looking interfaces up by name, -1 until the first; ifaces
	// holds what was looked up, by name, valid while the index stays the same.
	ioctl  int
	ifaces map[string]*net.Interface
}

// arpSocket is the AF_PACKET socket of one interface, bound to its index.
type arpSocket struct {
	index int
	conn  *packet.Conn
}

var _ Announcer = (*LinuxAnnouncer)(nil)

// NewAnnouncer returns an announcer that has no socket open yet.
func NewAnnouncer() *LinuxAnnouncer {
	return &LinuxAnnouncer{arp: map[string]*arpSocket{}, ioctl: -1, ifaces: map[string]*net.Interface{}}
}

// Announce sends, on interface ifname, count announcements for each of vips, now, in
// count rounds of one announcement per VIP: the order keepalived sends them in. Every VIP
// must already be on the interface; IPv6 ones must not be tentative (add them with
// IFA_F_NODAD), because the kernel refuses a tentative source address. A VIP whose first
// announcement fails is skipped for the rest of the call, so the error names each failed
// VIP once. After Close, Announce returns an error wrapping net.ErrClosed.
func (a *LinuxAnnouncer) Announce(ifname string, vips []netip.Addr, count int, reply bool) error {
	if count <= 0 || len(vips) == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("netops: announce on %s: %w", ifname, net.ErrClosed)
	}
	ifi, err := a.iface(ifname)
	if err != nil {
		return fmt.Errorf("netops: announce on %s: %w", ifname, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("netops: announce on %s: not an Ethernet interface (address %q)", ifname, ifi.HardwareAddr)
	}
	var errs []error
	var sends []func() error
	for _, vip := range vips {
		send, err := a.prepare(ifi, vip, reply)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sends = append(sends, send)
	}
	for range count {
		for i, send := range sends {
			if send == nil {
				continue
			}
			err := send()
			if errors.Is(err, unix.ENETDOWN) {
				// A packet socket bound to a link that went down keeps that error until
				// a send reports it: once the link is back, the next try goes out.
				err = send()
			}
			if err != nil {
				errs = append(errs, err)
				sends[i] = nil
			}
		}
	}
	return errors.Join(errs...)
}

// Prepare looks up the interface of v and opens the socket that announces it, so that
// the first burst after a takeover does not wait for them.
func (a *LinuxAnnouncer) Prepare(v VIP) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("netops: prepare announcements on %s: %w", v.Interface, net.ErrClosed)
	}
	ifi, err := a.iface(v.Interface)
	if err != nil {
		return fmt.Errorf("netops: prepare announcements on %s: %w", v.Interface, err)
	}
	if v.Prefix.Addr().Is4() {
		_, err = a.arpConn(ifi)
	} else {
		_, err = a.icmpConn()
	}
	if err != nil {
		return fmt.Errorf("netops: prepare announcements on %s: %w", v.Interface, err)
	}
	return nil
}

// prepare builds the announcement of vip on ifi and returns the function that sends it
// once.
func (a *LinuxAnnouncer) prepare(ifi *net.Interface, vip netip.Addr, reply bool) (func() error, error) {
	switch {
	case vip.Is4():
		send, err := a.prepareGARP(ifi, vip, reply)
		if err != nil {
			return nil, fmt.Errorf("netops: garp %v on %s: %w", vip, ifi.Name, err)
		}
		return send, nil
	case vip.Is6():
		send, err := a.prepareNA(ifi, vip)
		if err != nil {
			return nil, fmt.Errorf("netops: unsolicited na %v on %s: %w", vip, ifi.Name, err)
		}
		return send, nil
	}
	return nil, fmt.Errorf("netops: announce %v on %s: not an IP address", vip, ifi.Name)
}

func (a *LinuxAnnouncer) prepareGARP(ifi *net.Interface, vip netip.Addr, reply bool) (func() error, error) {
	ops := []arp.Operation{arp.OperationRequest}
	if reply {
		ops = append(ops, arp.OperationReply)
	}
	var frames [][]byte
	for _, op := range ops {
		f, err := garpFrame(op, ifi.HardwareAddr, vip)
		if err != nil {
			return nil, err
		}
		frames = append(frames, f)
	}
	c, err := a.arpConn(ifi)
	if err != nil {
		return nil, err
	}
	to := &packet.Addr{HardwareAddr: ethernet.Broadcast}
	return func() error {
		for _, f := range frames {
			if _, err := c.WriteTo(f, to); err != nil {
				return fmt.Errorf("netops: garp %v on %s: %w", vip, ifi.Name, err)
			}
		}
		return nil
	}, nil
}

// iface looks ifname up at every call, since interfaces such as VLANs are deleted and
// created again with a new index and maybe a new MAC address; but by its index alone,
// the rest only when the index changed. a.mu is held.
func (a *LinuxAnnouncer) iface(ifname string) (*net.Interface, error) {
	if a.ioctl < 0 {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		a.ioctl = fd
	}
	index, err := ifIndex(a.ioctl, ifname)
	if err != nil {
		return nil, err
	}
	if ifi, ok := a.ifaces[ifname]; ok && ifi.Index == index {
		return ifi, nil
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	a.ifaces[ifname] = ifi
	return ifi, nil
}

// arpConn returns the AF_PACKET socket of ifi, opening it on first use, and again when
// the interface has been created anew under the same name: the old socket is bound to
// an index that is gone.
//
// The frames are written whole rather than through arp.Client, which would pad them to
// 60 bytes (keepalived does not), and which needs an IPv4 address on the interface
// that sending a GARP has no use for.
func (a *LinuxAnnouncer) arpConn(ifi *net.Interface) (*packet.Conn, error) {
	if s, ok := a.arp[ifi.Name]; ok {
		if s.index == ifi.Index {
			return s.conn, nil
		}
		s.conn.Close()
		delete(a.arp, ifi.Name)
	}
	// The socket only sends: a filter that accepts nothing keeps the kernel from
	// queueing every ARP frame of the link on a socket nobody reads.
	none, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		return nil, err
	}
	c, err := packet.Listen(ifi, packet.Raw, int(ethernet.EtherTypeARP), &packet.Config{Filter: none})
	if err != nil {
		return nil, err
	}
	a.arp[ifi.Name] = &arpSocket{index: ifi.Index, conn: c}
	return c, nil
}

func (a *LinuxAnnouncer) prepareNA(ifi *net.Interface, vip netip.Addr) (func() error, error) {
	router, err := forwarding(ifi.Name)
	if err != nil {
		return nil, err
	}
	msg, err := naMessage(ifi.HardwareAddr, vip, router)
	if err != nil {
		return nil, err
	}
	c, err := a.icmpConn()
	if err != nil {
		return nil, err
	}
	cm := &ipv6.ControlMessage{HopLimit: ndp.HopLimit, Src: vip.AsSlice(), IfIndex: ifi.Index}
	// No zone on the destination: the control message names the interface by index.
	// A zone would be a name, turned into an index through the net package's
	// process-wide cache, which knows nothing of network namespaces and keeps the old
	// index of a recreated interface for up to a minute, during which sendmsg fails
	// with EINVAL. That is also why this is not an ndp.Conn, whose WriteTo always
	// sets the zone to the interface's name.
	to := &net.IPAddr{IP: netip.IPv6LinkLocalAllNodes().AsSlice()}
	return func() error {
		if _, err := c.WriteTo(msg, cm, to); err != nil {
			return fmt.Errorf("netops: unsolicited na %v on %s: %w", vip, ifi.Name, err)
		}
		return nil
	}, nil
}

// icmpConn returns the raw ICMPv6 socket, opening it on first use. One socket serves
// every interface, since each message carries its interface in its control message.
func (a *LinuxAnnouncer) icmpConn() (*ipv6.PacketConn, error) {
	if a.icmp != nil {
		return a.icmp, nil
	}
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, err
	}
	p := ipv6.NewPacketConn(c)
	// The socket only sends: block every type so that nothing is queued on it. The
	// kernel computes the checksum of every ICMPv6 message itself (RFC 3542, 3.1).
	var f ipv6.ICMPFilter
	f.SetAll(true)
	if err := errors.Join(p.SetICMPFilter(&f), p.SetMulticastLoopback(false)); err != nil {
		c.Close()
		return nil, err
	}
	a.icmp = p
	return p, nil
}

// forwarding reports whether ifname forwards IPv6, in which case its advertisements
// carry the Router flag: a host that sees the flag clear on a router's address drops it
// from its default router list (RFC 4861, section 7.2.5), and a VIP is often the
// default gateway.
func forwarding(ifname string) (bool, error) {
	b, err := os.ReadFile(filepath.Join("/proc/sys/net/ipv6/conf", ifname, "forwarding"))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) != "0", nil
}

// Close closes every socket of the announcer. Close is idempotent.
func (a *LinuxAnnouncer) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	var errs []error
	for name, s := range a.arp {
		errs = append(errs, s.conn.Close())
		delete(a.arp, name)
	}
	if a.icmp != nil {
		errs = append(errs, a.icmp.Close())
		a.icmp = nil
	}
	if a.ioctl >= 0 {
		errs = append(errs, unix.Close(a.ioctl))
		a.ioctl = -1
	}
	return errors.Join(errs...)
}
