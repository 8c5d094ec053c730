package netops

// Preparer does ahead of time, for a VIP, what its first use at a takeover would
// otherwise do there: look its interface up, open the sockets that announce it, read
// the interface's addresses. The daemon prepares what implements it when it starts
// instances; a failure changes nothing, the first use reports it.
type Preparer interface {
	Prepare(v VIP) error
}

var (
	_ Preparer = (*VIPManager)(nil)
	_ Preparer = (*LinuxAnnouncer)(nil)
)
