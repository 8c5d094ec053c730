package fake

import (
	"testing"

	"github.com/vrrpd/vrrpd/netops/contract"
)

func TestLinksContract(t *testing.T) {
	contract.LinksCases(t, func(t *testing.T) contract.LinksEnv {
		f := NewLinks("eth0")
		return contract.LinksEnv{
			Links: f,
			Link: func(name string) (contract.LinkInfo, bool) {
				l, ok := f.Link(name)
				return contract.LinkInfo{Kind: l.Kind, Parent: l.Parent, Alias: l.Alias, MAC: l.MAC, Up: l.Up, Addrs: l.Addrs}, ok
			},
			Sysctl:         f.Sysctl,
			AddForeignLink: f.AddForeignLink,
		}
	})
}
