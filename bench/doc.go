// Package bench is the failover benchmark, `make bench-failover`: what clients feel when
// a VIP moves, measured for vrrpd and keepalived in the same run, on the same network,
// one after the other, so that a noisy machine weighs on both.
//
// In network namespaces, two nodes (priorities 150 and 100) share a bridge with a client
// that sends a UDP probe to the VIP every 3 ms and records which node answers, and when
// its neighbour entry for the VIP changes. The scenarios, each at 1 s, 100 ms and 10 ms
// adverts and repeated (median of the repetitions):
//
//   - host loss: the master's link goes down and its daemon is killed;
//   - daemon SIGKILL: the master's daemon is killed, the node stays up;
//   - graceful stop: SIGTERM to the master's daemon;
//   - FAULT: a tracked file with weight 0 fails on the master, its VIP link up;
//   - lowered priority: a tracked file with weight -60 takes the master below the backup;
//   - split brain and heal: the bridge stops forwarding between the nodes (not to the
//     client) until both are master and the client follows the lower one, then heals;
//   - preempt back: the master, stopped, starts again and takes its VIP back.
//
// Then a thousand instances on four links per node (1 s and 100 ms): CPU and memory from
// /proc over a steady window, the time from the start of both nodes to the last state
// change, and how many instances the lower node was ever master of. And 100 instances at
// 10 ms for minutes while stress-ng keeps every CPU busy: the takeovers nothing
// justified, and how late vrrpd's periodic adverts went out.
//
// The results are a table of both daemons' figures, their ratio, and the goal each
// figure has, met or not; TestFailover prints it and writes docs/performance.md with the
// machine and the versions. The package's pure part (this file's neighbours without
// _linux) renders the table and is tested everywhere; the harness is in the Linux test
// files and needs root.
package bench
