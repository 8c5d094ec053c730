package netnstest

import (
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Follow hands every update of a netlink subscription in ns to handle, in a goroutine
// of its own, until the test ends. subscribe starts the subscription in the namespace h
// names, delivering to updates until done is closed (one of netlink's
// *SubscribeWithOptions); buffer is the size of updates. A subscription that cannot
// start fails the test.
func Follow[U any](t testing.TB, ns *NS, buffer int, subscribe func(h *netns.NsHandle, updates chan U, done chan struct{}) error, handle func(U)) {
	t.Helper()
	h := ns.Handle()
	updates := make(chan U, buffer)
	done := make(chan struct{})
	if err := subscribe(&h, updates, done); err != nil {
		h.Close()
		t.Fatalf("netlink events of %s: %v", ns.Name, err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case u, ok := <-updates:
				if !ok {
					return
				}
				handle(u)
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
		h.Close()
	})
}

// FollowAddresses hands handle every address the kernel of ns adds or removes, until the
// test ends.
func FollowAddresses(t testing.TB, ns *NS, handle func(netlink.AddrUpdate)) {
	t.Helper()
	Follow(t, ns, 256, func(h *netns.NsHandle, updates chan netlink.AddrUpdate, done chan struct{}) error {
		return netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{Namespace: h, ReceiveBufferSize: 1 << 20})
	}, handle)
}
