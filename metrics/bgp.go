package metrics

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vrrpd/vrrpd/control"
)

// The help of the BGP families.
const (
	helpPeerState  = "A BGP session's state: 1 for the current one (idle, connect, active, opensent, openconfirm, established), 0 for the others."
	helpPeerChange = "When the BGP session was last established or went down, in seconds since the epoch; " +
		"absent when it never was up."
	helpPeerBFD          = "The BFD session's state: 1 for the current one (admin_down, down, init, up), 0 for the others; absent without BFD."
	helpPeerAdvertised   = "Prefixes announced to the peer."
	helpRouteState       = "A route's state: 1 for the current one (withdrawn, pending, announced, last_resort), 0 for the others."
	helpRouteAnnounced   = "1 while every prefix of the route is announced (healthy or as a last resort), 0 otherwise."
	helpRouteCause       = "Why the route is in its state: 1 for the current cause (healthy, tracker, up_delay, not_master, address, starting), 0 for the others."
	helpRouteChange      = "When the route entered its state, in seconds since the epoch."
	helpRouteTransitions = "State changes of the route, by the state entered."
)

// labelWord writes a word of the status as a label value: "last resort" is last_resort.
func labelWord(s string) string { return strings.ReplaceAll(s, " ", "_") }

// bgpSample is a sample of a BGP family: its label values, in the order of the
// family's label names, and its value.
type bgpSample struct {
	labels []string
	value  float64
}

// bgpFamily is a family of the BGP sessions or routes, whose label names are given
// sorted. There are a handful of samples: they are gathered, then sorted by their label
// values as client_golang sorts them.
func bgpFamily(name, help, kind string, names []string, samples func(b *control.BGPStatus) []bgpSample) *family {
	return newFamily(name, help, kind, func(t *textWriter, f *family, v *view) {
		if v.st.BGP == nil {
			return
		}
		ss := samples(v.st.BGP)
		slices.SortStableFunc(ss, func(a, b bgpSample) int { return slices.Compare(a.labels, b.labels) })
		for _, s := range ss {
			t.begin(f)
			for i, n := range names {
				sep := byte(',')
				if i == 0 {
					sep = '{'
				}
				t.label(sep, n, s.labels[i])
			}
			t.closeLabels()
			t.value(s.value)
		}
	})
}

// perPeer is a BGP family with a sample of each peer where value reports one.
func perPeer(name, help, kind string, value func(p *control.BGPPeerStatus) (float64, bool)) *family {
	return bgpFamily(name, help, kind, []string{"peer", "peer_asn"}, func(b *control.BGPStatus) []bgpSample {
		var ss []bgpSample
		for i := range b.Peers {
			p := &b.Peers[i]
			if x, ok := value(p); ok {
				ss = append(ss, bgpSample{[]string{p.Address, asn(p)}, x})
			}
		}
		return ss
	})
}

// perPeerState is a BGP family with a sample of each peer for each of states, 1 for
// the one state returns.
func perPeerState(name, help string, states []string, state func(p *control.BGPPeerStatus) (string, bool)) *family {
	return bgpFamily(name, help, gauge, []string{"peer", "peer_asn", "state"}, func(b *control.BGPStatus) []bgpSample {
		var ss []bgpSample
		for i := range b.Peers {
			p := &b.Peers[i]
			cur, ok := state(p)
			if !ok {
				continue
			}
			for _, s := range states {
				ss = append(ss, bgpSample{[]string{p.Address, asn(p), s}, bool01(cur == s)})
			}
		}
		return ss
	})
}

// perRoute is a BGP family with a sample of each route where value reports one.
func perRoute(name, help, kind string, value func(r *control.RouteStatus) (float64, bool)) *family {
	return bgpFamily(name, help, kind, []string{"route"}, func(b *control.BGPStatus) []bgpSample {
		var ss []bgpSample
		for i := range b.Routes {
			if x, ok := value(&b.Routes[i]); ok {
				ss = append(ss, bgpSample{[]string{b.Routes[i].Name}, x})
			}
		}
		return ss
	})
}

// perRouteBy is a BGP family with a sample of each route for each of words, told apart
// by the label, which sorts before or after "route".
func perRouteBy(name, help, kind, label string, words []string, value func(r *control.RouteStatus, word string) float64) *family {
	names := []string{"route", label}
	if label < "route" {
		names = []string{label, "route"}
	}
	return bgpFamily(name, help, kind, names, func(b *control.BGPStatus) []bgpSample {
		var ss []bgpSample
		for i := range b.Routes {
			r := &b.Routes[i]
			for _, w := range words {
				labels := []string{r.Name, labelWord(w)}
				if label < "route" {
					labels[0], labels[1] = labels[1], labels[0]
				}
				ss = append(ss, bgpSample{labels, value(r, w)})
			}
		}
		return ss
	})
}

func asn(p *control.BGPPeerStatus) string { return strconv.FormatUint(uint64(p.ASN), 10) }

// bgpFamilies are the families of the BGP sessions and routes.
func bgpFamilies() []*family {
	return []*family{
		perPeerState("vrrpd_bgp_peer_state", helpPeerState, control.BGPPeerStates,
			func(p *control.BGPPeerStatus) (string, bool) { return p.State, true }),
		perPeer("vrrpd_bgp_peer_state_change_timestamp_seconds", helpPeerChange, gauge,
			func(p *control.BGPPeerStatus) (float64, bool) { return seconds(p.Since.UnixNano()), !p.Since.IsZero() }),
		perPeerState("vrrpd_bgp_peer_bfd_state", helpPeerBFD, control.BFDStates,
			func(p *control.BGPPeerStatus) (string, bool) { return p.BFD, p.BFD != "" }),
		perPeer("vrrpd_bgp_peer_prefixes_advertised", helpPeerAdvertised, gauge,
			func(p *control.BGPPeerStatus) (float64, bool) { return float64(p.Advertised), true }),
		perRouteBy("vrrpd_bgp_route_state", helpRouteState, gauge, "state", control.RouteStates,
			func(r *control.RouteStatus, s string) float64 { return bool01(r.State == s) }),
		perRoute("vrrpd_bgp_route_announced", helpRouteAnnounced, gauge,
			func(r *control.RouteStatus) (float64, bool) { return bool01(r.Announced), true }),
		perRouteBy("vrrpd_bgp_route_cause", helpRouteCause, gauge, "cause", control.RouteCauses,
			func(r *control.RouteStatus, c string) float64 { return bool01(r.Cause == c) }),
		perRoute("vrrpd_bgp_route_state_change_timestamp_seconds", helpRouteChange, gauge,
			func(r *control.RouteStatus) (float64, bool) { return seconds(r.Since.UnixNano()), !r.Since.IsZero() }),
		perRouteBy("vrrpd_bgp_route_transitions_total", helpRouteTransitions, counter, "to", control.RouteStates,
			func(r *control.RouteStatus, s string) float64 { return float64(r.Transitions[s]) }),
	}
}
