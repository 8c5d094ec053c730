// Package probe is what a client of the VIPs feels, for the chaos suite and the
// failover benchmark: a UDP responder on every node that answers with the node's name,
// and a client that sends a datagram to each VIP every few milliseconds and hands each
// answer on with the time its probe was sent. A gap in the answers is an outage; the
// name in them says which node served.
//
// Probes carry their sequence number and the time they were sent, so a caller needs no
// bookkeeping of its own to tell how long clients went unanswered: between two answered
// probes of one VIP whose numbers are not consecutive, every probe in between was lost.
package probe
