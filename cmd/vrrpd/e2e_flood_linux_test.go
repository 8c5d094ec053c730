package main

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/vrrp"
)

// TestE2EFlood: a host on the LAN floods the master with 50,000 spoofed adverts a
// second for 30 s (VRRPD_FLOOD_SECONDS changes it): every kind the checks drop, and
// valid ones of a lower priority from ever-changing sources. The master keeps
// advertising on time, so the backup never takes over; its memory stays flat; its log
// says each reason at most once per 10 s.
func TestE2EFlood(t *testing.T) {
	seconds := 30
	if s, err := strconv.Atoi(os.Getenv("VRRPD_FLOOD_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	const rate = 50_000 // packets a second
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	a.bin, b.bin = plainVrrpd.Path(t), plainVrrpd.Path(t)
	a, b = c.startPair("100ms")
	bAddrs := watchAddrs(t, b.ns)
	since := b.instance("web").Since

	// The client hears the master's adverts, to measure their regularity.
	var tap netops.Socket
	c.client.MustDo(func() (err error) {
		tap, err = netops.OpenSocket("eth0", vrrp.IPv4)
		return err
	})
	t.Cleanup(func() { tap.Close() })
	var mu sync.Mutex
	var heard []time.Time
	go func() {
		buf := make([]byte, 1500)
		for {
			n, m, err := tap.Read(buf)
			if err != nil {
				return
			}
			if m.Src == netip.MustParseAddr("192.0.2.1") && n > 2 && buf[2] == 150 {
				mu.Lock()
				heard = append(heard, time.Now())
				mu.Unlock()
			}
		}
	}()

	flood := newFlooder(t, c.client)
	pid := a.cmd.Process.Pid
	var rss []int
	start := time.Now()
	sent := 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lastSample := start
	for time.Since(start) < time.Duration(seconds)*time.Second {
		<-tick.C
		// Catch up with the rate whatever the ticker's jitter.
		due := int(time.Since(start).Seconds() * rate)
		for ; sent < due; sent++ {
			flood.send(sent)
		}
		if time.Since(lastSample) >= time.Second {
			lastSample = time.Now()
			rss = append(rss, rssKB(t, pid))
		}
	}
	elapsed := time.Since(start)
	t.Logf("flooded %d packets in %v (%.0f a second)", sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())

	// The backup never took over.
	if bAddrs.wasAdded(netip.MustParseAddr(vip)) {
		t.Fatal("the VIP appeared on the backup during the flood")
	}
	if st := b.instance("web"); st.State != "BACKUP" || !st.Since.Equal(since) {
		t.Fatalf("the backup is %s since %v (was BACKUP since %v)", st.State, st.Since, since)
	}
	if st := a.instance("web"); st.State != "MASTER" {
		t.Fatalf("the master is %s", st.State)
	}
	// Its adverts came on time.
	mu.Lock()
	var gap time.Duration
	for i := 1; i < len(heard); i++ {
		gap = max(gap, heard[i].Sub(heard[i-1]))
	}
	n := len(heard)
	mu.Unlock()
	late := a.instance("web").AdvertLatenessMax
	// The client hears the flood too, in this test's process: it may miss adverts.
	t.Logf("the master's adverts: %d heard by the client, longest gap there %v; the master sent each at most %v late (interval 100ms, the backup's Master_Down_Interval 361ms)",
		n, gap.Round(time.Millisecond), time.Duration(late).Round(time.Microsecond))
	if want := int(elapsed/(100*time.Millisecond)) * 9 / 10; n < want || time.Duration(late) > 50*time.Millisecond {
		t.Fatalf("%d adverts heard, want at least %d; an advert went out %v late", n, want, time.Duration(late))
	}
	// Memory stayed flat: no more than 4 MB above what it was after the first 5 seconds.
	t.Logf("master RSS each second (kB): %v", rss)
	if len(rss) > 5 && rss[len(rss)-1] > rss[4]+4096 {
		t.Fatalf("the master's memory grew from %d kB to %d kB", rss[4], rss[len(rss)-1])
	}
	// What was dropped is counted by reason, and logged at most once per 10 s each.
	st := a.instance("web")
	for _, r := range []string{"ttl", "version", "checksum", "address_list", "length"} {
		if st.Drops[r] == 0 {
			t.Errorf("no %s drop counted: %v", r, st.Drops)
		}
	}
	perReason := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(a.out.String()))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "dropped:") {
			continue
		}
		_, r, _ := strings.Cut(line, "reason=")
		r, _, _ = strings.Cut(r, " ")
		perReason[r]++
	}
	limit := seconds/10 + 2
	for r, n := range perReason {
		if n > limit {
			t.Errorf("%d log lines for reason %s in %d s, want at most %d", n, r, seconds, limit)
		}
	}
	t.Logf("drop log lines by reason: %v; drops counted: %v", perReason, st.Drops)
	if b, _ := json.Marshal(st.Drops); len(perReason) == 0 {
		t.Fatalf("nothing logged about the drops %s", b)
	}
}

// flooder sends crafted VRRP packets from spoofed sources in the client's namespace.
type flooder struct {
	t    *testing.T
	raw  *ipv4.RawConn
	pkts [][]byte // payloads, each with the source its checksum was made for
	srcs []net.IP
	ttls []int
	rnd  *rand.Rand
}

func newFlooder(t *testing.T, ns *netnstest.NS) *flooder {
	t.Helper()
	f := &flooder{t: t, rnd: rand.New(rand.NewPCG(1, 2))}
	ns.MustDo(func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		t.Cleanup(func() { c.Close() })
		if f.raw, err = ipv4.NewRawConn(c); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		return f.raw.SetMulticastInterface(ifi)
	})
	vips := []netip.Addr{netip.MustParseAddr(vip)}
	good := vrrp.Advertisement{Version: vrrp.Version3, Type: vrrp.TypeAdvertisement, VRID: 51, Priority: 50,
		Interval: 100 * time.Millisecond, Addresses: vips}
	add := func(a vrrp.Advertisement, ttl int, mangle func([]byte) []byte) {
		for i := range 64 {
			src := netip.AddrFrom4([4]byte{192, 0, 2, byte(20 + i)})
			b, err := a.Encode(src, vrrp.GroupIPv4, vrrp.ChecksumPseudoHeader)
			if err != nil {
				t.Fatal(err)
			}
			if mangle != nil {
				b = mangle(b)
			}
			f.pkts, f.srcs, f.ttls = append(f.pkts, b), append(f.srcs, src.AsSlice()), append(f.ttls, ttl)
		}
	}
	add(good, 255, nil)                                              // valid, lower priority
	add(good, 64, nil)                                               // ttl
	add(good, 255, func(b []byte) []byte { b[7] ^= 0xff; return b }) // checksum
	add(good, 255, func(b []byte) []byte { return b[:5] })           // length
	other := good
	other.Addresses = []netip.Addr{netip.MustParseAddr("192.0.2.99")}
	add(other, 255, nil) // address_list
	v2 := good
	v2.Version, v2.Interval = vrrp.Version2, time.Second
	add(v2, 255, nil) // version
	otherVRID := good
	otherVRID.VRID = 52
	add(otherVRID, 255, nil) // nobody's
	return f
}

func (f *flooder) send(i int) {
	k := f.rnd.IntN(len(f.pkts))
	p := f.pkts[k]
	h := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TOS: 0xc0, TotalLen: ipv4.HeaderLen + len(p), TTL: f.ttls[k],
		Protocol: vrrp.IPProtocol, Src: f.srcs[k], Dst: vrrp.GroupIPv4.AsSlice()}
	if err := f.raw.WriteTo(h, p, nil); err != nil && i == 0 {
		f.t.Fatalf("flood: %v", err)
	}
}

// rssKB returns the resident memory of process pid.
func rssKB(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
