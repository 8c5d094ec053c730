// Package interop holds the interoperability suite: vrrpd beside keepalived 2.2.7 and
// FRR's vrrpd 8.4 (the Debian 12 packages), each in a network namespace of its own on one
// bridge. It is tests only; this file exists for the package comment.
//
// The suite is a matrix. Its columns are a peer and a way of speaking VRRP (VRRPv2,
// VRRPv3 over IPv4 or IPv6, multicast or unicast); its rows are the scenarios of the
// interoperability checklist in the protocol notes, section 10: election both ways, the
// address tie-break, crash failover and priority-0 hand-over both ways, preemption, VRRPv3
// interval learning, VRRPv2 passwords, the two VRRPv3 IPv4 checksum forms, and a peer
// configured differently, which vrrpd must name in its log and in `vrrpd show`.
//
// Every cell asserts one master (or, for a misconfigured peer, the two masters that
// keepalived's and the RFC's receive checks produce), the VIPs on the masters only, no
// complaint in either side's log, and, from a capture on the bridge, that every advert
// vrrpd sent is well formed: TTL or hop limit 255, exact length, the right destination
// and checksum form. Takeover times run from the old master's last advert (or its
// priority-0 advert) as captured on the bridge to the moment the new master says it took
// over: vrrpd in `vrrpd show`, keepalived and FRR in their logs.
//
// Beside the matrix, vrrpd's BFD sessions (package bfd) run against FRR's bfdd, over
// IPv4 and IPv6, and against keepalived's BFD process: both sides must say Up, a cut of
// the gateway's link must take the session down within its detection time and the
// instance that tracks it with weight 0 to FAULT, so the VIP moves, and the link's
// return must bring both back.
//
// The tests need root, iproute2, keepalived and frr; they skip without root and fail
// under CI=true when something is missing. With VRRPD_INTEROP_DOC naming a file, the
// suite writes the matrix there in Markdown: `make interop-doc` regenerates
// docs/interop.md, and TestInteropDocCurrent checks that the committed file still lists
// every cell.
package interop
