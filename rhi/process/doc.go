// Package process runs vrrpd's BGP speaker in a process of its own, vrrpd-bgp, so that
// vrrpd's process carries none of GoBGP's code, gRPC's or protobuf's: about 14 MB of
// resident memory that a node without BGP routes never needs, and that a node with
// them keeps apart from the VRRP instances' process.
//
// Speaker is the rhi.Speaker vrrpd drives. It starts vrrpd-bgp with a pipe on its
// standard input and output and speaks JSON lines: vrrpd asks (start, set peers,
// announce, withdraw, peers, stop) and vrrpd-bgp answers each request in order, and
// tells of peer changes and its log records as they happen. Serve is vrrpd-bgp's side.
//
// vrrpd-bgp lives and dies with vrrpd: it exits at once when its standard input
// closes, which the kernel does when vrrpd ends in any way, so its sessions close and
// the routers withdraw the routes, as they did when the speaker was inside vrrpd. When
// vrrpd-bgp ends on its own, Speaker tells of every peer as down, starts it again and
// gives it back the speaker's identity, peers and announced routes.
package process
