// Package netops is the Linux side of vrrpd: protocol-112 sockets, virtual IP addresses
// and link events through netlink, gratuitous ARP and unsolicited neighbour
// advertisements. It carries out the actions of the vrrp package.
package netops
