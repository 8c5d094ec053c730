// Package gobgp is vrrpd's BGP speaker: GoBGP's server embedded as a library, with no
// gRPC listener and no listening socket, driven through rhi.Speaker. Only vrrpd-bgp,
// the speaker's own process, links it: vrrpd itself carries none of GoBGP's code or
// memory (see package rhi/process).
package gobgp
