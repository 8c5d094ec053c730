package contract

import (
	"errors"
	"maps"
	"net/netip"
	"testing"
)

// AnnouncerEnv is a netops.Announcer on a host whose interface eth0 carries the VIPs
// AnnounceV4 and AnnounceV6, as the daemon adds them before it announces them, and a
// way to see what the announcer sent.
type AnnouncerEnv struct {
	// Announce calls the announcer's Announce as the daemon would (on Linux, from the
	// host's network namespace).
	Announce func(ifname string, vips []netip.Addr, count int, reply bool) error
	// Sent returns what the announcer sent on eth0 since the previous call (or since
	// the environment was made), per VIP; a VIP of which nothing was sent is absent.
	// expect is the number of announcements the case expects in all: an environment
	// that observes a real network may wait for that many to arrive, a few seconds at
	// most, and must then wait a little longer for any beyond them.
	Sent func(t *testing.T, expect int) map[netip.Addr]Sent
	// Withdraw takes the IPv6 VIP vip off eth0, so that it cannot be announced there:
	// Linux refuses to send an NA from an address that the host does not have. It
	// returns the error that the failure to announce vip then wraps.
	Withdraw func(t *testing.T, vip netip.Addr) error
}

// Sent is what an announcer sent for one VIP.
type Sent struct {
	Requests int // request-form gratuitous ARPs
	Replies  int // reply-form gratuitous ARPs
	NAs      int // unsolicited neighbour advertisements
}

// The VIPs an AnnouncerEnv has on eth0: two of each family.
var (
	AnnounceV4 = []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}
	AnnounceV6 = []netip.Addr{netip.MustParseAddr("2001:db8::100"), netip.MustParseAddr("2001:db8::101")}
)

// announceCase is one call of Announce and what it must send.
type announceCase struct {
	name     string
	withdraw []netip.Addr // IPv6 VIPs taken off eth0 before the call
	ifname   string
	vips     []netip.Addr
	count    int
	reply    bool
	wantErr  bool // the call fails; with withdraw, once for each VIP withdrawn
	want     map[netip.Addr]Sent
}

func announceCases() []announceCase {
	v4, v6 := AnnounceV4[0], AnnounceV6[0]
	both := []netip.Addr{v4, v6}
	all := []netip.Addr{AnnounceV6[0], AnnounceV4[0], AnnounceV6[1], AnnounceV4[1]}
	return []announceCase{
		{name: "count 1", ifname: "eth0", vips: both, count: 1,
			want: map[netip.Addr]Sent{v4: {Requests: 1}, v6: {NAs: 1}}},
		{name: "count 3", ifname: "eth0", vips: both, count: 3,
			want: map[netip.Addr]Sent{v4: {Requests: 3}, v6: {NAs: 3}}},
		{name: "reply adds the reply form to IPv4 only", ifname: "eth0", vips: both, count: 3, reply: true,
			want: map[netip.Addr]Sent{v4: {Requests: 3, Replies: 3}, v6: {NAs: 3}}},
		{name: "every VIP is announced", ifname: "eth0", vips: all, count: 2,
			want: map[netip.Addr]Sent{
				AnnounceV4[0]: {Requests: 2}, AnnounceV4[1]: {Requests: 2},
				AnnounceV6[0]: {NAs: 2}, AnnounceV6[1]: {NAs: 2},
			}},
		{name: "count 0 sends nothing", ifname: "eth0", vips: both, count: 0, reply: true},
		{name: "a negative count sends nothing", ifname: "eth0", vips: both, count: -1, reply: true},
		{name: "no VIPs", ifname: "eth0", count: 3, reply: true},
		{name: "unknown interface", ifname: "nosuch0", vips: both, count: 1, wantErr: true},
		{name: "a VIP that cannot be announced does not stop the others",
			withdraw: []netip.Addr{AnnounceV6[0]}, ifname: "eth0", vips: all, count: 2, reply: true, wantErr: true,
			want: map[netip.Addr]Sent{
				AnnounceV4[0]: {Requests: 2, Replies: 2}, AnnounceV4[1]: {Requests: 2, Replies: 2},
				AnnounceV6[1]: {NAs: 2},
			}},
	}
}

// failures returns the errors that err joins, or err alone.
func failures(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Announcer runs the netops.Announcer contract, each case on a fresh environment from
// newEnv: count announcements of each VIP, the reply form added to IPv4 VIPs only,
// nothing for a count below 1, an error and nothing sent for an unknown interface, and
// a VIP that cannot be announced reported once in the error while the others go out.
func Announcer(t *testing.T, newEnv func(t *testing.T) AnnouncerEnv) {
	for _, c := range announceCases() {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			var causes []error
			for _, vip := range c.withdraw {
				causes = append(causes, e.Withdraw(t, vip))
			}
			err := e.Announce(c.ifname, c.vips, c.count, c.reply)
			switch {
			case !c.wantErr && err != nil:
				t.Errorf("Announce(%s, %v, %d, %t): %v", c.ifname, c.vips, c.count, c.reply, err)
			case c.wantErr && err == nil:
				t.Errorf("Announce(%s, %v, %d, %t): no error", c.ifname, c.vips, c.count, c.reply)
			case len(causes) > 0:
				if got := failures(err); len(got) != len(causes) {
					t.Errorf("error %v: %d failures, want one for each of %v", err, len(got), c.withdraw)
				}
				for i, cause := range causes {
					if !errors.Is(err, cause) {
						t.Errorf("error %v: does not report %v (%v)", err, c.withdraw[i], cause)
					}
				}
			}
			expect := 0
			for _, s := range c.want {
				expect += s.Requests + s.Replies + s.NAs
			}
			got := e.Sent(t, expect)
			maps.DeleteFunc(got, func(_ netip.Addr, s Sent) bool { return s == Sent{} })
			if !maps.Equal(got, c.want) {
				t.Errorf("sent %+v, want %+v", got, c.want)
			}
		})
	}
}
