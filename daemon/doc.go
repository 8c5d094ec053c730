// Package daemon wires a configuration to the protocol and the machine: one goroutine
// per instance owns a vrrp.Router, feeds it packets from the netops demultiplexer, its
// timers and requests, and carries out its actions (send adverts, add and remove VIPs,
// announce them, run notify hooks) through a System. It also reloads a configuration
// without touching instances whose identity is unchanged, shuts down without leaking a
// VIP, and reports its status and events as a control.Source, for the control socket.
//
// Around the protocol it runs what keepalived's instances do besides: sync groups
// (syncgroup.go, carrying out vrrp.SyncGroup's orders in the members' goroutines),
// virtual routes and rules that follow the VIPs (routes.go), virtual MAC interfaces
// (vmac.go), and the instance keywords of extras.go (the advert source and link as
// faults, interface parameters, the extra notify hooks).
package daemon
