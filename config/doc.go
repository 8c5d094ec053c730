// Package config reads a node's configuration: one YAML file, by default
// /etc/vrrpd/vrrpd.yaml, that lists the node's virtual routers (instances), the health
// checks they track (scripts, processes, files, HAProxy checks, and interfaces named
// where they are tracked), and defaults shared by the instances. The rule of an HAProxy
// check is parsed here, by ParseHAProxyRule, the one parser of rules.
//
// Load and Parse turn the file into a Config with every default filled in, or return a
// *Problems error that lists every problem at once, each with its file:line:column, the
// path of the setting (instances[web].vrid) and a hint, so that a user fixes a file in
// one pass. Unknown keys are errors, with the closest known key as a hint and, for the
// keywords of keepalived.conf, the vrrpd key to write instead. Warnings, such as a
// VRRPv2 password longer than the 8 bytes that count, do not stop a load; they are in
// Config.Warnings.
//
// The checks follow the wire formats: VRIDs and priorities in 1..255, an advert interval
// of whole seconds up to 255 s for VRRPv2 (RFC 3768 section 5.3.7) and of 10 ms steps up
// to 40.95 s for VRRPv3 (RFC 5798 section 5.2.7), one address family per instance and
// IPv4 only for VRRPv2, no more VIPs than one advert of a 1500-byte packet carries
// (RFC 5798 section 5.2.5), and authentication for VRRPv2 only (RFC 3768 section 5.3.6;
// RFC 5798 section 9 removed it). Every other duration is at least MinTimer, or 0 where
// 0 means none or off, and garp.refresh at least MinGARPRefresh: shorter is a slip of
// the unit. What interoperates with keepalived is its default:
// the checksum with the IPv4 pseudo-header, GARP bursts of 5 repeated after 5 s. The one
// default that differs is the version: vrrpd's is 3, keepalived's is 2 for IPv4. Accept
// mode is always on, as the services behind the VIPs need: accept: false is refused,
// since vrrpd does not install the firewall rules with which keepalived drops traffic.
//
// Check runs the checks that need the machine, through the small Host interface: the
// interfaces exist, no VIP is one of the node's own addresses, no unicast peer is
// either, an advert source is one, and a socket_group the file names exists.
//
// docs/configuration.md is the user's reference to every key.
package config
