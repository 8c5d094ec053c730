// Package rhi is route health injection: vrrpd announces service prefixes to upstream
// routers over BGP (RFC 4271) while the trackers a route names pass, so that every
// healthy node attracts a share of the traffic (the routers spread it with ECMP) and a
// node that fails, or whose vrrpd dies, stops attracting it.
//
// Table is the pure decision: given the trackers' states (package tracker), the VRRP
// instances that are MASTER and the time, which prefixes are announced, with which
// attributes, and why. Manager applies the decisions: it puts a route's address on its
// interface (through netops.Addresses, marked as vrrpd's like a VIP) before the first
// announce and removes it after the last withdraw, and drives a Speaker. GoBGP is the
// Speaker: GoBGP embedded as a library, with no gRPC listener and no listening socket;
// vrrpd opens the sessions.
//
// Fail-safe choices: graceful restart (RFC 4724) is not advertised, since a helper
// router would keep a dead speaker's routes; the hold time is 9 s by default; BFD (RFC
// 5880, 5881) is opt-in per peer. A graceful stop announces the routes with the
// GRACEFUL_SHUTDOWN community (RFC 8326), waits the drain time, withdraws, closes the
// sessions (a Cease NOTIFICATION, RFC 4486), and only then removes the addresses.
package rhi
