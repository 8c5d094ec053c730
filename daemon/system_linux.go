package daemon

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/vrrpd/vrrpd/netops"
)

// LinuxSystem is the System of this machine, with what must be closed after the daemon
// stops.
type LinuxSystem struct {
	System
	VIPs    *netops.VIPManager
	Routes  *netops.RouteManager
	Links   *netops.LinkManager
	monitor *netops.Monitor
	cancel  context.CancelFunc
	ann     *netops.LinuxAnnouncer
}

// NewLinuxSystem opens netlink and the VIP state file. The VIP manager follows address
// events to put back a VIP someone deletes while we are master.
func NewLinuxSystem(stateFile string, log *slog.Logger) (*LinuxSystem, error) {
	vips, err := netops.NewVIPManager(stateFile, log)
	if err != nil {
		return nil, err
	}
	routes, err := netops.NewRouteManager(netops.RouteStatePath(stateFile), log)
	if err != nil {
		vips.Close()
		return nil, err
	}
	links, err := netops.NewLinkManager(netops.LinkStatePath(stateFile), log)
	if err != nil {
		vips.Close()
		routes.Close()
		return nil, err
	}
	mon, err := netops.NewMonitor(log)
	if err != nil {
		vips.Close()
		routes.Close()
		links.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	forVIPs, stopVIPs := mon.Subscribe()
	go func() { <-ctx.Done(); stopVIPs() }()
	go vips.Watch(ctx, forVIPs)
	forDaemon, stopDaemon := mon.Subscribe()
	go func() { <-ctx.Done(); stopDaemon() }()
	ann := netops.NewAnnouncer()
	return &LinuxSystem{
		System: System{
			Open:       netops.OpenSocket,
			Addresses:  vips,
			Routes:     routes,
			Links:      links,
			Announcer:  ann,
			Interfaces: kernelInterfaces{vips},
			Events:     forDaemon,
			Sysctl:     netops.SetSysctl,
			BFD:        netops.KernelBFD{},
		},
		VIPs:    vips,
		Routes:  routes,
		Links:   links,
		monitor: mon,
		cancel:  cancel,
		ann:     ann,
	}, nil
}

// Close releases netlink and the announcer's sockets.
func (s *LinuxSystem) Close() error {
	s.cancel()
	s.monitor.Close()
	s.ann.Close()
	s.Routes.Close()
	s.Links.Close()
	return s.VIPs.Close()
}

// kernelInterfaces reads the node's addresses from the kernel, without the VIPs.
type kernelInterfaces struct{ vips *netops.VIPManager }

func (k kernelInterfaces) Addrs(ifname string) ([]netip.Addr, error) {
	return netops.NodeAddrs(ifname, k.vips.Owned())
}

func (kernelInterfaces) Up(ifname string) (bool, error) { return netops.LinkUp(ifname) }
