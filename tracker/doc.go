// Package tracker turns health inputs into each instance's effective priority and
// faults, composed exactly as keepalived composes them, so that a keepalived
// configuration keeps its meaning: RFC 5798 section 5.2.4 leaves the priority to the
// router, and keepalived's track_script, track_interface, track_process and track_file
// are what users expect of it.
//
// The trackers:
//
//   - script: runs a command every interval (directly, no shell unless argv names
//     one) as the script user, never as root unless the configuration says root, in a
//     process group of its own killed on timeout. Exit 0 passes; fall failures in a
//     row fail it and rise successes in a row pass it, the first result counting at
//     once (init_fail: failing until it succeeds). A script that someone other than
//     root could change is refused (keepalived's enable_script_security, always on),
//     by NewSet and again before each run. Package runner runs it.
//   - interface: a link's state from netlink link events (netops.LinkEvent), with
//     down_delay and up_delay against flapping.
//   - process: the number of running processes that match a name or a command line,
//     within a quorum; exits are seen through pidfds, new processes by a scan of /proc
//     each second; nothing is forked.
//   - file: a number read from a file each time it changes (inotify), multiplied by
//     the weight: the maintenance switch.
//   - haproxy: HAProxy's Runtime API (`show stat` on the stats socket) polled every
//     interval, with a rule over backends (up while one of their servers is) and
//     frontends (up while OPEN).
//   - bfd: a BFD session (package bfd) that the daemon runs and reports through
//     Env.BFD, passing while Up; keepalived's track_bfd. A session that is not Up
//     fails from the start, so an instance tracking it with weight 0 stays in FAULT
//     until the session first comes Up.
//
// Effective composes an instance's priority from the trackers' states (see its rules);
// a Set runs the trackers of a configuration and delivers each instance's Priority,
// with an explanation such as "priority 150 -> 90: chk_haproxy failing (-60)", whenever
// it changes. A Set is reconfigured in place on reload: trackers whose definition did
// not change keep their state. docs/trackers.md is the user's guide.
package tracker
