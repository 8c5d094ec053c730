// Package metrics exports vrrpd's status as Prometheus metrics: an exporter that reads
// the daemon's status at each scrape, so that a reload that removes an instance, a
// VIP or a tracker leaves no stale series; the HTTP endpoint (`metrics:` in the
// configuration); and the text exposition that `vrrpd metrics` prints from the
// control socket.
//
// The families of the instances and trackers are written straight from the status in
// the text format 0.0.4, in the order and with the text client_golang gives them, at
// a few milliseconds and a few hundred kilobytes for a thousand instances, where
// building a client_golang metric for each of their fifty thousand samples cost a
// third of a second and tens of megabytes. vrrpd_build_info and the go_* and process_*
// families are written so too, with the names, HELP texts, types and labels of
// client_golang's default Go and process collectors, from runtime/metrics and /proc:
// the daemon does not link client_golang, whose dependencies' package initialisation
// alone (protobuf's descriptors among it) held 3.5 MB of resident memory. The tests
// compare the text with client_golang's, which they still use.
//
// The endpoint is a minimal HTTP/1.1 server of the package's own, not net/http's: it
// answers one GET or HEAD of the metrics' path a connection, reads no body, and
// refuses what a scraper does not send (other methods, HTTP/2, requests over 8 KiB,
// bodies) with the status net/http would give. net/http links crypto/tls and
// crypto/x509 whether TLS is served or not, which would cost every node about 2 MB of
// resident memory and 3 MB of binary for one document.
//
// Every series of an instance has the labels vrrp_instance (the instance's name: the
// label instance belongs to Prometheus, which names the scraped target with it),
// interface, vrid and family. docs/monitoring.md lists the metrics.
package metrics
