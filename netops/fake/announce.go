package fake

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
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
	now  func() time.Time
	mu   sync.Mutex
	sent []Announcement
	fail map[string]error
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
// announcer, it records nothing for a count below 1, and reports a VIP that is not an IP
// address without skipping the others. When Fail set an error for ifname, it records
// nothing and returns that error, wrapped.
func (a *Announcer) Announce(ifname string, vips []netip.Addr, count int, reply bool) error {
	if count <= 0 || len(vips) == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
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
		a.sent = append(a.sent, Announcement{Interface: ifname, VIP: vip, Count: count, Reply: reply, Time: now})
	}
	return errors.Join(errs...)
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
