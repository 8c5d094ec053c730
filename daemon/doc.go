// Package daemon wires a configuration to the protocol and the machine: one goroutine
// per instance owns a vrrp.Router, feeds it packets from the netops demultiplexer, its
// timers and requests, and carries out its actions (send adverts, add and remove VIPs,
// announce them, run notify hooks) through a System. It also reloads a configuration
// without touching instances whose identity is unchanged, shuts down without leaking a
// VIP, and reports status and transitions for `vrrpd show` and `vrrpd events`.
package daemon
