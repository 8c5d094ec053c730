package netops

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// AnnounceConfig is keepalived's garp_master_* settings for one instance.
type AnnounceConfig struct {
	Repeat        int           // announcements per VIP in each burst (garp_master_repeat, default 5)
	Delay         time.Duration // a second burst this long after the first; 0 = none (garp_master_delay, default 5s)
	Refresh       time.Duration // re-announce every Refresh while master; 0 = off (garp_master_refresh, default 0)
	RefreshRepeat int           // announcements per VIP at each refresh (garp_master_refresh_repeat, default 1)
	Reply         bool          // IPv4: send the ARP reply form after each request-form GARP (some switches learn only from replies)
}

// DefaultAnnounceConfig returns keepalived's defaults: Repeat 5, Delay 5s, Refresh 0,
// RefreshRepeat 1, Reply false.
func DefaultAnnounceConfig() AnnounceConfig {
	return AnnounceConfig{Repeat: 5, Delay: 5 * time.Second, RefreshRepeat: 1}
}

// Announcer sends gratuitous ARP (IPv4 VIPs) and unsolicited neighbour advertisements
// (IPv6 VIPs).
type Announcer interface {
	// Announce sends, on interface ifname, count announcements for each of vips, now.
	// With reply set, each IPv4 announcement is a request-form GARP followed by a
	// reply-form one. A VIP that cannot be announced does not stop the others; the
	// error reports every VIP that failed.
	Announce(ifname string, vips []netip.Addr, count int, reply bool) error
}

// AnnounceSchedule is the announcement schedule of one master period, as keepalived
// runs it: a burst at once, a second burst after Delay, then a refresh every Refresh;
// the refreshes are counted from the first burst, not from the second. Its owner runs
// it, from a loop of its own: Due says when the next burst is, Take takes it when it is
// due. Not safe for concurrent use.
type AnnounceSchedule struct {
	s    *schedule
	due  time.Time
	next burst
	ok   bool // a burst is left
}

// NewAnnounceSchedule returns the schedule of cfg for a master period that began at
// now: its first burst is due at once.
func NewAnnounceSchedule(cfg AnnounceConfig, now time.Time) *AnnounceSchedule {
	return &AnnounceSchedule{s: newSchedule(cfg), due: now, next: burst{count: cfg.Repeat, kind: "first"}, ok: true}
}

// Due returns when the next burst is due; false when none is left.
func (a *AnnounceSchedule) Due() (time.Time, bool) { return a.due, a.ok }

// Take returns the burst due at now, if any: how many announcements of each VIP, and
// its kind for the log (first, delayed or refresh). A burst taken late does not move
// the ones after it.
func (a *AnnounceSchedule) Take(now time.Time) (count int, kind string, ok bool) {
	if !a.ok || now.Before(a.due) {
		return 0, "", false
	}
	b := a.next
	a.next, a.ok = a.s.next()
	a.due = a.due.Add(a.next.wait)
	return b.count, b.kind, true
}

// burst is one round of announcements of every VIP.
type burst struct {
	wait  time.Duration // since the previous burst
	count int           // announcements per VIP
	kind  string        // for the log: first, delayed or refresh
}

// schedule yields the bursts that follow the first one, in order: the delayed burst at
// Delay and the refreshes at every multiple of Refresh, all counted from the first burst.
type schedule struct {
	cfg     AnnounceConfig
	at      time.Duration // offset of the last burst yielded
	delayed bool          // the delayed burst is behind us, or there is none
	refresh time.Duration // offset of the next refresh, when Refresh is on
}

func newSchedule(cfg AnnounceConfig) *schedule {
	return &schedule{cfg: cfg, delayed: cfg.Delay <= 0, refresh: cfg.Refresh}
}

// next returns the next burst; ok is false when there are no more.
func (s *schedule) next() (b burst, ok bool) {
	var at time.Duration
	switch {
	case !s.delayed && (s.cfg.Refresh <= 0 || s.cfg.Delay <= s.refresh):
		s.delayed = true
		at, b = s.cfg.Delay, burst{count: s.cfg.Repeat, kind: "delayed"}
	case s.cfg.Refresh > 0:
		at, b = s.refresh, burst{count: s.cfg.RefreshRepeat, kind: "refresh"}
		s.refresh += s.cfg.Refresh
	default:
		return burst{}, false
	}
	b.wait, s.at = at-s.at, at
	return b, true
}

// garpFrame returns the Ethernet frame of a gratuitous ARP for vip from mac, byte for byte
// as keepalived sends it: to the broadcast address, with vip as both sender and target IP
// and the broadcast address as target hardware address. op is arp.OperationRequest, the
// form every host learns from, or arp.OperationReply, for switches that learn only from
// replies. The frame is not padded to Ethernet's 60-byte minimum (ethernet.Frame would
// pad it): the driver pads it on the wire, as it does keepalived's.
func garpFrame(op arp.Operation, mac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(op, mac, vip, ethernet.Broadcast, vip)
	if err != nil {
		return nil, err
	}
	body, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	f := make([]byte, 0, 14+len(body))
	f = append(f, ethernet.Broadcast...)
	f = append(f, mac...)
	f = binary.BigEndian.AppendUint16(f, uint16(ethernet.EtherTypeARP))
	return append(f, body...), nil
}

// naMessage returns the ICMPv6 message of an unsolicited neighbour advertisement for vip
// from mac, as keepalived sends it (RFC 4861, section 7.2.6): Override set, so that
// neighbours replace the old master's address; Solicited clear; Router set when the
// interface forwards; mac in the Target Link-Layer Address option. The checksum is left
// zero: it depends on the addresses, and the kernel fills it in. The message is to be
// sent from vip to ff02::1 with hop limit 255.
func naMessage(mac net.HardwareAddr, vip netip.Addr, router bool) ([]byte, error) {
	return ndp.MarshalMessage(&ndp.NeighborAdvertisement{
		Router:        router,
		Override:      true,
		TargetAddress: vip.WithZone(""),
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	})
}
