// Package daemons runs the VRRP daemons that the interop suite, the chaos suite and the
// failover benchmark put side by side: vrrpd and keepalived. One description of a
// node's virtual routers (Node) gives the configuration file of either daemon, so that
// both run the same routers; the command lines keep every file of a run in its own
// directory; and a kill of keepalived leaves none of its processes behind.
package daemons
