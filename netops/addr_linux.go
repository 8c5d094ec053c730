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
	"sync"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netlink/nl"
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
// thread afterwards, one request at a time. It reads replies into a buffer of its own:
// the netlink library's reader puts 64 KiB on the stack of the calling goroutine, which
// then keeps that stack, a thousand goroutines over when a thousand instances add their
// VIPs.
type rtnl struct {
	mu  sync.Mutex
	sfd int
	seq uint32
	buf []byte
}

// rtnlBuffer is the size of the receive buffer: what the kernel sends in one read of a
// dump.
const rtnlBuffer = 64 << 10

// openRTNL opens a route netlink socket in the calling thread's namespace.
func openRTNL() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netops: route netlink socket: %w", err)
	}
	tv := unix.NsecToTimeval(nl.SocketTimeoutTv.Nano())
	err = errors.Join(
		unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}),
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv),
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv),
	)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netops: route netlink socket: %w", err)
	}
	// Strict checking makes the kernel filter an address dump by interface (Linux 4.20
	// and later; older ones ignore it and send every address, which listAddrs filters).
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	return &rtnl{sfd: fd, buf: make([]byte, rtnlBuffer)}, nil
}

func (r *rtnl) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sfd >= 0 {
		unix.Close(r.sfd)
		r.sfd = -1
	}
}

func (r *rtnl) request(typ, flags int) *nl.NetlinkRequest {
	return nl.NewNetlinkRequest(typ, flags)
}

// execute sends req and reads its answer: each message of type resType (any when 0) is
// passed to each, until the end of a dump or the acknowledgement. It fails with the
// kernel's errno, or with nl.ErrDumpInterrupted when a change interrupted a dump.
func (r *rtnl) execute(req *nl.NetlinkRequest, resType uint16, each func(msg []byte)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sfd < 0 {
		return net.ErrClosed
	}
	r.seq++
	req.Seq = r.seq
	if err := unix.Sendto(r.sfd, req.Serialize(), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	interrupted := false
	for {
		n, _, err := unix.Recvfrom(r.sfd, r.buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		b := r.buf[:n]
		for len(b) >= unix.SizeofNlMsghdr {
			h := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
			if h.Len < unix.SizeofNlMsghdr || int(h.Len) > len(b) {
				return fmt.Errorf("netlink message of %d bytes in %d", h.Len, len(b))
			}
			data := b[unix.SizeofNlMsghdr:h.Len]
			b = b[min(nlAlign(int(h.Len)), len(b)):]
			if h.Seq != req.Seq {
				continue // an answer to an earlier request that timed out
			}
			if h.Flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch h.Type {
			case unix.NLMSG_DONE:
				if interrupted {
					return nl.ErrDumpInterrupted
				}
				return nil
			case unix.NLMSG_ERROR:
				if len(data) < 4 {
					return errors.New("short netlink error message")
				}
				if errno := -int32(binary.NativeEndian.Uint32(data[0:4])); errno != 0 {
					return syscall.Errno(errno)
				}
				return nil
			}
			if resType == 0 || h.Type == resType {
				each(data)
			}
			if h.Flags&unix.NLM_F_MULTI == 0 {
				return nil
			}
		}
	}
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
	return r.execute(req, 0, func([]byte) {})
}

// delAddr deletes the address p from the interface with index ifindex. It fails with
// EADDRNOTAVAIL when it is not there.
func (r *rtnl) delAddr(ifindex int, p netip.Prefix) error {
	a := p.Addr()
	family := unix.AF_INET
	if a.Is6() {
		family = unix.AF_INET6
	}
	req := r.request(unix.RTM_DELADDR, unix.NLM_F_ACK)
	msg := nl.NewIfAddrmsg(family)
	msg.Index = uint32(ifindex)
	msg.Prefixlen = uint8(p.Bits())
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, a.AsSlice()))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, a.AsSlice()))
	return r.execute(req, 0, func([]byte) {})
}

// fd returns the socket's descriptor, for ioctls in its namespace.
func (r *rtnl) fd() int { return r.sfd }

// listAddrs returns the addresses of family (AF_INET, AF_INET6, or AF_UNSPEC for both)
// on the interface with index ifindex, or on every interface when ifindex is 0.
func (r *rtnl) listAddrs(family, ifindex int) ([]kernelAddr, error) {
	var err error
	for range listAttempts {
		req := r.request(unix.RTM_GETADDR, unix.NLM_F_DUMP)
		msg := nl.NewIfAddrmsg(family)
		msg.Index = uint32(ifindex)
		req.AddData(msg)
		var out []kernelAddr
		var perr error
		err = r.execute(req, unix.RTM_NEWADDR, func(m []byte) {
			ka, ok, e := parseAddrMsg(m)
			if e != nil && perr == nil {
				perr = e
			}
			if ok && (ifindex == 0 || ka.Index == ifindex) {
				out = append(out, ka)
			}
		})
		if errors.Is(err, nl.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			break
		}
		if perr != nil {
			return nil, fmt.Errorf("netops: address dump: %w", perr)
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
