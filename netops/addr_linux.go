package netops

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// VIPProtocol is the address protocol (IFA_PROTO) vrrpd gives every VIP it adds: VRRP's
// IP protocol number. Linux 6.1 and later keep it with the address and report it in
// address dumps, so a restart after a crash knows exactly which addresses are its own
// leftovers even when the state file is missing, corrupt or emptied. `ip -d addr` shows
// it as "proto 0x70".
const VIPProtocol = 112

// ifaProto is IFA_PROTO (linux/if_addr.h), which golang.org/x/sys does not name yet.
const ifaProto = 11

// kernelKeepsAddrProtocol reports whether the running kernel keeps IFA_PROTO: Linux
// 6.1 and later. Older kernels ignore the attribute, and the state file is then the
// only record of what vrrpd added.
func kernelKeepsAddrProtocol() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	major, minor, ok := kernelVersion(unix.ByteSliceToString(u.Release[:]))
	return ok && (major > 6 || major == 6 && minor >= 1)
}

// kernelVersion parses the major and minor numbers of a release such as "6.1.0-13-amd64".
func kernelVersion(release string) (major, minor int, ok bool) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	digits := func(s string) string { return s[:len(s)-len(strings.TrimLeft(s, "0123456789"))] }
	major, err1 := strconv.Atoi(digits(parts[0]))
	minor, err2 := strconv.Atoi(digits(parts[1]))
	return major, minor, err1 == nil && err2 == nil
}

// kernelAddr is an interface address as an address dump reports it.
type kernelAddr struct {
	Prefix netip.Prefix
	Index  int
	Label  string
	// Protocol is IFA_PROTO: VIPProtocol for the addresses vrrpd added, 0 for most others.
	Protocol uint8
}

// rtnl is a route netlink socket opened in one network namespace and used from any
// thread afterwards.
type rtnl struct {
	sockets map[int]*nl.SocketHandle
}

// openRTNL opens a route netlink socket in the calling thread's namespace.
func openRTNL() (*rtnl, error) {
	s, err := nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netops: route netlink socket: %w", err)
	}
	tv := unix.NsecToTimeval(nl.SocketTimeoutTv.Nano())
	if err := s.SetReceiveTimeout(&tv); err != nil {
		s.Close()
		return nil, fmt.Errorf("netops: route netlink socket: %w", err)
	}
	return &rtnl{sockets: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: s}}}, nil
}

func (r *rtnl) close() {
	for _, s := range r.sockets {
		s.Close()
	}
}

func (r *rtnl) request(typ, flags int) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(typ, flags)
	req.Sockets = r.sockets
	return req
}

// addAddr adds v, marked with VIPProtocol, to the interface with index ifindex. It
// fails with EEXIST when the address is there already. IPv4 addresses get their label
// and no broadcast address, as keepalived adds them; IPv6 addresses IFA_F_NODAD.
func (r *rtnl) addAddr(ifindex int, v VIP) error {
	a := v.Prefix.Addr()
	family := unix.AF_INET
	if a.Is6() {
		family = unix.AF_INET6
	}
	req := r.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	msg := nl.NewIfAddrmsg(family)
	msg.Index = uint32(ifindex)
	msg.Prefixlen = uint8(v.Prefix.Bits())
	if a.Is6() {
		msg.Flags = unix.IFA_F_NODAD
	}
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, a.AsSlice()))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, a.AsSlice()))
	if v.Label != "" {
		req.AddData(nl.NewRtAttr(unix.IFA_LABEL, nl.ZeroTerminated(v.Label)))
	}
	req.AddData(nl.NewRtAttr(ifaProto, []byte{VIPProtocol}))
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// listAddrs returns the addresses of family (AF_INET, AF_INET6, or AF_UNSPEC for both)
// on the interface with index ifindex, or on every interface when ifindex is 0.
func (r *rtnl) listAddrs(family, ifindex int) ([]kernelAddr, error) {
	var err error
	for range listAttempts {
		req := r.request(unix.RTM_GETADDR, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfAddrmsg(family))
		var msgs [][]byte
		msgs, err = req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWADDR)
		if errors.Is(err, nl.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			break
		}
		var out []kernelAddr
		for _, m := range msgs {
			ka, ok, perr := parseAddrMsg(m)
			if perr != nil {
				return nil, fmt.Errorf("netops: address dump: %w", perr)
			}
			if ok && (ifindex == 0 || ka.Index == ifindex) {
				out = append(out, ka)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("netops: address dump: %w", err)
}

// eachAttr calls fn with the type and value of each route attribute in b, checking
// every length against what is left.
func eachAttr(b []byte, fn func(typ uint16, value []byte)) error {
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		if l < unix.SizeofRtAttr || l > len(b) {
			return fmt.Errorf("attribute of %d bytes in %d", l, len(b))
		}
		fn(binary.NativeEndian.Uint16(b[2:4]), b[unix.SizeofRtAttr:l])
		b = b[min(nlAlign(l), len(b)):]
	}
	return nil
}

// nlAlign rounds n up to the 4-byte alignment of netlink attributes.
func nlAlign(n int) int { return (n + 3) &^ 3 }

// parseAddrMsg decodes one RTM_NEWADDR message; ok is false for an address of another
// family than IPv4 and IPv6.
func parseAddrMsg(m []byte) (kernelAddr, bool, error) {
	if len(m) < unix.SizeofIfAddrmsg {
		return kernelAddr{}, false, fmt.Errorf("message of %d bytes", len(m))
	}
	msg := nl.DeserializeIfAddrmsg(m)
	ka := kernelAddr{Index: int(msg.Index)}
	var local, address netip.Addr
	err := eachAttr(m[msg.Len():], func(typ uint16, v []byte) {
		switch typ {
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(v)
		case unix.IFA_ADDRESS:
			address, _ = netip.AddrFromSlice(v)
		case unix.IFA_LABEL:
			ka.Label = unix.ByteSliceToString(v)
		case ifaProto:
			if len(v) == 1 {
				ka.Protocol = v[0]
			}
		}
	})
	if err != nil {
		return kernelAddr{}, false, err
	}
	// IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on a
	// point-to-point link and the only one IPv6 sends otherwise.
	addr := local
	if !addr.IsValid() {
		addr = address
	}
	if !addr.IsValid() || msg.Family != unix.AF_INET && msg.Family != unix.AF_INET6 {
		return kernelAddr{}, false, nil
	}
	ka.Prefix = netip.PrefixFrom(addr.Unmap(), int(msg.Prefixlen))
	return ka, ka.Prefix.IsValid(), nil
}

// NodeAddrs returns the node's own addresses on the interface ifname, the primary IPv4
// address first, as the kernel lists them: every address but the VIPs, which are those
// marked with VIPProtocol and those in held (the state file's record, for kernels that
// do not keep marks). It fails with an error wrapping ErrNoInterface when there is no
// such interface. It reads the calling thread's network namespace.
func NodeAddrs(ifname string, held []VIP) ([]netip.Addr, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoInterface, ifname)
	}
	rt, err := openRTNL()
	if err != nil {
		return nil, err
	}
	defer rt.close()
	addrs, err := rt.listAddrs(unix.AF_UNSPEC, ifi.Index)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", ifname, err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		if a.Protocol == VIPProtocol || slices.ContainsFunc(held, func(v VIP) bool {
			return v.Interface == ifname && v.Prefix.Addr() == a.Prefix.Addr()
		}) {
			continue
		}
		out = append(out, a.Prefix.Addr())
	}
	return out, nil
}
