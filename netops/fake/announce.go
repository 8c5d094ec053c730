package fake

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/vrrpd/vrrpd/netops"
)

// Announcement is what an Announcer was asked to send for one VIP in one call.
type Announcement struct {
	Interface string
	VIP       netip.Addr
	Count     int  // announcements of VIP in the call
	Reply     bool // as asked; only IPv4 VIPs have a reply form
	Time      time.Time
}

// Announcer is an in-memory netops.Announcer that records the announcements it is asked
// for instead of sending them. It is safe for concurrent use.
type Announcer struct {
	now   func() time.Time
	mu    sync.Mutex
	sent  []Announcement
	fail  map[string]error
	addrs *Addresses // nil: every interface exists and every VIP can be announced
}

var _ netops.Announcer = (*Announcer)(nil)

// NewAnnouncer returns an announcer that stamps each announcement with now(), or with
// time.Now() when now is nil.
func NewAnnouncer(now func() time.Time) *Announcer {
	if now == nil {
		now = time.Now
	}
	return &Announcer{now: now, fail: map[string]error{}}
}

// Announce records count announcements of each of vips on ifname. Like the Linux
// announcer, it records nothing for a count below 1 or without VIPs, and reports each
// VIP it cannot announce, once, without skipping the others: a VIP that is not an IP
// address, and, after UseAddresses, an IPv6 VIP that is not on ifname. After
// UseAddresses, an interface that the Addresses do not have is an error wrapping
// netops.ErrNoInterface, and nothing is recorded. When Fail set an error for ifname, it
// records nothing and returns that error, wrapped.
func (a *Announcer) Announce(ifname string, vips []netip.Addr, count int, reply bool) error {
	if count <= 0 || len(vips) == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.addrs != nil && !a.addrs.hasInterface(ifname) {
		return fmt.Errorf("fake: announce: %w: %s", netops.ErrNoInterface, ifname)
	}
	if err := a.fail[ifname]; err != nil {
		return fmt.Errorf("fake: announce on %s: %w", ifname, err)
	}
	now := a.now()
	var errs []error
	for _, vip := range vips {
		if !vip.IsValid() {
			errs = append(errs, fmt.Errorf("fake: announce %v on %s: not an IP address", vip, ifname))
			continue
		}
		// Linux sends a GARP for any address, but an NA only from an address that
		// the host has; the Linux announcer reports sendmsg's EINVAL.
		if a.addrs != nil && vip.Is6() && !a.addrs.Has(ifname, vip.WithZone("")) {
			errs = append(errs, fmt.Errorf("fake: unsolicited na %v on %s: %w", vip, ifname, syscall.EINVAL))
			continue
		}
		a.sent = append(a.sent, Announcement{Interface: ifname, VIP: vip, Count: count, Reply: reply, Time: now})
	}
	return errors.Join(errs...)
}

// UseAddresses makes every later Announce check its interface and VIPs against addrs,
// as the Linux announcer is checked by the kernel: the interface must exist, and an
// IPv6 VIP must be on it (an IPv4 VIP need not). The kernel also accepts a global IPv6
// VIP that is on another interface of the host; the fake does not. Without
// UseAddresses, every interface exists and every VIP can be announced.
func (a *Announcer) UseAddresses(addrs *Addresses) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addrs = addrs
}

// hasInterface reports whether a has interface name. It is here, next to its one
// user, the Announcer.
func (a *Addresses) hasInterface(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ifaces[name] != nil
}

// Fail makes every later Announce on ifname fail with err, as a link that is down
// would; a nil err makes them succeed again.
func (a *Announcer) Fail(ifname string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		delete(a.fail, ifname)
		return
	}
	a.fail[ifname] = err
}

// Announcements returns a copy of every announcement recorded so far, in order.
func (a *Announcer) Announcements() []Announcement {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sent)
}

// Count returns how many announcements of vip were sent on ifname so far, every call
// added up.
func (a *Announcer) Count(ifname string, vip netip.Addr) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, s := range a.sent {
		if s.Interface == ifname && s.VIP == vip {
			n += s.Count
		}
	}
	return n
}
