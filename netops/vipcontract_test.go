package netops_test

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/vrrpd/vrrpd/internal/netnstest"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/netops/contract"
)

// TestAddressesContractVIPManager runs the contract that netops/fake's Addresses also
// passes against the VIPManager, each case in a namespace of its own.
func TestAddressesContractVIPManager(t *testing.T) {
	netnstest.Require(t)
	contract.Addresses(t, func(t *testing.T) contract.AddressesEnv {
		ns := netnstest.NewLAN(t).Node("c", "", contract.NodeV4.String(), contract.NodeV6.String())
		var m *netops.VIPManager
		ns.MustDo(func() (err error) {
			m, err = netops.NewVIPManager(filepath.Join(t.TempDir(), "vips.json"), nil)
			return err
		})
		t.Cleanup(func() { m.Close() })
		return contract.AddressesEnv{Addrs: m, Has: func(a netip.Addr) bool { return ns.HasAddress("eth0", a) }}
	})
}
