// Package keepalived reads the VRRP part of a keepalived.conf, as keepalived 2.2.7 reads
// it, and converts it into a vrrpd configuration: the YAML that config.Parse reads, and
// a list of everything that could not be carried over, each with its file and line.
//
// The reader follows keepalived's own: comments start with # or ! anywhere outside
// double quotes, { and } are statements of their own, words are split at white space
// with "..." quoting, and include (with globs and {a,b} braces) reads other files
// relative to the including one. Commands (vrrp_script's script, notify_*) are split
// again with '...', "..." and backslash escapes, into the argument lists vrrpd runs.
// Conditional lines (@id) are kept or dropped by Options.ConfigID as keepalived -i does;
// parameter definitions ($NAME=), ~SEQ and ~LST are not expanded: a file that uses them
// is refused with the line, so that nothing is converted from a text keepalived would
// read differently.
//
// The conversion writes every keepalived default that differs from vrrpd's: the version
// (keepalived: 2 for IPv4, 3 for IPv6; RFC 3768, RFC 5798), the gratuitous ARP
// schedule, check_unicast_src off, the script user. It applies keepalived's own
// adjustments where keepalived makes them (state MASTER without a priority is 255, a
// VRRPv2 interval is rounded to whole seconds, passwords are cut to 8 characters,
// weighted trackers of sync group members are ignored, vrrp_strict's
// lower_prio_no_advert and authentication rules) and says so. Accept mode is never
// written: vrrpd always accepts traffic for its VIPs, so no_accept, and vrrp_strict
// below priority 255, become notes that keepalived's firewall rules are not reproduced.
//
// Convert never runs a command and reads nothing but the files named; what it needs to
// know of the machine (where a command is on $PATH, whether the keepalived_script user
// exists) it asks through Options.
package keepalived
