package fake

import (
	"testing"

	"github.com/vrrpd/vrrpd/netops/contract"
)

func TestRoutesContract(t *testing.T) {
	contract.RoutesCases(t, func(t *testing.T) contract.RoutesEnv {
		f := NewRoutes()
		return contract.RoutesEnv{Routes: f, Route: f.Route, Rules: f.Rules, AddForeignRoute: f.AddForeignRoute, AddForeignRule: f.AddForeignRule}
	})
}
