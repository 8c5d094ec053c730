// Package daemon wires a configuration to the protocol and the machine: one goroutine
// per instance owns a vrrp.Router, feeds it packets from the netops demultiplexer, its
// timers and requests, and carries out its actions (send adverts, add and remove VIPs,
// announce them, run notify hooks) through a System. It also reloads a configuration
// without touching instances whose identity is unchanged, shuts down without leaking a
// VIP, and reports its status and events as a control.Source, for the control socket.
package daemon
