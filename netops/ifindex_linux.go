package netops

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ifIndex returns the index of the interface called name, in the network namespace of
// the socket fd, with one SIOCGIFINDEX: not a dump of every link, as a look-up through
// the net package or netlink's LinkByName costs, a thousand times over when a thousand
// VIPs are taken over at once. It fails wrapping ErrNoInterface when there is none.
func ifIndex(fd int, name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("interface %q: %w", name, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return 0, fmt.Errorf("%w: %s", ErrNoInterface, name)
		}
		return 0, fmt.Errorf("interface %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}
