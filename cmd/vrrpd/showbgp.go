package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vrrpd/vrrpd/control"
)

// writeBGP prints the bgp section of a status: each session, then each route with
// whether it is announced and why.
func writeBGP(w io.Writer, b *control.BGPStatus, now time.Time) {
	if b == nil {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "bgp  AS %d  router id %s\n", b.ASN, b.RouterID)
	for _, p := range b.Peers {
		since := ""
		if !p.Since.IsZero() {
			since = " for " + ago(now.Sub(p.Since))
		}
		extra := ""
		if p.BFD != "" {
			extra += " · bfd " + p.BFD
		}
		if p.State == "established" {
			extra += fmt.Sprintf(" · %d prefixes sent", p.Advertised)
		}
		fmt.Fprintf(w, "  peer      %-22s AS %-10d %s%s%s\n", p.Address, p.ASN, p.State, since, extra)
		if p.LastError != "" {
			fmt.Fprintf(w, "            last error: %s\n", p.LastError)
		}
	}
	for _, r := range b.Routes {
		state := r.State
		if r.State == "last resort" || r.State == "pending" {
			if r.Announced {
				state += ", announced"
			} else {
				state += ", not announced"
			}
		}
		since := ""
		if !r.Since.IsZero() {
			since = " for " + ago(now.Sub(r.Since))
		}
		fmt.Fprintf(w, "  route     %-14s %s%s: %s\n", r.Name, state, since, r.Reason)
		on := ""
		if r.Interface != "" {
			on = " on " + r.Interface
		}
		fmt.Fprintf(w, "            %s%s\n", strings.Join(r.Prefixes, ", "), on)
	}
}
