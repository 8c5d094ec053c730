package netops

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// listAttempts bounds the retries of a listing that a concurrent change interrupted.
const listAttempts = 3

// errSubscriptionEnded is why a session ends when the kernel side closed.
var errSubscriptionEnded = errors.New("netops: netlink subscription ended")

// NewMonitor starts a Monitor of the network namespace of the calling thread: call it
// inside the namespace (the daemon runs in one; tests call it in netnstest's NS.Do).
// The monitor keeps to that namespace whichever goroutine or thread uses it later.
func NewMonitor(log *slog.Logger) (*Monitor, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("netops: monitor: current network namespace: %w", err)
	}
	// Listings and look-ups go through a handle whose socket lives in ns.
	var h *netlink.Handle
	err = openIn(ns, func(at netns.NsHandle) (err error) {
		h, err = netlink.NewHandleAt(at, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netops: monitor: netlink handle: %w", err)
	}
	m := newMonitor(log)
	lm := &linuxMonitor{Monitor: m, ns: ns, h: h}
	m.release = func() error {
		h.Close()
		return ns.Close()
	}
	m.start(lm.session)
	return m, nil
}

// openIn calls open, on one thread, with the namespace in which the netlink library
// must open sockets so that they live in ns: netns.None(), meaning the thread's own,
// when the thread is already in ns. The daemon runs in one namespace and so never
// switches: switching (setns) takes CAP_SYS_ADMIN, which vrrpd's systemd unit does not
// grant. Tests, whose goroutines run in other namespaces than the one they watch, do.
func openIn(ns netns.NsHandle, open func(at netns.NsHandle) error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, err := netns.Get()
	if err != nil {
		return fmt.Errorf("netops: current network namespace: %w", err)
	}
	defer cur.Close()
	if cur.Equal(ns) {
		return open(netns.None())
	}
	return open(ns)
}

// linuxMonitor is the netlink side of a Monitor.
type linuxMonitor struct {
	*Monitor
	ns netns.NsHandle
	h  *netlink.Handle
}

// session subscribes to link and address changes, lists the current state, and then
// forwards changes until stop is closed (it returns nil) or a subscription ends.
//
// It lists through its own handle rather than with the subscriptions' ListExisting:
// that way it knows when the listing is complete, so a resync can report what vanished
// while no subscription was there to see it, and links are listed before addresses.
func (lm *linuxMonitor) session(stop <-chan struct{}) error {
	done := make(chan struct{})
	var closeDone sync.Once
	end := func() { closeDone.Do(func() { close(done) }) }
	// The library goroutines block sending on these channels: after done, read them
	// until they are closed, so that those goroutines end.
	linkCh := make(chan netlink.LinkUpdate, 64)
	addrCh := make(chan netlink.AddrUpdate, 64)
	var linksOn, addrsOn bool
	defer func() {
		end()
		for linksOn {
			_, linksOn = <-linkCh
		}
		for addrsOn {
			_, addrsOn = <-addrCh
		}
	}()
	errc := make(chan error, 8)
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	err := openIn(lm.ns, func(at netns.NsHandle) error {
		if err := netlink.LinkSubscribeWithOptions(linkCh, done, netlink.LinkSubscribeOptions{Namespace: &at, ErrorCallback: report}); err != nil {
			return fmt.Errorf("netops: subscribe to links: %w", err)
		}
		linksOn = true
		if err := netlink.AddrSubscribeWithOptions(addrCh, done, netlink.AddrSubscribeOptions{Namespace: &at, ErrorCallback: report}); err != nil {
			return fmt.Errorf("netops: subscribe to addresses: %w", err)
		}
		addrsOn = true
		return nil
	})
	if err != nil {
		return err
	}

	// Subscribed first, listed second: a change in between shows in both, harmlessly,
	// rather than in neither.
	links, addrs, err := lm.list()
	if err != nil {
		return err
	}
	lm.update(func(s *netState) []Event { return s.resync(links, addrs) })

	var last error // the last error the subscriptions reported
	for {
		select {
		case <-stop:
			return nil
		case <-lm.kick:
			// Ends the subscriptions as a socket error would: the channels close.
			end()
		case err := <-errc:
			// Most reports come just before the end of the subscription, which is what
			// decides (ENOBUFS: the kernel dropped messages, and a resync recovers
			// them); the rest, such as a message from another sender, are only logged.
			last = err
			lm.log.Debug("netlink subscription", "err", err)
		case u, ok := <-linkCh:
			if !ok {
				linksOn = false
				return lastError(errc, last)
			}
			if e, ok := linkEventOf(u); ok {
				lm.update(func(s *netState) []Event { return s.link(e) })
			}
		case u, ok := <-addrCh:
			if !ok {
				addrsOn = false
				return lastError(errc, last)
			}
			if e, ok := addrEventOf(u); ok {
				lm.onAddr(e)
			}
		}
	}
}

// onAddr delivers an address event. An address of a link the monitor has not heard of
// (its RTM_NEWLINK is still in the other socket) makes it look the link up first, so
// that consumers see the link before its addresses.
func (lm *linuxMonitor) onAddr(e AddrEvent) {
	if !e.Deleted && !lm.hasLink(e.Index) {
		if l, err := lm.h.LinkByIndex(e.Index); err == nil {
			le := linkEventOfAttrs(l.Attrs())
			lm.update(func(s *netState) []Event { return s.link(le) })
		}
	}
	lm.update(func(s *netState) []Event { return s.addr(e) })
}

// lastError returns errSubscriptionEnded with the last error the subscriptions
// reported: the one in errc, or else last.
func lastError(errc <-chan error, last error) error {
	for {
		select {
		case err := <-errc:
			last = err
		default:
			if last != nil {
				return fmt.Errorf("%w: %w", errSubscriptionEnded, last)
			}
			return errSubscriptionEnded
		}
	}
}

// list returns the links and addresses of the namespace.
func (lm *linuxMonitor) list() ([]LinkEvent, []AddrEvent, error) {
	var err error
	for range listAttempts {
		var ls []netlink.Link
		var as []netlink.Addr
		ls, err = lm.h.LinkList()
		if err == nil {
			as, err = lm.h.AddrList(nil, netlink.FAMILY_ALL)
		}
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			// Something changed during the dump; the next one is consistent.
			continue
		}
		if err != nil {
			break
		}
		links := make([]LinkEvent, 0, len(ls))
		for _, l := range ls {
			links = append(links, linkEventOfAttrs(l.Attrs()))
		}
		addrs := make([]AddrEvent, 0, len(as))
		for _, a := range as {
			if e, ok := addrEventOfIPNet(a.LinkIndex, a.IP, a.Mask, false); ok {
				addrs = append(addrs, e)
			}
		}
		return links, addrs, nil
	}
	return nil, nil, fmt.Errorf("netops: list links and addresses: %w", err)
}

// linkEventOf turns a netlink link update into a LinkEvent. It reports false for
// updates that are not about the interface itself: bridge port messages
// (AF_BRIDGE), which include an RTM_DELLINK when a port merely leaves its bridge.
func linkEventOf(u netlink.LinkUpdate) (LinkEvent, bool) {
	if u.Family != unix.AF_UNSPEC || u.Link == nil {
		return LinkEvent{}, false
	}
	e := linkEventOfAttrs(u.Attrs())
	if u.Header.Type == unix.RTM_DELLINK {
		e.Up, e.Deleted = false, true
	}
	return e, true
}

func linkEventOfAttrs(a *netlink.LinkAttrs) LinkEvent {
	return LinkEvent{Index: a.Index, Name: a.Name, Up: linkUp(a.RawFlags, uint8(a.OperState))}
}

// addrEventOf turns a netlink address update into an AddrEvent; the Interface name is
// filled in by the monitor's state.
func addrEventOf(u netlink.AddrUpdate) (AddrEvent, bool) {
	return addrEventOfIPNet(u.LinkIndex, u.LinkAddress.IP, u.LinkAddress.Mask, !u.NewAddr)
}

func addrEventOfIPNet(index int, ip net.IP, mask net.IPMask, deleted bool) (AddrEvent, bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok || index <= 0 {
		return AddrEvent{}, false
	}
	a = a.Unmap()
	ones, bits := mask.Size()
	if bits != a.BitLen() {
		return AddrEvent{}, false
	}
	return AddrEvent{Index: index, Prefix: netip.PrefixFrom(a, ones), Deleted: deleted}, true
}

// LinkUp reports whether the interface ifname is up, as the Monitor's link events would
// say, in the calling thread's namespace: for a virtual router that starts after the
// Monitor listed its interface. It fails wrapping ErrNoInterface when there is none.
func LinkUp(ifname string) (bool, error) {
	l, err := netlink.LinkByName(ifname)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false, fmt.Errorf("%w: %s", ErrNoInterface, ifname)
	}
	if err != nil {
		return false, fmt.Errorf("netops: link %s: %w", ifname, err)
	}
	a := l.Attrs()
	return linkUp(a.RawFlags, uint8(a.OperState)), nil
}
