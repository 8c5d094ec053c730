package daemon

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
)

// vips returns every address the instance manages: advertised and excluded.
func (in *instance) vips() []netops.VIP {
	var out []netops.VIP
	for _, v := range slices.Concat(in.cfg.VIPs, in.cfg.ExcludedVIPs) {
		out = append(out, toNetopsVIP(*in.cfg, v))
	}
	return out
}

func toNetopsVIP(in config.Instance, v config.VIP) netops.VIP {
	ifname := v.Interface
	if ifname == "" {
		ifname = in.Interface
	}
	ifname = vipInterface(in, ifname, v)
	return netops.VIP{Prefix: v.Prefix, Interface: ifname, Label: v.Label}
}

// addVIPs adds vips. One that cannot be added is retried with backoff; a master
// still missing one an advert interval later goes to FAULT (see vipsDue).
func (in *instance) addVIPs(vips []netops.VIP) {
	now := in.d.clock.Now()
	for _, v := range vips {
		in.d.holders.take(v, in)
		err := in.d.sys.Addresses.Add(v)
		if err == nil {
			delete(in.missing, v)
			continue
		}
		if _, known := in.missing[v]; !known {
			in.log.Error("cannot add VIP, retrying", "vip", v.Prefix.String(), "interface", v.Interface, "error", err)
		}
		in.missing[v] = err
	}
	if len(in.missing) == 0 {
		in.vipRetryAt, in.vipDeadline, in.vipBackoff = time.Time{}, time.Time{}, 0
		return
	}
	if in.vipDeadline.IsZero() {
		in.vipDeadline = now.Add(in.cfg.AdvertInterval)
		in.vipBackoff = vipRetryFirst
	}
	in.vipRetryAt = now.Add(in.vipBackoff)
	in.vipBackoff = min(2*in.vipBackoff, vipRetryMax)
}

// Bounds of the retries of a VIP that cannot be added, and of the FAULT that follows.
const (
	vipRetryFirst    = 10 * time.Millisecond
	vipRetryMax      = time.Second
	vipRecoverFirst  = time.Second
	vipRecoverMax    = time.Minute
	vipFaultSource   = "vips"
	vipRecoverReason = "trying the VIPs again"
)

// vipsDue retries the missing VIPs when it is time, and gives up mastership when they
// are still missing at the deadline: the backup, whose VIPs work, takes over in
// Skew_Time. It also ends a FAULT for VIPs when it is time to try again.
func (in *instance) vipsDue(now time.Time) {
	if !in.vipRecoverAt.IsZero() && !now.Before(in.vipRecoverAt) {
		in.vipRecoverAt = time.Time{}
		in.clearFault(vipFaultSource, vipRecoverReason)
	}
	if len(in.missing) == 0 {
		return
	}
	if !in.vipRetryAt.IsZero() && !now.Before(in.vipRetryAt) {
		in.addVIPs(slices.Collect(maps.Keys(in.missing)))
	}
	if len(in.missing) == 0 || now.Before(in.vipDeadline) {
		return
	}
	var why string
	for _, v := range sortedMissing(in.missing) {
		if why != "" {
			why += "; "
		}
		why += fmt.Sprintf("cannot add VIP %s on %s: %v", v.Prefix, v.Interface, in.missing[v])
	}
	in.vipFaults++
	wait := min(vipRecoverFirst<<min(in.vipFaults-1, 6), vipRecoverMax)
	in.vipRecoverAt = now.Add(wait)
	in.log.Error("VIPs missing after an advert interval: giving up mastership", "reason", why, "retry_in_seconds", wait.Seconds())
	// The fault removes the VIPs that were added; missing is cleared by removeVIPs.
	in.setFault(vipFaultSource, why)
}

// removeVIPs lets vips go: each leaves the kernel unless another instance holds it.
func (in *instance) removeVIPs(vips []netops.VIP) {
	for _, v := range vips {
		delete(in.missing, v)
		if !in.d.holders.drop(v, in) {
			in.log.Debug("VIP kept: another instance holds it", "vip", v.Prefix.String(), "interface", v.Interface)
			continue
		}
		if err := in.d.sys.Addresses.Remove(v); err != nil {
			in.log.Error("cannot remove VIP", "vip", v.Prefix.String(), "interface", v.Interface, "error", err)
		}
	}
	if len(in.missing) == 0 {
		in.vipRetryAt, in.vipDeadline, in.vipBackoff = time.Time{}, time.Time{}, 0
	}
}

func garpEqual(a, b config.GARP) bool { return a == b }

func sortedMissing(m map[netops.VIP]error) []netops.VIP {
	vs := slices.Collect(maps.Keys(m))
	slices.SortFunc(vs, func(a, b netops.VIP) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
	return vs
}
