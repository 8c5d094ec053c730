package netops

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"

	"github.com/vrrpd/vrrpd/internal/pcapfile"
)

// annCall is one Announce call as the schedule runner made it.
type annCall struct {
	ifname string
	vips   []netip.Addr
	count  int
	reply  bool
}

// annTimer is one wait of the runner: fire it to end the wait.
type annTimer struct {
	d    time.Duration
	fire chan<- time.Time
}

// lockstep is an Announcer and a clock for announce that hand every call to the test
// over unbuffered channels. The runner thus moves only as fast as the test reads, the
// test sees its calls in order, and time passes only when the test fires a timer.
type lockstep struct {
	calls  chan annCall
	timers chan annTimer
	err    error // what Announce returns
}

func newLockstep(err error) *lockstep {
	return &lockstep{calls: make(chan annCall), timers: make(chan annTimer), err: err}
}

func (l *lockstep) Announce(ifname string, vips []netip.Addr, count int, reply bool) error {
	l.calls <- annCall{ifname, vips, count, reply}
	return l.err
}

func (l *lockstep) after(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	l.timers <- annTimer{d, ch}
	return ch
}

// annBurst is a burst as the test saw it: when, in virtual time, and how many per VIP.
type annBurst struct {
	at    time.Duration
	count int
}

var annVIPs = []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}

// runSchedule runs announce with cfg on a virtual clock until it has made n bursts,
// then cancels it; it returns the bursts once announce has returned, and every call.
func runSchedule(t *testing.T, l *lockstep, cfg AnnounceConfig, log *slog.Logger, n int) ([]annBurst, []annCall) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if n == 0 {
		cancel()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		announce(ctx, l, "eth0", annVIPs, cfg, log, l.after)
	}()
	var now time.Duration
	var bursts []annBurst
	var calls []annCall
	// Bounds a broken runner only: a working one never makes the test wait on real time.
	stuck := time.After(10 * time.Second)
	for {
		select {
		case c := <-l.calls:
			calls = append(calls, c)
			bursts = append(bursts, annBurst{now, c.count})
			if len(bursts) == n {
				cancel()
			}
		case tm := <-l.timers:
			if tm.d < 0 {
				t.Errorf("wait of %v", tm.d)
			}
			// After the cancellation the runner may still start a wait; it must end
			// without the timer.
			if ctx.Err() == nil {
				now += tm.d
				tm.fire <- time.Time{}
			}
		case <-done:
			return bursts, calls
		case <-stuck:
			t.Fatalf("announce is stuck after bursts %v", bursts)
		}
	}
}

func TestAnnounceSchedule(t *testing.T) {
	s := time.Second
	cases := []struct {
		name string
		cfg  AnnounceConfig
		n    int // bursts after which the test cancels
		want []annBurst
	}{
		{name: "keepalived defaults", cfg: DefaultAnnounceConfig(), n: 10,
			want: []annBurst{{0, 5}, {5 * s, 5}}},
		{name: "vrrp_min_garp: one burst of one", cfg: AnnounceConfig{Repeat: 1}, n: 10,
			want: []annBurst{{0, 1}}},
		{name: "refresh without delay", cfg: AnnounceConfig{Repeat: 5, Refresh: 30 * s, RefreshRepeat: 1}, n: 3,
			want: []annBurst{{0, 5}, {30 * s, 1}, {60 * s, 1}}},
		{name: "delay then refresh", cfg: AnnounceConfig{Repeat: 5, Delay: 5 * s, Refresh: 60 * s, RefreshRepeat: 2}, n: 4,
			want: []annBurst{{0, 5}, {5 * s, 5}, {60 * s, 2}, {120 * s, 2}}},
		{name: "refreshes counted from the first burst, around the delayed one",
			cfg: AnnounceConfig{Repeat: 3, Delay: 10 * s, Refresh: 4 * s, RefreshRepeat: 1}, n: 5,
			want: []annBurst{{0, 3}, {4 * s, 1}, {8 * s, 1}, {10 * s, 3}, {12 * s, 1}}},
		{name: "delay on a refresh: both", cfg: AnnounceConfig{Repeat: 5, Delay: 10 * s, Refresh: 5 * s, RefreshRepeat: 1}, n: 5,
			want: []annBurst{{0, 5}, {5 * s, 1}, {10 * s, 5}, {10 * s, 1}, {15 * s, 1}}},
		{name: "cancelled before it starts", cfg: DefaultAnnounceConfig(), n: 0, want: nil},
		{name: "cancelled while waiting for the delayed burst", cfg: DefaultAnnounceConfig(), n: 1,
			want: []annBurst{{0, 5}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Reply = true
			got, calls := runSchedule(t, newLockstep(nil), c.cfg, nil, c.n)
			if !slices.Equal(got, c.want) {
				t.Fatalf("bursts %v, want %v", got, c.want)
			}
			for _, call := range calls {
				if call.ifname != "eth0" || !slices.Equal(call.vips, annVIPs) || !call.reply {
					t.Fatalf("call %+v, want eth0 %v with reply", call, annVIPs)
				}
			}
		})
	}
}

// annCounter is an Announcer that counts its calls; announce calls it from one goroutine.
type annCounter struct{ calls int }

func (c *annCounter) Announce(string, []netip.Addr, int, bool) error {
	c.calls++
	return nil
}

// TestAnnounceNoBurstAfterCancel cancels the context and fires the timer before the
// runner reaches its select, so that the select finds both ready and picks either at
// random; whichever it picks, no burst may follow the cancellation.
func TestAnnounceNoBurstAfterCancel(t *testing.T) {
	for range 100 {
		var a annCounter
		ctx, cancel := context.WithCancel(context.Background())
		after := func(time.Duration) <-chan time.Time {
			cancel()
			ch := make(chan time.Time, 1)
			ch <- time.Time{}
			return ch
		}
		announce(ctx, &a, "eth0", annVIPs, DefaultAnnounceConfig(), nil, after)
		if a.calls != 1 {
			t.Fatalf("%d bursts, want the first one only", a.calls)
		}
	}
}

func TestAnnounceErrorsAreLoggedAndTheScheduleGoesOn(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	boom := errors.New("no carrier")
	cfg := AnnounceConfig{Repeat: 2, Delay: 5 * time.Second, Refresh: 10 * time.Second, RefreshRepeat: 1}
	got, _ := runSchedule(t, newLockstep(boom), cfg, log, 3)
	want := []annBurst{{0, 2}, {5 * time.Second, 2}, {10 * time.Second, 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("bursts %v, want %v", got, want)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want one per burst:\n%s", len(lines), buf.String())
	}
	for i, kind := range []string{"first", "delayed", "refresh"} {
		if !strings.Contains(lines[i], "burst="+kind) || !strings.Contains(lines[i], `err="no carrier"`) {
			t.Errorf("log line %d: %s", i, lines[i])
		}
	}
}

func TestDefaultAnnounceConfig(t *testing.T) {
	want := AnnounceConfig{Repeat: 5, Delay: 5 * time.Second, Refresh: 0, RefreshRepeat: 1, Reply: false}
	if got := DefaultAnnounceConfig(); got != want {
		t.Fatalf("%+v, want keepalived's %+v", got, want)
	}
}

// keepalivedMAC is the MAC address of the node in the keepalived captures.
var keepalivedMAC = net.HardwareAddr{0x02, 0x76, 0x6c, 0x00, 0x01, 0x00}

// keepalivedGARP returns the first ARP frame of keepalived-v3.pcap: keepalived's
// gratuitous ARP for 192.0.2.100.
func keepalivedGARP(t *testing.T) []byte {
	t.Helper()
	frames, err := pcapfile.Read("testdata/keepalived-v3.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if len(f) >= 14 && binary.BigEndian.Uint16(f[12:]) == 0x0806 {
			return f
		}
	}
	t.Fatal("no ARP frame in keepalived-v3.pcap")
	return nil
}

// keepalivedNA returns the ICMPv6 message of keepalived's first neighbour advertisement
// for vip in keepalived-v3-ipv6.pcap, and the IPv6 packet that carried it.
func keepalivedNA(t *testing.T, vip netip.Addr) ([]byte, pcapfile.Packet) {
	t.Helper()
	pkts, err := pcapfile.IPPackets("testdata/keepalived-v3-ipv6.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if p.Protocol == 58 && len(p.Payload) > 0 && p.Payload[0] == 136 && p.Src == vip {
			return p.Payload, p
		}
	}
	t.Fatalf("no neighbour advertisement from %v in keepalived-v3-ipv6.pcap", vip)
	return nil, pcapfile.Packet{}
}

func TestGARPFrameMatchesKeepalived(t *testing.T) {
	want := keepalivedGARP(t)
	vip := netip.MustParseAddr("192.0.2.100")
	got, err := garpFrame(arp.OperationRequest, keepalivedMAC, vip)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("request form\n got % x\nwant % x", got, want)
	}
	// The reply form differs from the request form in the operation only: keepalived
	// sends no replies to compare with.
	wantReply := slices.Clone(want)
	binary.BigEndian.PutUint16(wantReply[20:], uint16(arp.OperationReply))
	got, err = garpFrame(arp.OperationReply, keepalivedMAC, vip)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantReply) {
		t.Fatalf("reply form\n got % x\nwant % x", got, wantReply)
	}
}

func TestGARPFrameRejectsIPv6(t *testing.T) {
	if _, err := garpFrame(arp.OperationRequest, keepalivedMAC, netip.MustParseAddr("2001:db8::100")); !errors.Is(err, arp.ErrInvalidIP) {
		t.Fatalf("err %v, want arp.ErrInvalidIP", err)
	}
}

// TestNAMessageMatchesKeepalived compares the message we hand the kernel with
// keepalived's on the wire, checksum included: the kernel computes it, so the test
// computes it the same way (RFC 4443, 2.3) from the addresses of the captured packet.
func TestNAMessageMatchesKeepalived(t *testing.T) {
	for _, s := range []string{"fe80::100", "2001:db8::100"} {
		t.Run(s, func(t *testing.T) {
			vip := netip.MustParseAddr(s)
			want, pkt := keepalivedNA(t, vip)
			if pkt.Dst != netip.IPv6LinkLocalAllNodes() || pkt.TTL != 255 {
				t.Fatalf("captured NA to %v hop limit %d; the capture is not what the test expects", pkt.Dst, pkt.TTL)
			}
			got, err := naMessage(keepalivedMAC, vip, false)
			if err != nil {
				t.Fatal(err)
			}
			if got[2] != 0 || got[3] != 0 {
				t.Fatalf("checksum % x, want zero for the kernel to fill in", got[2:4])
			}
			binary.BigEndian.PutUint16(got[2:], icmpv6Checksum(vip, pkt.Dst, got))
			if !bytes.Equal(got, want) {
				t.Fatalf("\n got % x\nwant % x", got, want)
			}
		})
	}
}

func TestNAMessageRouterFlag(t *testing.T) {
	vip := netip.MustParseAddr("2001:db8::100")
	host, err := naMessage(keepalivedMAC, vip, false)
	if err != nil {
		t.Fatal(err)
	}
	router, err := naMessage(keepalivedMAC, vip, true)
	if err != nil {
		t.Fatal(err)
	}
	// R is the top bit of the flags byte, after type, code and checksum.
	want := slices.Clone(host)
	want[4] |= 0x80
	if !bytes.Equal(router, want) {
		t.Fatalf("router NA % x, want % x", router, want)
	}
}

// icmpv6Checksum is the ICMPv6 checksum of msg, whose own checksum field is zero, sent
// from src to dst.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var b []byte
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	b = append(b, 0, 0, 0, 58)
	b = append(b, msg...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
