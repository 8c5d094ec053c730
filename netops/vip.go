package netops

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// VIP is a virtual address as configured: the address with its prefix length, the
// interface it goes on, and an optional IPv4 label.
type VIP struct {
	// Prefix is the address and its prefix length, e.g. 192.0.2.100/24 or
	// 2001:db8::100/64. The address is what identifies the VIP on its interface; the
	// length only decides the prefix route the kernel adds with it.
	Prefix netip.Prefix `json:"prefix"`
	// Interface is the name of the interface the VIP goes on.
	Interface string `json:"interface"`
	// Label is the IPv4 label, e.g. "eth0:vip". It must start with the interface name,
	// as the kernel requires, and may be at most 15 bytes long. Empty means none.
	Label string `json:"label,omitempty"`
}

// String returns the VIP as ip(8) would write it: "192.0.2.100/24 dev eth0 label eth0:vip".
func (v VIP) String() string {
	s := v.Prefix.String() + " dev " + v.Interface
	if v.Label != "" {
		s += " label " + v.Label
	}
	return s
}

// maxLabel is the longest IPv4 label the kernel takes: IFNAMSIZ less the final NUL.
const maxLabel = 15

// Validate reports what is wrong with v, if anything: an invalid or IPv4-mapped
// prefix, a missing interface, or a label on an IPv6 VIP, too long, or not starting
// with the interface name.
func (v VIP) Validate() error {
	var errs []error
	switch a := v.Prefix.Addr(); {
	case !v.Prefix.IsValid():
		errs = append(errs, errors.New("invalid prefix"))
	case a.Is4In6():
		// The kernel would take it as an IPv6 address; the user meant IPv4.
		errs = append(errs, errors.New("IPv4-mapped IPv6 address; write it as IPv4"))
	case a.Zone() != "":
		errs = append(errs, errors.New("address with a zone"))
	}
	if v.Interface == "" {
		errs = append(errs, errors.New("no interface"))
	}
	if v.Label != "" {
		if v.Prefix.Addr().Is6() {
			errs = append(errs, errors.New("labels are IPv4 only"))
		}
		if !strings.HasPrefix(v.Label, v.Interface) {
			errs = append(errs, fmt.Errorf("label %q does not start with the interface name", v.Label))
		}
		if len(v.Label) > maxLabel {
			errs = append(errs, fmt.Errorf("label %q longer than %d bytes", v.Label, maxLabel))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("netops: VIP %v: %w", v, errors.Join(errs...))
	}
	return nil
}

// ErrNodeAddress means the address is already on the interface and vrrpd did not put it
// there: it is one of the node's own addresses, which must never be used as a VIP, and
// which vrrpd never removes.
var ErrNodeAddress = errors.New("netops: address is a node address, not a VIP")

// ErrNoInterface means the VIP's interface does not exist.
var ErrNoInterface = errors.New("netops: no such interface")

// Addresses adds and removes VIPs. Implementations are safe for concurrent use.
// VIPManager is the Linux one; netops/fake has an in-memory one for tests.
type Addresses interface {
	// Add puts v on its interface. It is idempotent: adding a VIP that is already ours
	// succeeds. It fails with ErrNodeAddress, and changes nothing, when the address is
	// on the interface but was not put there by this implementation. IPv6 VIPs are
	// usable at once (no duplicate address detection).
	Add(v VIP) error
	// Remove takes v off its interface if this implementation put it there. It is
	// idempotent: removing an absent VIP succeeds. It fails with ErrNodeAddress, and
	// changes nothing, when the address is a node address.
	Remove(v VIP) error
	// Present reports whether the address of v is on its interface, whoever put it there.
	Present(v VIP) (bool, error)
}

var _ Addresses = (*VIPManager)(nil)

// vipState is the state file.
type vipState struct {
	VIPs []VIP `json:"vips"`
}

// ReadVIPState returns the VIPs a state file records as vrrpd's; none when the file
// does not exist.
func ReadVIPState(path string) ([]VIP, error) {
	owned, err := loadVIPState(path)
	if err != nil {
		return nil, err
	}
	var out []VIP
	for _, v := range owned {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b VIP) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

func loadVIPState(path string) (map[vipKey]VIP, error) {
	owned := map[vipKey]VIP{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return owned, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netops: read VIP state: %w", err)
	}
	owned, err = decodeVIPState(b)
	if err != nil {
		return nil, fmt.Errorf("netops: VIP state %s: %w", path, err)
	}
	return owned, nil
}

// decodeVIPState decodes a state file's content: every VIP in it must be valid.
func decodeVIPState(b []byte) (map[vipKey]VIP, error) {
	var st vipState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	owned := map[vipKey]VIP{}
	for _, v := range st.VIPs {
		if err := v.Validate(); err != nil {
			return nil, err
		}
		owned[keyOf(v)] = v
	}
	return owned, nil
}

// vipKey identifies a VIP: an address is on an interface once, whatever its prefix
// length.
type vipKey struct {
	ifname string
	addr   netip.Addr
}

func keyOf(v VIP) vipKey { return vipKey{v.Interface, v.Prefix.Addr()} }
