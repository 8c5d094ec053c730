package metrics

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vrrpd/vrrpd/control"
)

// A view is a status laid out in the order the samples go out: client_golang sorts a
// family's samples by their label values, the labels taken by name, and a scrape keeps
// that order so that its text stays the same. Every series of an instance has the
// labels family, interface, vrid and vrrp_instance, and whatever labels a family adds
// sort between interface and vrid; so a family's samples go by (family, interface),
// then by its own labels, then by (vrid, vrrp_instance) as text.
type view struct {
	st *control.Status
	// instances in the order of their labels; groups split it into runs of the same
	// family and interface.
	instances []instanceLabels
	groups    []span
	// vips and trackers of the instances, in the order of their samples.
	vips     []vipSample
	trackers []trackerSample
	// nodeTrackers are the daemon's trackers by kind and name; scripts those with runs
	// by name.
	nodeTrackers []*control.Tracker
	scripts      []*control.Tracker
	// rt and proc are the Go runtime and the process as a scrape read them; nil for
	// vrrpd metrics, which leaves their families out.
	rt   *runtimeSample
	proc *processSample
	// errs are the series left out: a duplicate, or a label value that is not UTF-8,
	// which client_golang refuses too.
	errs []error
}

// instanceLabels is an instance and the text of its labels, escaped once for all its
// series: head is `{family="IPv4",interface="eth0"` and tail `vrid="51",vrrp_instance="web"}`.
type instanceLabels struct {
	in                        *control.InstanceStatus
	listed                    int // its place in the status
	group                     int
	family, iface, vrid, name string
	head, tail                []byte
}

// span is the run [lo, hi) of instances sharing a family and an interface.
type span struct{ lo, hi int }

type vipSample struct {
	at                int // the instance's place in view.instances
	address, vipIface string
	present           bool
}

type trackerSample struct {
	at         int
	kind, name string
	delta      int
	fault      bool
}

// newView lays st out; it keeps pointers into st, which must not change while the
// view is in use.
func newView(st *control.Status) *view {
	v := &view{st: st}
	v.layInstances()
	v.layVIPsAndTrackers()
	v.layNodeTrackers()
	return v
}

func (v *view) layInstances() {
	v.instances = make([]instanceLabels, 0, len(v.st.Instances))
	for i := range v.st.Instances {
		in := &v.st.Instances[i]
		if !validUTF8(in.Name, in.Interface, in.Family) {
			v.errs = append(v.errs, fmt.Errorf("instance %q: a label value is not UTF-8", in.Name))
			continue
		}
		v.instances = append(v.instances, instanceLabels{in: in, listed: i, family: in.Family, iface: in.Interface,
			vrid: strconv.Itoa(in.VRID), name: in.Name})
	}
	// Of two instances with the same labels the first listed is kept, as client_golang
	// keeps the first of two series it is given. The configuration refuses two
	// instances of one name: this only guards the text against a duplicate, and leaves
	// the second out whole, VIPs and trackers too.
	slices.SortFunc(v.instances, func(a, b instanceLabels) int {
		return cmp.Or(strings.Compare(a.family, b.family), strings.Compare(a.iface, b.iface),
			strings.Compare(a.vrid, b.vrid), strings.Compare(a.name, b.name), cmp.Compare(a.listed, b.listed))
	})
	v.instances = slices.CompactFunc(v.instances, func(a, b instanceLabels) bool {
		if a.family == b.family && a.iface == b.iface && a.vrid == b.vrid && a.name == b.name {
			v.errs = append(v.errs, fmt.Errorf("instance %q on %s, VRID %s, %s: listed twice", b.name, b.iface, b.vrid, b.family))
			return true
		}
		return false
	})
	// The label text of every instance in one buffer, of the size it takes unless a
	// value needs escaping.
	size := 0
	for _, l := range v.instances {
		size += len(`{family="",interface="",vrid="",vrrp_instance=""}`) + len(l.family) + len(l.iface) + len(l.vrid) + len(l.name)
	}
	text := make([]byte, 0, size)
	bounds := make([][3]int, len(v.instances)) // where the head starts, ends, and the tail ends
	for i := range v.instances {
		l := &v.instances[i]
		if i == 0 || l.family != v.instances[i-1].family || l.iface != v.instances[i-1].iface {
			v.groups = append(v.groups, span{lo: i})
		}
		v.groups[len(v.groups)-1].hi = i + 1
		l.group = len(v.groups) - 1
		bounds[i][0] = len(text)
		text = appendLabel(append(text, '{'), "family", l.family)
		text = appendLabel(append(text, ','), "interface", l.iface)
		bounds[i][1] = len(text)
		text = appendLabel(text, "vrid", l.vrid)
		text = appendLabel(append(text, ','), "vrrp_instance", l.name)
		text = append(text, '}')
		bounds[i][2] = len(text)
	}
	for i, b := range bounds {
		v.instances[i].head, v.instances[i].tail = text[b[0]:b[1]], text[b[1]:b[2]]
	}
}

func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value, true)
	return append(b, '"')
}

func (v *view) layVIPsAndTrackers() {
	nv, nt := 0, 0
	for _, l := range v.instances {
		nv, nt = nv+len(l.in.VIPs), nt+len(l.in.Trackers)
	}
	v.vips, v.trackers = make([]vipSample, 0, nv), make([]trackerSample, 0, nt)
	for at := range v.instances {
		in := v.instances[at].in
		for _, p := range in.VIPs {
			address := vipAddress(p.Address)
			if !validUTF8(address, p.Interface) {
				v.errs = append(v.errs, fmt.Errorf("instance %q: VIP %q on %q: a label value is not UTF-8", in.Name, p.Address, p.Interface))
				continue
			}
			v.vips = append(v.vips, vipSample{at: at, address: address, vipIface: p.Interface, present: p.Present})
		}
		for _, tr := range in.Trackers {
			if !validUTF8(tr.Kind, tr.Name) {
				v.errs = append(v.errs, fmt.Errorf("instance %q: tracker %q: a label value is not UTF-8", in.Name, tr.Name))
				continue
			}
			v.trackers = append(v.trackers, trackerSample{at: at, kind: tr.Kind, name: tr.Name, delta: tr.Delta, fault: tr.Fault})
		}
	}
	group := func(at int) int { return v.instances[at].group }
	slices.SortStableFunc(v.vips, func(a, b vipSample) int {
		return cmp.Or(cmp.Compare(group(a.at), group(b.at)), strings.Compare(a.address, b.address),
			strings.Compare(a.vipIface, b.vipIface), cmp.Compare(a.at, b.at))
	})
	v.vips = slices.CompactFunc(v.vips, func(a, b vipSample) bool {
		if a.at == b.at && a.address == b.address && a.vipIface == b.vipIface {
			v.errs = append(v.errs, fmt.Errorf("instance %q: VIP %s on %s listed twice", v.instances[b.at].name, b.address, b.vipIface))
			return true
		}
		return false
	})
	slices.SortStableFunc(v.trackers, func(a, b trackerSample) int {
		return cmp.Or(cmp.Compare(group(a.at), group(b.at)), strings.Compare(a.kind, b.kind),
			strings.Compare(a.name, b.name), cmp.Compare(a.at, b.at))
	})
	v.trackers = slices.CompactFunc(v.trackers, func(a, b trackerSample) bool {
		if a.at == b.at && a.kind == b.kind && a.name == b.name {
			v.errs = append(v.errs, fmt.Errorf("instance %q: tracker %s %s listed twice", v.instances[b.at].name, b.kind, b.name))
			return true
		}
		return false
	})
}

func (v *view) layNodeTrackers() {
	for i := range v.st.Trackers {
		tr := &v.st.Trackers[i]
		if !validUTF8(tr.Kind, tr.Name) {
			v.errs = append(v.errs, fmt.Errorf("tracker %q: a label value is not UTF-8", tr.Name))
			continue
		}
		v.nodeTrackers = append(v.nodeTrackers, tr)
	}
	slices.SortStableFunc(v.nodeTrackers, func(a, b *control.Tracker) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
	})
	v.nodeTrackers = slices.CompactFunc(v.nodeTrackers, func(a, b *control.Tracker) bool {
		if a.Kind == b.Kind && a.Name == b.Name {
			v.errs = append(v.errs, fmt.Errorf("tracker %s %s listed twice", b.Kind, b.Name))
			return true
		}
		return false
	})
	for _, tr := range v.nodeTrackers {
		if tr.Runs != nil {
			v.scripts = append(v.scripts, tr)
		}
	}
	slices.SortStableFunc(v.scripts, func(a, b *control.Tracker) int { return strings.Compare(a.Name, b.Name) })
	v.scripts = slices.CompactFunc(v.scripts, func(a, b *control.Tracker) bool {
		if a.Name == b.Name {
			v.errs = append(v.errs, fmt.Errorf("script %s listed twice", b.Name))
			return true
		}
		return false
	})
}

func validUTF8(values ...string) bool {
	for _, s := range values {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// vipAddress is the VIP without its prefix length, as alerts join it across nodes
// whose prefix lengths may differ.
func vipAddress(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return s
	}
	// The status writes a VIP as netip does: its address as it is in s, without
	// allocating another string.
	var b [64]byte
	a := p.Addr().AppendTo(b[:0])
	if i := strings.IndexByte(s, '/'); i == len(a) && s[:i] == string(a) {
		return s[:i]
	}
	return string(a)
}
