package keepalived

import (
	"net/netip"
	"time"

	"go.yaml.in/yaml/v3"
)

// outBFD is a bfd_instance, written under bfd:.
type outBFD struct {
	pos                  Pos
	name                 string
	neighbor, source     netip.Addr
	minRx, minTx, idleTx time.Duration
	multiplier           int
	passive              bool
	// weight and reverse are keepalived's defaults for the instances tracking it.
	weight  int
	reverse bool
	used    bool
}

// keepalived's bfd_instance defaults and limits (bfd.h), in milliseconds and counts.
const (
	bfdIntervalHi  = time.Second
	bfdIdleLo      = time.Second
	bfdIdleHi      = 10 * time.Second
	bfdMultiplerHi = 10
)

// bfdInstance reads a bfd_instance: a single-hop BFD session, as vrrpd runs them.
func (cv *converter) bfdInstance(block *node) {
	name, ok := cv.definitionName(block)
	if !ok {
		return
	}
	if _, dup := cv.bfds[name]; dup {
		cv.rep.skip(block.pos, block.describe(), "a bfd_instance of this name is already defined")
		return
	}
	b := &outBFD{pos: block.pos, name: name, minRx: 10 * time.Millisecond, minTx: 10 * time.Millisecond, idleTx: time.Second, multiplier: 5}
	for _, n := range block.children {
		switch kw := n.keyword(); kw {
		case "neighbor_ip", "neighbour_ip", "source_ip":
			a, err := netip.ParseAddr(n.arg(0))
			if err != nil || a.Zone() != "" || !usable(a.Unmap()) {
				cv.rep.skip(n.pos, n.describe(), "not one host's address; keepalived ignores it")
				continue
			}
			if kw == "source_ip" {
				b.source = a.Unmap()
			} else {
				b.neighbor = a.Unmap()
			}
		case "min_rx", "min_tx", "idle_tx":
			lo, hi := time.Millisecond, bfdIntervalHi
			if kw == "idle_tx" {
				lo, hi = bfdIdleLo, bfdIdleHi
			}
			d, ok := parseMillis(n.arg(0), hi)
			if !ok || d < lo || d > hi {
				cv.rep.skip(n.pos, n.describe(), "not %s..%s in milliseconds; keepalived ignores it", formatDuration(lo), formatDuration(hi))
				continue
			}
			if kw != "idle_tx" && d < minTimer {
				cv.rep.change(n.pos, n.describe(), "vrrpd's shortest BFD interval is %s; written as %s", formatDuration(minTimer), formatDuration(minTimer))
				d = minTimer
			}
			switch kw {
			case "min_rx":
				b.minRx = d
			case "min_tx":
				b.minTx = d
			default:
				b.idleTx = d
			}
		case "multiplier":
			v, ok := parseUint(n.arg(0), 1, bfdMultiplerHi)
			if !ok {
				cv.rep.skip(n.pos, n.describe(), "not 1..%d; keepalived ignores it", bfdMultiplerHi)
				continue
			}
			b.multiplier = v
		case "passive":
			b.passive = true
		case "ttl", "hoplimit":
			if n.arg(0) == "255" {
				cv.rep.change(n.pos, n.describe(), "nothing to write: vrrpd always sends BFD at 255")
				continue
			}
			cv.rep.skip(n.pos, n.describe(), "vrrpd sends BFD with TTL and hop limit 255, as single-hop BFD requires (RFC 5881)")
		case "max_hops":
			if n.arg(0) == "0" {
				continue
			}
			cv.rep.skip(n.pos, n.describe(), "vrrpd runs single-hop BFD only: it accepts packets at TTL or hop limit 255 (RFC 5881)")
		case "weight":
			w, ok := parseInt(n.arg(0), -253, 253)
			if !ok {
				cv.rep.skip(n.pos, n.describe(), "the weight must be -253..253; keepalived ignores it")
				continue
			}
			b.weight, b.reverse = w, cv.reverse(n, 1, false)
		case "vrrp":
			cv.rep.change(n.pos, kw, "nothing to write: vrrpd's sessions are for its instances")
		case "checker":
			cv.rep.skip(n.pos, kw, "vrrpd has no checker; its instances may still track the session")
		default:
			cv.rep.skip(n.pos, n.describe(), "not a bfd_instance keyword vrrpd has")
		}
	}
	switch {
	case !b.neighbor.IsValid():
		cv.rep.skip(block.pos, block.describe(), "no neighbor_ip (keepalived removes it)")
		return
	case b.source.IsValid() && b.source.Is4() != b.neighbor.Is4():
		cv.rep.skip(block.pos, block.describe(), "source_ip and neighbor_ip are not of one family (keepalived removes it)")
		return
	case b.neighbor.Is6() && b.neighbor.IsLinkLocalUnicast():
		cv.rep.skip(block.pos, block.describe(), "vrrpd needs the interface of a link-local neighbour: "+
			"write bfd: {%s: {neighbor: %v, interface: ...}} by hand", name, b.neighbor)
		return
	}
	cv.bfds[name] = b
	cv.out.bfd = append(cv.out.bfd, b)
}

func (c *outConfig) bfdNode(cv *converter) *yaml.Node {
	m := mapping(false)
	for _, b := range c.bfd {
		if !b.used {
			cv.rep.skip(b.pos, "bfd_instance "+b.name, "no instance tracks it")
			continue
		}
		bm := mapping(false)
		set(bm, "neighbor", str(b.neighbor.String()), "")
		if b.source.IsValid() {
			set(bm, "source", str(b.source.String()), "")
		}
		set(bm, "min_rx", duration(b.minRx), "")
		set(bm, "min_tx", duration(b.minTx), "")
		if b.idleTx != time.Second {
			set(bm, "idle_tx", duration(b.idleTx), "")
		}
		set(bm, "multiplier", integer(b.multiplier), "")
		if b.passive {
			set(bm, "passive", boolean(true), "")
		}
		key := str(b.name)
		key.HeadComment = origin(b.pos, "bfd_instance", b.name)
		m.Content = append(m.Content, key, bm)
	}
	return m
}

// parseMillis reads a decimal number of milliseconds such as 10 or 3.312, as keepalived
// reads BFD timers, in 0..hi.
func parseMillis(s string, hi time.Duration) (time.Duration, bool) {
	d, ok := parseSeconds(s, hi*1000)
	return d / 1000, ok
}
