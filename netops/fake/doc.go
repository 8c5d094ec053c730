// Package fake is an in-memory stand-in for the netops package, for the daemon's unit
// tests: a segment that carries adverts between fake sockets, interfaces whose addresses
// live in a map, and an announcer that records what it would send. Each fake passes the
// same contract tests as the Linux implementation it stands in for.
package fake
