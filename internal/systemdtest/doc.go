// Package systemdtest runs a real systemd service manager for privileged tests, on a
// machine whose own PID 1 may be anything: systemd as PID 1 of new PID, mount, cgroup,
// UTS and IPC namespaces, inside a test's network namespace, like a container.
//
// The manager loads units only from a directory the test fills (Manager.Dir, seen by
// the manager as Root), where stand-ins for the few system targets a service depends on
// are written first; none of the host's units can start. It gets its own cgroup2
// hierarchy (a child of the host's, as its namespace root), its own /run, /tmp and
// /var/tmp, /proc/sys, /etc, /usr and /var read-only, and a pseudo-terminal as
// /dev/console, where it writes its log and services their output (Manager.Log).
// Ending the test kills the manager, which ends every process in its PID namespace,
// and removes its cgroups.
package systemdtest
