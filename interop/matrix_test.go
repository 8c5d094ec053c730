package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The matrix: what runs, and how it is written up. This file has no system calls, so that
// TestInteropDocCurrent runs anywhere.

// peerKind names the implementation vrrpd runs beside.
type peerKind string

const (
	keepalived peerKind = "keepalived"
	frr        peerKind = "FRR"
)

// column is one way of speaking VRRP with one peer.
type column struct {
	peer    peerKind
	version int // 2 or 3
	family  int // 4 or 6
	unicast bool
}

// name is the column's heading: "v3 IPv4 unicast".
func (c column) name() string {
	s := fmt.Sprintf("v%d IPv%d", c.version, c.family)
	if c.unicast {
		s += " unicast"
	}
	return s
}

// id names the column's subtest: "keepalived/v3-IPv4-unicast".
func (c column) id() string {
	return string(c.peer) + "/" + strings.ReplaceAll(c.name(), " ", "-")
}

// unsupported says why the peer cannot run the column at all, or "".
func (c column) unsupported() string {
	if c.peer == frr && c.unicast {
		return "n/a (peer does not support unicast)"
	}
	return ""
}

var columns = []column{
	{peer: keepalived, version: 2, family: 4},
	{peer: keepalived, version: 3, family: 4},
	{peer: keepalived, version: 3, family: 6},
	{peer: keepalived, version: 3, family: 4, unicast: true},
	{peer: keepalived, version: 3, family: 6, unicast: true},
	{peer: frr, version: 2, family: 4},
	{peer: frr, version: 3, family: 4},
	{peer: frr, version: 3, family: 6},
	{peer: frr, version: 3, family: 4, unicast: true},
	{peer: frr, version: 3, family: 6, unicast: true},
}

// scenario is one row of the matrix.
type scenario struct {
	id        string
	checklist string // items of the protocol notes' section 10
	what      string // what the cell does and asserts, for docs/interop.md
	// notFor says why the scenario does not apply to a column, or "".
	notFor func(column) string
}

func always(column) string { return "" }

func v3Only(c column) string {
	if c.version != 3 {
		return "n/a (VRRPv3 only)"
	}
	return ""
}

func v2Only(c column) string {
	if c.version != 2 {
		return "n/a (VRRPv2 only)"
	}
	return ""
}

func v3IPv4Only(c column) string {
	if c.version != 3 || c.family != 4 {
		return "n/a (VRRPv3 over IPv4 only)"
	}
	return ""
}

func passwords(c column) string {
	if c.version != 2 {
		return "n/a (VRRPv2 only)"
	}
	if c.peer == frr {
		return "n/a (peer does not support VRRPv2 authentication)"
	}
	return ""
}

func ipv4Only(c column) string {
	if c.family != 4 {
		return "n/a (VRRPv2 is IPv4 only)"
	}
	return ""
}

var scenarios = []scenario{
	{"election-vrrpd-higher", "1, 12", "vrrpd at priority 150 starts first, the peer at 100 joins: vrrpd stays master, the peer backup.", always},
	{"election-peer-higher", "1, 12, 14", "The peer at 150 starts first, vrrpd at 100 joins: vrrpd stays backup without dropping an advert (in IPv6 unicast, keepalived's hop limit is not 255).", always},
	{"tie-vrrpd-higher-address", "3, 7, 12", "Equal priority, vrrpd has the higher address (IPv6: link-local). Both start cut off from each other and become master; when the bridge forwards again, the higher address stays master. Then it stops, the lower one takes over, and the higher one starts again: it stays backup for three down intervals, never displacing the lower-address master.", always},
	{"tie-peer-higher-address", "3, 7, 12", "The same with the peer at the higher address.", always},
	{"partition-vrrpd-higher", "7", "vrrpd at 150 and the peer at 100 are both master while cut off; when the bridge forwards again the peer steps down at vrrpd's next advert. Figure: from the heal to the step-down, as the peer reports it (in unicast it includes ARP or ND resolution, which failed while the bridge was cut).", always},
	{"partition-peer-higher", "7", "The same with the peer higher: vrrpd steps down.", always},
	{"crash-vrrpd-master", "5", "vrrpd is master; its link goes down and it is killed (SIGKILL): the peer takes over after its Master_Down_Interval, between 0.8 x MDI and MDI + 1 s after vrrpd's last advert. Figure: measured, and MDI in brackets.", always},
	{"crash-peer-master", "5", "The same with the peer as master and vrrpd taking over.", always},
	{"handover-vrrpd-to-peer", "4", "1 s interval. vrrpd is master and stops (SIGTERM): it sends priority 0 and the peer takes over within Skew_Time + 0.5 s, not 3 intervals. Figure: measured, and skew in brackets.", always},
	{"handover-peer-to-vrrpd", "4", "The same with the peer stopping and vrrpd taking over.", always},
	{"make-before-break", "4, 15", "vrrpd at 150 is master, a client probes the VIP every 3 ms, and vrrpd stops (SIGTERM): with `make_before_break` it sends priority 0 and keeps its VIP until 20 ms after the peer's first advert as master, and the client, moved by the peer's announcements, loses 16 probes in a row at most, 50 ms of them (those between the peer's advert and its announcement; a break before make costs the peer's Skew_Time, 0.12 s here). Figures: probes lost, and when vrrpd released its VIP after the peer's first advert (from the kernel's address events on vrrpd's node).", always},
	{"lowered-peer-master", "4, 6", "1 s interval. The peer at 150 is master, vrrpd at 100 backup; the peer's priority falls to 90 (keepalived: a tracked file, weight -60; FRR: `vrrp N priority 90`). With `fast_handover` vrrpd takes over within its Skew_Time + 0.5 s of the peer's first advert at 90, not its Master_Down_Interval; the peer steps down, and the client loses 16 probes in a row at most. Figures: when the peer advertised 90, and vrrpd's takeover after it.", always},
	{"lowered-vrrpd-master", "4, 6", "vrrpd at 150 is master, the peer at 100 backup; a tracked file takes vrrpd to 90. vrrpd advertises 90 at once; the peer discards an advert below its own priority (RFC 5798 6.4.2) and takes over after its Master_Down_Interval, its normal time, while vrrpd keeps serving: the client loses 16 probes in a row at most. Figures: the peer's takeover after vrrpd's first advert at 90, against its skew and MDI.", always},
	{"preempt-vrrpd", "6", "vrrpd at 150 is master, stops, the peer takes over; vrrpd starts again and, hearing a master below it, takes back mastership after its Skew_Time (`fast_handover`), not its down interval.", always},
	{"preempt-peer", "6", "The same with the peer at 150, which takes back mastership after its down interval.", always},
	{"nopreempt-peer", "6", "vrrpd at 100 is master; the peer at 150 with preemption off (keepalived `nopreempt`, FRR `no vrrp N preempt`) starts and stays backup for three of its down intervals.", always},
	{"learn-interval-vrrpd", "8", "vrrpd at 0.2 s is master until the peer at 1 s and a higher priority preempts it; vrrpd learns 1 s (`vrrpd show` master_advert_interval) and, when the peer crashes, takes over after the learned down interval (3.609 s), not its own (0.722 s).", v3Only},
	{"learn-interval-peer", "8", "The same the other way: the peer at 0.2 s, preempted by vrrpd at 1 s; when vrrpd crashes the peer takes over after the learned down interval (FRR also shows it in `show vrrp`).", v3Only},
	{"vips-order-excluded", "10", "Two VIPs in opposite orders on the two sides, and a third one in vrrpd's excluded_vips (added and removed with the others, never advertised): vrrpd at 150 is master with all three and the peer accepts its adverts; then vrrpd stops, the peer takes over, and vrrpd, back at 50, accepts the peer's adverts.", always},
	{"announce-vrrpd", "15, 12", "A client on the bridge talks to the VIP while the peer is master; the peer crashes and vrrpd's gratuitous ARP or unsolicited NA moves the client's neighbour entry to vrrpd's MAC. Figures: the takeover, and when the client's entry changed after it (polled).", always},
	{"announce-peer", "15, 12", "The same the other way: the client's entry moves to the peer's MAC (FRR: the virtual MAC of its macvlan).", always},
	{"password-right", "11", "VRRPv2 simple password, 10 characters on both sides (both truncate to 8): election with vrrpd higher, no complaint.", passwords},
	{"password-wrong", "11, 13", "Different passwords, the peer at 150: both become master. vrrpd logs `adverts from <peer> dropped: wrong password`, again only with the first drop 10 s later, counts every advert the peer sent (compared with the capture), and `vrrpd show` (text and JSON) has the same as its last drop, reason auth.", passwords},
	{"checksum-peer-default", "2", "The peer is master with its default VRRPv3 IPv4 checksum: vrrpd accepts it and counts the form in `vrrpd show` checksum_forms (pseudo-header).", v3IPv4Only},
	{"checksum-message-only", "2", "vrrpd at 150 sends the message-only form (`checksum: message-only`, seen on the wire). keepalived 2.2.7 and FRR 8.4 verify the pseudo-header form only: the peer must complain and stay master, which proves the switch works.", v3IPv4Only},
	{"mismatch-version", "13", "The peer speaks the other version (keepalived: its IPv4 default, VRRPv2, against vrrpd's VRRPv3): both become master; vrrpd's log and `vrrpd show` say `version 2, expected 3` (or the reverse), as in `password-wrong`.", ipv4Only},
	{"mismatch-vips", "10, 13", "The peer advertises another VIP: both become master; vrrpd says `<vip> missing from [<peer's vips>]`.", always},
	{"mismatch-interval", "8, 13", "VRRPv2 with the peer at 1 s and vrrpd at 2 s: both become master; vrrpd says `advert interval 1s, expected 2s`. (The other way round, keepalived 2.2.7 as master sends no advert at all while it drops vrrpd's, which come more often than its own: vrrpd then has only one to report.)", v2Only},
}

// notApplicable says why a cell does not run, or "".
func notApplicable(c column, s scenario) string {
	if why := c.unsupported(); why != "" {
		return why
	}
	return s.notFor(c)
}

// outcome is what one cell came to.
type outcome struct {
	status string // pass, FAIL, n/a, not run
	note   string // figures, or why not
}

// results collects the outcome of each cell as the cells end.
type results struct {
	mu sync.Mutex
	m  map[string]outcome
}

func newResults() *results { return &results{m: map[string]outcome{}} }

func cellKey(c column, s scenario) string { return c.id() + "/" + s.id }

func (r *results) set(c column, s scenario, o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[cellKey(c, s)] = o
}

func (r *results) get(c column, s scenario) outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := r.m[cellKey(c, s)]; ok {
		return o
	}
	if why := notApplicable(c, s); why != "" {
		return outcome{status: "n/a", note: strings.TrimPrefix(why, "n/a ")}
	}
	return outcome{status: "not run"}
}

// environment is what the doc says the suite ran against.
type environment struct {
	date       time.Time
	keepalived string
	frr        string
	kernel     string
	goVersion  string
}

// renderDoc writes docs/interop.md: the environment, one table per peer, the scenarios.
func renderDoc(r *results, env environment) string {
	var b strings.Builder
	b.WriteString("# Interoperability\n\n")
	b.WriteString("<!-- Generated by `make interop-doc` (the tests of ./interop, as root). Do not edit. -->\n\n")
	b.WriteString("vrrpd runs beside keepalived and FRR's vrrpd, each side in a network namespace of its\n")
	b.WriteString("own on one bridge. Each cell is one test of [interop/](../interop): it asserts one\n")
	b.WriteString("master (two where the peer is misconfigured on purpose), the VIPs on the masters only,\n")
	b.WriteString("no complaint in either side's log and no advert dropped by vrrpd except those the cell\n")
	b.WriteString("expects, and that every advert vrrpd sent is well formed on the wire (TTL or hop limit\n")
	b.WriteString("255, exact length, destination, checksum form). Times run from the old master's last\n")
	b.WriteString("advert (crash) or its priority-0 advert (hand-over), as captured on the bridge, to the\n")
	b.WriteString("moment the new master says it took over (vrrpd's `show`, the peer's log). The\n")
	b.WriteString("checklist numbers refer to section 10 of the protocol notes.\n\n")
	fmt.Fprintf(&b, "| tested on | version |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s |\n", env.date.UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "| keepalived | %s |\n", env.keepalived)
	fmt.Fprintf(&b, "| FRR vrrpd | %s |\n", env.frr)
	fmt.Fprintf(&b, "| kernel | %s |\n", env.kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", env.goVersion)
	for _, peer := range []peerKind{keepalived, frr} {
		fmt.Fprintf(&b, "\n## vrrpd and %s\n\n", peer)
		var cols []column
		for _, c := range columns {
			if c.peer == peer {
				cols = append(cols, c)
			}
		}
		b.WriteString("| scenario | checklist |")
		for _, c := range cols {
			fmt.Fprintf(&b, " %s |", c.name())
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(cols)) + "\n")
		for _, s := range scenarios {
			fmt.Fprintf(&b, "| `%s` | %s |", s.id, s.checklist)
			for _, c := range cols {
				o := r.get(c, s)
				cell := o.status
				if o.note != "" {
					cell += " " + o.note
				}
				fmt.Fprintf(&b, " %s |", strings.ReplaceAll(cell, "|", "/"))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(peerNotes)
	b.WriteString("\n## Scenarios\n\n")
	for _, s := range scenarios {
		fmt.Fprintf(&b, "- `%s`: %s\n", s.id, s.what)
	}
	return b.String()
}

// peerNotes is what the suite found out about the peers.
const peerNotes = `
## What the peers do

- keepalived 2.2.7 and FRR 8.4 verify only the pseudo-header form of the VRRPv3 IPv4
  checksum (` + "`checksum-message-only`" + `); FRR 8.4 has no setting for the other form. Beside
  them, keep vrrpd's default, ` + "`checksum: pseudo-header`" + `.
- FRR logs an advert it cannot parse ("Datagram invalid: ...") only with
  ` + "`debug vrrp packets`" + `, which the suite turns on; keepalived logs it always.
- keepalived sends IPv6 unicast adverts with hop limit 64; vrrpd accepts any TTL or hop
  limit in unicast, as keepalived does (` + "`election-peer-higher`" + `, IPv6 unicast).
- keepalived 2.2.7, as VRRPv2 master at 2 s, sent no advert at all while it dropped, as an
  interval mismatch, vrrpd's adverts at 1 s (seen while building the suite): vrrpd had one
  advert to report, once. With the intervals the other way round, as in
  ` + "`mismatch-interval`" + `, both keep advertising.
- FRR 8.4 over IPv6 does not send its first advert as a new master ("Failed to find
  address to bind on vrrp6-N"); it takes over in time, and advertises from the next
  interval on.
- A master whose priority falls below its backup's: keepalived 2.2.7 and FRR 8.4 as the
  backup discard its adverts (RFC 5798 6.4.2) and take over after their
  Master_Down_Interval, counted from the last advert they accepted
  (` + "`lowered-vrrpd-master`" + `); vrrpd keeps serving until then. As the lowered master,
  keepalived advertises its new priority at its next interval, FRR after it is
  reconfigured, within an interval; vrrpd as the backup takes over in its Skew_Time after
  the first such advert (` + "`lowered-peer-master`" + `).
- A master that stops: keepalived and FRR as the backup take over in their Skew_Time
  after vrrpd's priority 0, as always; vrrpd keeps its VIP until their first advert and
  lets it go then (` + "`make-before-break`" + `). The client's gap is the time between the peer's
  advert and its gratuitous ARP or unsolicited NA reaching the client: none in most runs,
  up to a few tens of milliseconds over IPv6 on a loaded machine.
- FRR keeps its VIPs on a macvlan with the virtual MAC, in protodown while backup. Without
  arp_ignore 1 and arp_announce 2 on the base interface, FRR's node answers ARP for the
  VIP with the base interface's MAC, as master and as backup alike; the suite sets both on
  the FRR node, as keepalived's use_vmac does for itself.
`

// tableShape returns, for each line of the matrix tables in md (those after the first
// "## " heading), its first cell and its number of cells: the shape that must not drift
// between the suite and the doc.
func tableShape(md string) []string {
	var shape []string
	if i := strings.Index(md, "\n## "); i >= 0 {
		md = md[i:]
	}
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		shape = append(shape, fmt.Sprintf("%s (%d cells)", strings.TrimSpace(cells[0]), len(cells)))
	}
	return shape
}

// TestInteropDocCurrent checks that docs/interop.md lists every cell of the suite, in the
// suite's order, and that none of them was left unrun: regenerate it with
// `make interop-doc` (as root) when the matrix changes.
func TestInteropDocCurrent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "interop.md"))
	if err != nil {
		t.Fatalf("docs/interop.md: %v (generate it with `make interop-doc` as root)", err)
	}
	doc := string(data)
	want := tableShape(renderDoc(newResults(), environment{}))
	got := tableShape(doc)
	if !slices.Equal(got, want) {
		t.Errorf("docs/interop.md does not list the suite's cells; run `make interop-doc` as root.\ngot rows:\n  %s\nwant rows:\n  %s",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, c := range columns {
		if !strings.Contains(doc, "| "+c.name()+" |") {
			t.Errorf("docs/interop.md has no column %q", c.name())
		}
	}
	for _, s := range scenarios {
		if !strings.Contains(doc, "- `"+s.id+"`: ") {
			t.Errorf("docs/interop.md does not describe %s", s.id)
		}
	}
	if strings.Contains(doc, " not run ") {
		t.Error("docs/interop.md has cells that were not run: generate it from a full run")
	}
}
