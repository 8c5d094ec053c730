package netops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// LinkManager creates and removes virtual MAC interfaces through netlink, in the network
// namespace it was created in. What is ours is marked twice: each interface carries
// VMACAlias as its alias, and is recorded with the base interfaces' parameters it
// changed in a state file, so that a restart or `vrrpd cleanup` after a crash removes
// the interfaces and puts the parameters back. It is safe for concurrent use.
type LinkManager struct {
	log       *slog.Logger
	statePath string

	mu sync.Mutex
	ns netns.NsHandle
	h  *netlink.Handle // nil after Close
	st linkState
	// wanted are the interfaces this run created or took and has not removed.
	wanted map[string]bool
}

var _ Links = (*LinkManager)(nil)

// linkState is the state file: the virtual MAC interfaces by name with their base, and
// the values the base interfaces' parameters had before vrrpd changed them.
type linkState struct {
	VMACs map[string]string            `json:"vmacs"`
	Bases map[string]map[string]string `json:"bases"`
}

// The base interface's parameters a virtual MAC interface needs, and their values:
// the base answers no ARP for the addresses on the virtual MAC interface (arp_ignore 1,
// arp_filter 1), and asks with its own address, never a VIP's that a reply from the
// VIP leaving by the base would otherwise put in the clients' tables with the base's
// MAC (arp_announce 2).
var baseParams = []struct{ name, value string }{{"arp_ignore", "1"}, {"arp_filter", "1"}, {"arp_announce", "2"}}

// NewLinkManager returns a manager of the calling thread's network namespace (call it
// inside the namespace), recorded in statePath. A state file that cannot be read is set
// aside with a ".bad" suffix: the interfaces' aliases still say which are ours.
func NewLinkManager(statePath string, log *slog.Logger) (*LinkManager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(statePath), 0o755); err != nil {
		return nil, fmt.Errorf("netops: link state: %w", err)
	}
	st, err := readLinkState(statePath)
	if err != nil {
		bad := statePath + ".bad"
		if rerr := os.Rename(statePath, bad); rerr != nil {
			return nil, fmt.Errorf("%w (and it cannot be set aside: %w)", err, rerr)
		}
		log.Warn("link state file unreadable, set aside; the interfaces' aliases tell which are ours", "error", err, "moved_to", bad)
		st = linkState{}
	}
	if st.VMACs == nil {
		st.VMACs = map[string]string{}
	}
	if st.Bases == nil {
		st.Bases = map[string]map[string]string{}
	}
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("netops: links: current network namespace: %w", err)
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netops: netlink handle: %w", err)
	}
	return &LinkManager{log: log, statePath: statePath, ns: ns, h: h, st: st, wanted: map[string]bool{}}, nil
}

func readLinkState(path string) (linkState, error) {
	var st linkState
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("netops: read link state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("netops: link state %s: %w", path, err)
	}
	return st, nil
}

// CreateVMAC creates v; see Links.
func (m *LinkManager) CreateVMAC(v VMAC) error {
	if err := v.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return fmt.Errorf("netops: virtual MAC %s: %w", v.Name, net.ErrClosed)
	}
	if err := m.create(v); err != nil {
		return fmt.Errorf("netops: virtual MAC %s on %s: %w", v.Name, v.Base, err)
	}
	m.wanted[v.Name] = true
	return nil
}

// create makes v exist as it must be. m.mu is held.
func (m *LinkManager) create(v VMAC) error {
	base, err := m.h.LinkByName(v.Base)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNoInterface, v.Base)
	}
	link, err := m.h.LinkByName(v.Name)
	switch {
	case err == nil && !isOurVMAC(link):
		return ErrNotVMAC
	case err == nil && m.fits(link, base, v):
		// Ours from an earlier run, as it must be: kept, so that the VIPs on it stay.
	case err == nil:
		m.log.Warn("recreating a virtual MAC interface of another base or MAC", "interface", v.Name)
		if err := m.h.LinkDel(link); err != nil {
			return fmt.Errorf("remove the old one: %w", err)
		}
		link = nil
	default:
		link = nil
	}
	// Recorded first, with the base's parameters, so that a crash in between leaves a
	// record of what to undo.
	m.st.VMACs[v.Name] = v.Base
	if !v.IPv6 {
		if err := m.recordBase(v.Base); err != nil {
			return err
		}
	}
	if err := m.save(); err != nil {
		return err
	}
	if link == nil {
		attrs := netlink.LinkAttrs{Name: v.Name, ParentIndex: base.Attrs().Index, Alias: v.Alias()}
		var nl netlink.Link
		if v.Kind == KindIpvlan {
			nl = &netlink.IPVlan{LinkAttrs: attrs, Mode: netlink.IPVLAN_MODE_L2}
		} else {
			attrs.HardwareAddr = v.MAC()
			nl = &netlink.Macvlan{LinkAttrs: attrs, Mode: netlink.MACVLAN_MODE_PRIVATE}
		}
		if err := m.h.LinkAdd(nl); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if link, err = m.h.LinkByName(v.Name); err != nil {
			return err
		}
		if link.Attrs().Alias == "" {
			// Kernels that ignore the alias in the request that creates the link.
			if err := m.h.LinkSetAlias(link, v.Alias()); err != nil {
				return fmt.Errorf("alias: %w", err)
			}
		}
	}
	if err := m.params(v); err != nil {
		return err
	}
	if v.IPv6 {
		// No address derived from the virtual MAC (RFC 5798 section 7.4): the adverts
		// go from the base interface's link-local address, put here.
		if err := m.h.LinkSetIP6AddrGenMode(link, 1); err != nil { // IN6_ADDR_GEN_MODE_NONE
			return fmt.Errorf("addrgenmode none: %w", err)
		}
	}
	if err := m.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	if v.IPv6 && v.LinkLocal.IsValid() {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: v.LinkLocal.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
		if err := m.h.AddrReplace(link, a); err != nil {
			return fmt.Errorf("link-local address %v: %w", v.LinkLocal, err)
		}
	}
	return nil
}

// fits reports whether an interface of ours is v on base already. m.mu is held.
func (m *LinkManager) fits(link, base netlink.Link, v VMAC) bool {
	a := link.Attrs()
	if a.ParentIndex != base.Attrs().Index {
		return false
	}
	switch l := link.(type) {
	case *netlink.Macvlan:
		return v.Kind != KindIpvlan && bytes.Equal(a.HardwareAddr, v.MAC()) && l.Mode == netlink.MACVLAN_MODE_PRIVATE
	case *netlink.IPVlan:
		return v.Kind == KindIpvlan
	}
	return false
}

// isOurVMAC reports whether link is a virtual MAC interface vrrpd created.
func isOurVMAC(link netlink.Link) bool {
	if !strings.HasPrefix(link.Attrs().Alias, VMACAlias) {
		return false
	}
	switch link.(type) {
	case *netlink.Macvlan, *netlink.IPVlan:
		return true
	}
	return false
}

// params sets the parameters of v and of its base. m.mu is held.
func (m *LinkManager) params(v VMAC) error {
	var set []struct{ path, value string }
	if v.IPv6 {
		set = append(set, struct{ path, value string }{"net/ipv6/conf/" + v.Name + "/accept_dad", "0"})
	} else {
		for _, p := range []struct{ name, value string }{{"arp_ignore", "1"}, {"accept_local", "1"}, {"rp_filter", "0"}, {"promote_secondaries", "1"}} {
			set = append(set, struct{ path, value string }{"net/ipv4/conf/" + v.Name + "/" + p.name, p.value})
		}
		// No IPv6 on an IPv4 virtual MAC interface: it would send from the virtual MAC
		// what the instance does not.
		set = append(set, struct{ path, value string }{"net/ipv6/conf/" + v.Name + "/disable_ipv6", "1"})
		for _, p := range baseParams {
			set = append(set, struct{ path, value string }{"net/ipv4/conf/" + v.Base + "/" + p.name, p.value})
		}
	}
	var errs []error
	for _, s := range set {
		if err := m.sysctl(s.path, s.value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recordBase records the base's parameters before the first change. m.mu is held.
func (m *LinkManager) recordBase(base string) error {
	if _, ok := m.st.Bases[base]; ok {
		return nil
	}
	orig := map[string]string{}
	for _, p := range baseParams {
		v, err := m.readSysctl("net/ipv4/conf/" + base + "/" + p.name)
		if err != nil {
			return err
		}
		orig[p.name] = v
	}
	m.st.Bases[base] = orig
	return nil
}

// RemoveVMAC removes name if it is ours; see Links.
func (m *LinkManager) RemoveVMAC(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return fmt.Errorf("netops: virtual MAC %s: %w", name, net.ErrClosed)
	}
	delete(m.wanted, name)
	if err := m.remove(name); err != nil {
		return fmt.Errorf("netops: remove virtual MAC %s: %w", name, err)
	}
	return m.save()
}

// remove deletes name if ours, forgets it, and puts its base's parameters back when no
// interface of ours is left on it. m.mu is held.
func (m *LinkManager) remove(name string) error {
	link, err := m.h.LinkByName(name)
	switch {
	case err == nil && !isOurVMAC(link):
		return ErrNotVMAC
	case err == nil:
		if err := m.h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
			return err
		}
	}
	base := m.st.VMACs[name]
	delete(m.st.VMACs, name)
	return m.restoreBase(base)
}

// restoreBase puts base's parameters back if no virtual MAC interface of ours is on it.
// m.mu is held.
func (m *LinkManager) restoreBase(base string) error {
	orig, ok := m.st.Bases[base]
	if !ok {
		return nil
	}
	for _, b := range m.st.VMACs {
		if b == base {
			return nil
		}
	}
	var errs []error
	for _, p := range baseParams {
		if v, ok := orig[p.name]; ok {
			if err := m.sysctl("net/ipv4/conf/"+base+"/"+p.name, v); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	delete(m.st.Bases, base)
	return nil
}

// CleanStale removes the virtual MAC interfaces an earlier run left behind, except those
// named in keep, which the instances about to start take as they are: every interface
// of the namespace with our alias, and those the state file records. It puts back the
// parameters of base interfaces left without one, and returns the names removed.
func (m *LinkManager) CleanStale(keep []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil, fmt.Errorf("netops: clean stale virtual MACs: %w", net.ErrClosed)
	}
	var removed []string
	var errs []error
	links, err := m.h.LinkList()
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range links {
		name := l.Attrs().Name
		if !isOurVMAC(l) || slices.Contains(keep, name) || m.wanted[name] {
			continue
		}
		if _, recorded := m.st.VMACs[name]; !recorded {
			if base, err := m.h.LinkByIndex(l.Attrs().ParentIndex); err == nil {
				m.st.VMACs[name] = base.Attrs().Name
			}
		}
		if err := m.remove(name); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
			continue
		}
		m.log.Warn("removed a virtual MAC interface left behind by an earlier run", "interface", name)
		removed = append(removed, name)
	}
	for name := range m.st.VMACs {
		if slices.Contains(keep, name) || m.wanted[name] {
			continue
		}
		if err := m.remove(name); err != nil && !errors.Is(err, ErrNotVMAC) {
			errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
		}
	}
	for base := range m.st.Bases {
		if err := m.restoreBase(base); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.save(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("netops: clean stale virtual MACs: %w", err)
	}
	return removed, nil
}

// Close releases the netlink socket; it neither removes nor forgets anything.
func (m *LinkManager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		m.h.Close()
		m.ns.Close()
		m.h = nil
	}
	return nil
}

// save writes the state file atomically. m.mu is held.
func (m *LinkManager) save() error {
	b, err := json.MarshalIndent(m.st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode link state: %w", err)
	}
	if err := writeFileAtomic(m.statePath, append(b, '\n')); err != nil {
		return fmt.Errorf("save link state: %w", err)
	}
	return nil
}

// sysctl writes a kernel parameter of the manager's namespace. m.mu is held.
func (m *LinkManager) sysctl(path, value string) error {
	return inNamespace(m.ns, func() error { return SetSysctl(path, value) })
}

// readSysctl reads a kernel parameter of the manager's namespace. m.mu is held.
func (m *LinkManager) readSysctl(path string) (string, error) {
	var v string
	err := inNamespace(m.ns, func() (err error) {
		v, err = Sysctl(path)
		return err
	})
	return v, err
}

// inNamespace runs fn on a thread in ns: /proc/sys/net is the namespace's of the thread
// that reads it. The daemon runs in ns and never switches (setns takes CAP_SYS_ADMIN,
// which vrrpd's unit does not grant); tests, whose goroutines run elsewhere, do, on a
// thread of their own that ends with the goroutine (Go discards a thread whose locked
// goroutine ends), so that no other goroutine ever runs in the wrong namespace.
func inNamespace(ns netns.NsHandle, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		cur, err := netns.Get()
		if err != nil {
			done <- fmt.Errorf("netops: current network namespace: %w", err)
			return
		}
		defer cur.Close()
		if cur.Equal(ns) {
			runtime.UnlockOSThread()
			done <- fn()
			return
		}
		if err := netns.Set(ns); err != nil {
			done <- fmt.Errorf("netops: enter the network namespace: %w", err)
			return
		}
		done <- fn()
	}()
	return <-done
}
