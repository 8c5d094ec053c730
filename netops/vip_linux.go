package netops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VIPManager adds and removes VIPs through netlink, in the network namespace it was
// created in, whichever goroutine calls it. What is ours survives a crash of the
// daemon twice over: every VIP it adds carries VIPProtocol as its address protocol in
// the kernel, and is recorded in a state file (the only record on kernels older than
// 6.1). It removes only addresses that are ours, and never a node's own address. It is
// safe for concurrent use.
//
// The VIPs that were added and not removed since are "wanted": when someone else
// deletes one, HandleEvent (or Watch) puts it back.
type VIPManager struct {
	log       *slog.Logger
	statePath string

	mu sync.Mutex
	// h is nil after Close: a closed netlink.Handle would fall back to sockets of the
	// calling thread's namespace, which may be another one.
	h      *netlink.Handle
	rt     *rtnl
	owned  map[vipKey]VIP  // ours, as recorded in the state file
	wanted map[vipKey]bool // added and not removed since
	// added are the VIPs this manager put on their interface itself: removing them needs
	// no look at the kernel first, unlike records of an earlier run.
	added map[vipKey]bool
	// marks reports whether the kernel keeps VIPProtocol: then an address is ours when
	// it carries the mark, whatever the state file says.
	marks bool
	// saving is set while a coalesced write of the state file is scheduled.
	saving bool
	// addrs mirrors the addresses of the interfaces the manager looked at, by interface
	// index, from one dump, its own changes and the events HandleEvent gets: a thousand
	// VIPs taken over at once cost a thousand requests, not a thousand dumps.
	addrs map[int]map[netip.Addr]kernelAddr
}

// saveDelay is how long changes to the state file are gathered before one write, on a
// kernel that keeps marks (the kernel's record is the one that counts): a thousand VIPs
// taken over at once cost one write, not a thousand fsyncs.
const saveDelay = 50 * time.Millisecond

// NewVIPManager returns a manager of the VIPs of the calling thread's network
// namespace (call it inside the namespace). statePath is its state file (the daemon uses
// /run/vrrpd/vips.json); its directory is created if missing. The addresses marked with
// VIPProtocol, and those the file lists, are ours: call CleanStale to remove them at
// start-up. A state file that cannot be read is set aside (renamed with a ".bad"
// suffix) with a warning rather than stopping vrrpd: the kernel's marks still say what
// is ours.
func NewVIPManager(statePath string, log *slog.Logger) (*VIPManager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Fail now rather than at the first takeover if the state cannot be written.
	if err := os.MkdirAll(filepath.Dir(statePath), 0o755); err != nil {
		return nil, fmt.Errorf("netops: VIP state: %w", err)
	}
	owned, err := loadVIPState(statePath)
	if err != nil {
		bad := statePath + ".bad"
		if rerr := os.Rename(statePath, bad); rerr != nil {
			return nil, fmt.Errorf("%w (and it cannot be set aside: %w)", err, rerr)
		}
		log.Warn("VIP state file unreadable, set aside; the kernel's address marks tell which VIPs are ours",
			"error", err, "moved_to", bad)
		owned = map[vipKey]VIP{}
	}
	// The sockets are opened in the current namespace and stay there.
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netops: netlink handle: %w", err)
	}
	rt, err := openRTNL()
	if err != nil {
		h.Close()
		return nil, err
	}
	return &VIPManager{log: log, statePath: statePath, h: h, rt: rt, owned: owned, wanted: map[vipKey]bool{}, added: map[vipKey]bool{},
		addrs: map[int]map[netip.Addr]kernelAddr{},
		marks: kernelKeepsAddrProtocol()}, nil
}

// Add puts v on its interface and records it as ours; see Addresses. IPv4 VIPs get
// their label and no broadcast address, as keepalived adds them; IPv6 VIPs are added
// with IFA_F_NODAD, since a tentative VIP would be unusable for the whole DAD period.
func (m *VIPManager) Add(v VIP) error {
	if err := v.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.add(v); err != nil {
		return fmt.Errorf("netops: add VIP %v: %w", v, err)
	}
	m.wanted[keyOf(v)] = true
	return nil
}

// add puts v on its interface unless it is there already. m.mu is held.
func (m *VIPManager) add(v VIP) error {
	link, err := m.link(v.Interface)
	if err != nil {
		return err
	}
	k := keyOf(v)
	_, ours := m.owned[k]
	if !ours {
		// Recorded before it is added: a crash in between leaves a record of an absent
		// address, which is harmless; the other order could leave a VIP nobody knows
		// is ours (on a kernel that keeps no marks).
		m.owned[k] = v
		if err := m.saveSoon(); err != nil {
			delete(m.owned, k)
			return err
		}
	}
	// Look first: an IPv4 address with another prefix length is another address to the
	// kernel, which would add ours beside the node's.
	found, err := m.find(link, k.addr)
	switch {
	case err != nil:
	case found != nil && (found.Protocol == VIPProtocol || !m.marks && ours):
		m.added[k] = true
		return nil // ours already: marked, or recorded where the kernel keeps no marks
	case found != nil:
		err = ErrNodeAddress
	default:
		// Exclusive create, not replace: replace would silently take over a node
		// address that appeared since we looked, which Remove would then delete.
		err = m.rt.addAddr(link, v)
		switch {
		case err == nil:
			m.mirror(link, k.addr, &kernelAddr{Prefix: v.Prefix, Index: link, Label: v.Label, Protocol: VIPProtocol})
		case errors.Is(err, unix.EEXIST):
			err = ErrNodeAddress
		}
	}
	if err == nil {
		m.added[k] = true
		return nil
	}
	if !ours {
		delete(m.owned, k)
		if serr := m.saveSoon(); serr != nil {
			m.log.Warn("VIP state not saved after a failed add", "vip", v.Prefix, "interface", v.Interface, "err", serr)
		}
	}
	return err
}

// isOurs reports whether an address on an interface is a VIP of ours: marked with
// VIPProtocol, or, on a kernel that does not keep marks, recorded in the state file.
// m.mu is held.
func (m *VIPManager) isOurs(a *kernelAddr) bool {
	if a.Protocol == VIPProtocol {
		return true
	}
	if m.marks {
		return false
	}
	_, ours := m.owned[vipKey{m.ifname(a.Index), a.Prefix.Addr()}]
	return ours
}

// ifname returns the name of the interface with index i, or "" when there is none.
// m.mu is held.
func (m *VIPManager) ifname(i int) string {
	l, err := m.h.LinkByIndex(i)
	if err != nil {
		return ""
	}
	return l.Attrs().Name
}

// Remove takes v off its interface if it is ours; see Addresses. The address is
// deleted with the prefix length the kernel has for it, which is what the kernel
// matches on.
func (m *VIPManager) Remove(v VIP) error {
	if err := v.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := keyOf(v)
	// Not wanted any more, before the address goes: its deletion must not be undone.
	delete(m.wanted, k)
	if !m.added[k] {
		// Not added by this run: remove it only if it is ours, by the kernel's mark (or,
		// where the kernel keeps none, the state file's record).
		_, recorded := m.owned[k]
		found, err := m.lookup(v)
		switch {
		case errors.Is(err, ErrNoInterface) || err == nil && found == nil:
			if recorded {
				delete(m.owned, k)
				return m.saveSoon()
			}
			return nil
		case err != nil:
			return fmt.Errorf("netops: remove VIP %v: %w", v, err)
		case !m.isOurs(found):
			if recorded {
				// The record is wrong: someone else put this address here since.
				delete(m.owned, k)
				if err := m.saveSoon(); err != nil {
					m.log.Warn("VIP state not saved", "error", err)
				}
			}
			return fmt.Errorf("netops: remove VIP %v: %w", v, ErrNodeAddress)
		}
		m.owned[k] = VIP{Prefix: found.Prefix, Interface: v.Interface, Label: found.Label}
	}
	if _, err := m.removeOwned(m.owned[k]); err != nil {
		return fmt.Errorf("netops: remove VIP %v: %w", v, err)
	}
	if err := m.saveSoon(); err != nil {
		return fmt.Errorf("netops: remove VIP %v: %w", v, err)
	}
	return nil
}

// removeOwned deletes the owned VIP v, with the prefix it was added with, and forgets
// it; the caller saves the state. It reports whether there was an address to delete.
// No dump first: a thousand VIPs leave in a thousand requests. m.mu is held.
func (m *VIPManager) removeOwned(v VIP) (bool, error) {
	k := keyOf(v)
	link, err := m.link(v.Interface)
	if errors.Is(err, ErrNoInterface) {
		// It went with its interface.
		delete(m.owned, k)
		delete(m.added, k)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = m.rt.delAddr(link, v.Prefix)
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return false, err
	}
	m.mirror(link, k.addr, nil)
	delete(m.owned, k)
	delete(m.added, k)
	return err == nil, nil
}

// Present reports whether the address of v is on its interface; see Addresses.
func (m *VIPManager) Present(v VIP) (bool, error) {
	if err := v.Validate(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ok, err := m.present(v)
	if err != nil {
		return false, fmt.Errorf("netops: VIP %v: %w", v, err)
	}
	return ok, nil
}

func (m *VIPManager) present(v VIP) (bool, error) {
	found, err := m.lookup(v)
	return found != nil, err
}

// lookup returns the address of v on its interface as the kernel has it, or nil.
// m.mu is held.
func (m *VIPManager) lookup(v VIP) (*kernelAddr, error) {
	link, err := m.link(v.Interface)
	if err != nil {
		return nil, err
	}
	return m.find(link, v.Prefix.Addr())
}

// CleanStale removes the VIPs an earlier run left behind and that this manager has not
// added itself: every address of the namespace marked with VIPProtocol, and the ones
// the state file lists (on a kernel that keeps marks, only those still marked: an
// unmarked address was put there by someone else since). It returns the ones it found
// on their interface and removed. Records it could not act on stay, with the error.
func (m *VIPManager) CleanStale() ([]VIP, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil, fmt.Errorf("netops: clean stale VIPs: %w", net.ErrClosed)
	}
	var removed []VIP
	var errs []error
	stale := map[vipKey]VIP{}
	marked, err := m.rt.listAddrs(unix.AF_UNSPEC, 0)
	if err != nil {
		errs = append(errs, err)
	}
	for _, a := range marked {
		if a.Protocol != VIPProtocol {
			continue
		}
		v := VIP{Prefix: a.Prefix, Interface: m.ifname(a.Index), Label: a.Label}
		if v.Interface != "" {
			stale[keyOf(v)] = v
		}
	}
	for k, v := range m.owned {
		if _, ok := stale[k]; !ok && m.marks && err == nil {
			if present, perr := m.present(v); perr == nil && present {
				m.log.Warn("the state file lists a VIP that the kernel says vrrpd did not add; leaving it",
					"vip", v.Prefix, "interface", v.Interface)
			}
			delete(m.owned, k)
			continue
		}
		stale[k] = v
	}
	for _, v := range sortedVIPs(stale) {
		k := keyOf(v)
		if m.wanted[k] {
			continue
		}
		m.owned[k] = v
		ok, err := m.removeOwned(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("remove stale VIP %v: %w", v, err))
			continue
		}
		if ok {
			m.log.Warn("removed a VIP left behind by an earlier run", "vip", v.Prefix, "interface", v.Interface)
			removed = append(removed, v)
		}
	}
	if err := m.save(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("netops: clean stale VIPs: %w", err)
	}
	return removed, nil
}

// Watch calls HandleEvent for every event until ctx is done or events is closed. Feed
// it a Monitor subscription of the manager's namespace.
func (m *VIPManager) Watch(ctx context.Context, events <-chan Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			m.HandleEvent(e)
		}
	}
}

// HandleEvent puts back the wanted VIPs that e says may be gone: the one whose address
// was deleted, or those of an interface that is up (a re-created interface comes back
// without its addresses). Failures are logged.
func (m *VIPManager) HandleEvent(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var check []VIP
	why := ""
	switch e := e.(type) {
	case AddrEvent:
		m.observe(e)
		if !e.Deleted {
			return
		}
		for k := range m.wanted {
			if k.addr == e.Prefix.Addr() && (e.Interface == "" || e.Interface == k.ifname) {
				check = append(check, m.owned[k])
			}
		}
		why = "VIP removed by someone else, restored"
	case LinkEvent:
		if e.Deleted {
			delete(m.addrs, e.Index)
		}
		if e.Deleted || !e.Up {
			return
		}
		// A re-created interface, or one that comes up, may have lost addresses.
		delete(m.addrs, e.Index)
		for k := range m.wanted {
			if k.ifname == e.Name {
				check = append(check, m.owned[k])
			}
		}
		why = "VIP missing on an interface that came up, restored"
	}
	for _, v := range check {
		present, err := m.present(v)
		if err == nil && !present {
			err = m.add(v)
			if err == nil {
				m.log.Warn(why, "vip", v.Prefix, "interface", v.Interface)
			}
		}
		if err != nil {
			m.log.Warn("VIP not restored", "vip", v.Prefix, "interface", v.Interface, "err", err)
		}
	}
}

// observe brings the mirror of addresses up to date with an address event. The
// manager's own changes are there already; others' are not marked ours. m.mu is held.
func (m *VIPManager) observe(e AddrEvent) {
	known := m.addrs[e.Index]
	if known == nil {
		return
	}
	a := e.Prefix.Addr()
	ka, ok := known[a]
	switch {
	case e.Deleted && ok && ka.Prefix == e.Prefix:
		delete(known, a)
	case !e.Deleted && (!ok || ka.Prefix != e.Prefix):
		known[a] = kernelAddr{Prefix: e.Prefix, Index: e.Index}
	}
}

// Owned returns the VIPs this manager holds as vrrpd's, sorted.
func (m *VIPManager) Owned() []VIP {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedVIPs(m.owned)
}

// Close releases the netlink socket. It neither removes VIPs nor forgets them.
func (m *VIPManager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saving {
		m.saving = false
		if err := m.save(); err != nil {
			m.log.Error("VIP state not saved", "error", err)
		}
	}
	if m.h != nil {
		m.h.Close()
		m.rt.close()
		m.h, m.rt = nil, nil
	}
	return nil
}

// link returns the index of the interface name in the manager's namespace. m.mu is held.
func (m *VIPManager) link(name string) (int, error) {
	if m.h == nil {
		return 0, net.ErrClosed
	}
	return ifIndex(m.rt.fd(), name)
}

// Prepare reads the addresses of the interface of v, unless it has them already, so
// that the first Add at a takeover does not have to.
func (m *VIPManager) Prepare(v VIP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	link, err := m.link(v.Interface)
	if err == nil {
		_, err = m.find(link, v.Prefix.Addr())
	}
	if err != nil {
		return fmt.Errorf("netops: prepare VIP %v: %w", v, err)
	}
	return nil
}

// find returns the address a of link as the kernel has it, or nil: from the mirror of
// the interface's addresses, made by a dump the first time. m.mu is held.
func (m *VIPManager) find(index int, a netip.Addr) (*kernelAddr, error) {
	known := m.addrs[index]
	if known == nil {
		list, err := m.rt.listAddrs(unix.AF_UNSPEC, index)
		if err != nil {
			return nil, fmt.Errorf("list addresses of interface %d: %w", index, err)
		}
		known = make(map[netip.Addr]kernelAddr, len(list))
		for _, ka := range list {
			known[ka.Prefix.Addr()] = ka
		}
		m.addrs[index] = known
	}
	if ka, ok := known[a]; ok {
		return &ka, nil
	}
	return nil, nil
}

// mirror records what became of an address of the interface with index i: present as
// ka, or gone when ka is nil. m.mu is held.
func (m *VIPManager) mirror(i int, a netip.Addr, ka *kernelAddr) {
	known := m.addrs[i]
	if known == nil {
		return // never looked at: the first find dumps it
	}
	if ka == nil {
		delete(known, a)
		return
	}
	known[a] = *ka
}

func sortedVIPs(owned map[vipKey]VIP) []VIP {
	vs := slices.Collect(maps.Values(owned))
	slices.SortFunc(vs, func(a, b VIP) int {
		return cmp.Or(cmp.Compare(a.Interface, b.Interface), a.Prefix.Addr().Compare(b.Prefix.Addr()))
	})
	return vs
}

// saveSoon writes the state file: within saveDelay, coalesced, where the kernel keeps
// marks; at once otherwise, since the file is then the only record of what is ours.
// m.mu is held.
func (m *VIPManager) saveSoon() error {
	if !m.marks {
		return m.save()
	}
	if !m.saving {
		m.saving = true
		time.AfterFunc(saveDelay, m.saveNow)
	}
	return nil
}

// Sync writes the state file now if a write is pending.
func (m *VIPManager) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.saving {
		return nil
	}
	m.saving = false
	return m.save()
}

// saveNow writes a scheduled state file.
func (m *VIPManager) saveNow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.saving {
		return
	}
	m.saving = false
	if err := m.save(); err != nil {
		m.log.Error("VIP state not saved", "error", err)
	}
}

// save writes the state file atomically: a reader, or the next run after a crash,
// sees the old file or the new one, never a part. m.mu is held.
func (m *VIPManager) save() error {
	b, err := json.MarshalIndent(vipState{VIPs: sortedVIPs(m.owned)}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode VIP state: %w", err)
	}
	if err := writeFileAtomic(m.statePath, append(b, '\n')); err != nil {
		return fmt.Errorf("save VIP state: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it over
// path. The directory is created (0755) if missing.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
