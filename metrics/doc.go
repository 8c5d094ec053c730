// Package metrics exports vrrpd's status as Prometheus metrics: a collector that reads
// the daemon's status at each scrape, so that a reload that removes an instance, a
// VIP or a tracker leaves no stale series; the registry with vrrpd_build_info and the
// Go and process collectors; the HTTP endpoint (`metrics:` in the configuration); and
// the text exposition that `vrrpd metrics` prints from the control socket.
//
// Every series of an instance has the labels vrrp_instance (the instance's name: the
// label instance belongs to Prometheus, which names the scraped target with it),
// interface, vrid and family. docs/monitoring.md lists the metrics.
package metrics
