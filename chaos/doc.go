// Package chaos runs a VRRP cluster of real daemons (vrrpd, keepalived, or both) in
// network namespaces and breaks it on a seeded schedule: daemons killed and stopped,
// links pulled, a node partitioned, its frames dropped or delayed, reloads with and
// without changes, a second `vrrpd run` started by mistake, health checks failing. It
// proves that the faults lose nothing, from what the kernel says.
//
// The parts that need no privilege are plain Go and build everywhere:
//
//   - NewPlan draws the faults of every cycle from a seed. The plan depends on the seed
//     alone, never on the daemons, so that a vrrpd cluster, a keepalived one and a mixed
//     one can be compared fault for fault.
//   - Event is one entry of the timeline the harness records: kernel address events of
//     every node (netlink subscriptions in each namespace, stamped on arrival), what the
//     harness did and when, the answers a client got from the VIPs.
//   - Check is a pure function of the setup, the plan and the timeline. It replays the
//     timeline and reports every violation of the invariants (RFC 5798 section 6.4 and
//     RFC 9568), with an excerpt of the timeline around it:
//     never two nodes holding a VIP for longer than Master_Down_Interval + one advert
//     interval while the network is connected; never no node holding it for longer than
//     that while a healthy node runs; after each quiet period the VIP on exactly the node
//     the election must pick (highest effective priority among running, healthy,
//     connected nodes; of two equal ones, whichever was master, since a backup never
//     preempts a master of its own priority and the address breaks ties only between
//     two masters); no VIP after a graceful
//     stop; a killed vrrpd's stale VIPs gone within one second of its restart; a second
//     `vrrpd run` leaving at once and changing nothing.
//
// The harness itself is TestChaos, in the package's Linux test files: see
// docs/chaos.md and `make chaos`.
package chaos
