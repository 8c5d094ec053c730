package netops

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RouteProtocol marks the routes (RTPROT) and policy rules (FRA_PROTOCOL) vrrpd adds:
// 112, VRRP's IP protocol number, like VIPProtocol for addresses. `ip route show proto
// 112` and `ip rule show protocol 112` list them; no routing daemon uses 112.
const RouteProtocol = 112

// Route types a Route may have besides unicast.
const (
	RouteUnicast     = "unicast"
	RouteBlackhole   = "blackhole"
	RouteUnreachable = "unreachable"
	RouteProhibit    = "prohibit"
)

// Route is a virtual route: added while the instance is master (keepalived's
// virtual_routes).
type Route struct {
	// Dst is the destination; 0.0.0.0/0 or ::/0 for a default route.
	Dst netip.Prefix `json:"dst"`
	// Gateway is the next hop; invalid for none.
	Gateway netip.Addr `json:"gateway,omitzero"`
	// Interface is the output interface; "" for the one the gateway is reached by.
	Interface string `json:"interface,omitempty"`
	// Src is the preferred source address; invalid for none.
	Src netip.Addr `json:"src,omitzero"`
	// Table is the routing table; 0 for main (254).
	Table uint32 `json:"table,omitempty"`
	// Metric is the route's priority; 0 for the kernel's default.
	Metric uint32 `json:"metric,omitempty"`
	// Type is unicast (""), blackhole, unreachable or prohibit.
	Type string `json:"type,omitempty"`
	// Scope is global (""), link or host.
	Scope string `json:"scope,omitempty"`
	// OnLink takes the gateway as on the interface's link, whatever its addresses.
	OnLink bool `json:"onlink,omitempty"`
}

// String returns the route as ip(8) would write it.
func (r Route) String() string {
	var b strings.Builder
	if r.Type != "" && r.Type != RouteUnicast {
		b.WriteString(r.Type + " ")
	}
	b.WriteString(r.Dst.String())
	if r.Gateway.IsValid() {
		b.WriteString(" via " + r.Gateway.String())
	}
	if r.Interface != "" {
		b.WriteString(" dev " + r.Interface)
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.Scope != "" {
		b.WriteString(" scope " + r.Scope)
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	return b.String()
}

// Validate reports what is wrong with r, if anything.
func (r Route) Validate() error {
	var errs []error
	if !r.Dst.IsValid() || r.Dst.Addr().Zone() != "" || r.Dst.Addr().Is4In6() {
		errs = append(errs, errors.New("invalid destination"))
	}
	for _, a := range []netip.Addr{r.Gateway, r.Src} {
		if a.IsValid() && r.Dst.IsValid() && a.Is4() != r.Dst.Addr().Is4() {
			errs = append(errs, fmt.Errorf("%v is not of the destination's family", a))
		}
	}
	switch r.Type {
	case "", RouteUnicast:
		if !r.Gateway.IsValid() && r.Interface == "" {
			errs = append(errs, errors.New("a unicast route needs a gateway or an interface"))
		}
	case RouteBlackhole, RouteUnreachable, RouteProhibit:
		if r.Gateway.IsValid() || r.Interface != "" {
			errs = append(errs, fmt.Errorf("a %s route has no gateway or interface", r.Type))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown route type %q", r.Type))
	}
	switch r.Scope {
	case "", "global", "link", "host":
	default:
		errs = append(errs, fmt.Errorf("unknown scope %q", r.Scope))
	}
	if r.OnLink && !r.Gateway.IsValid() {
		errs = append(errs, errors.New("onlink without a gateway"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("netops: route %v: %w", r, errors.Join(errs...))
	}
	return nil
}

// Rule actions besides a table lookup.
const (
	RuleBlackhole   = "blackhole"
	RuleUnreachable = "unreachable"
	RuleProhibit    = "prohibit"
)

// Rule is a virtual policy rule: added while the instance is master (keepalived's
// virtual_rules).
type Rule struct {
	// IPv6 is the rule's family; it must match From and To.
	IPv6 bool `json:"ipv6,omitempty"`
	// Priority orders the rules; 0 lets the kernel pick one below the last.
	Priority uint32 `json:"priority,omitempty"`
	// From and To match the source and destination; invalid for any.
	From netip.Prefix `json:"from,omitzero"`
	To   netip.Prefix `json:"to,omitzero"`
	// IIF and OIF match the input and output interface; "" for any.
	IIF string `json:"iif,omitempty"`
	OIF string `json:"oif,omitempty"`
	// Mark and Mask match the firewall mark: HasMark says there is one.
	HasMark bool   `json:"has_mark,omitempty"`
	Mark    uint32 `json:"mark,omitempty"`
	Mask    uint32 `json:"mask,omitempty"`
	// Invert matches what the selectors do not (ip rule's not).
	Invert bool `json:"invert,omitempty"`
	// Table is looked up when Action is ""; Action is otherwise blackhole, unreachable
	// or prohibit.
	Table  uint32 `json:"table,omitempty"`
	Action string `json:"action,omitempty"`
}

// String returns the rule as ip(8) would write it.
func (r Rule) String() string {
	var b strings.Builder
	if r.Priority != 0 {
		fmt.Fprintf(&b, "%d: ", r.Priority)
	}
	if r.Invert {
		b.WriteString("not ")
	}
	if r.From.IsValid() {
		b.WriteString("from " + r.From.String())
	} else {
		b.WriteString("from all")
	}
	if r.To.IsValid() {
		b.WriteString(" to " + r.To.String())
	}
	if r.IIF != "" {
		b.WriteString(" iif " + r.IIF)
	}
	if r.OIF != "" {
		b.WriteString(" oif " + r.OIF)
	}
	if r.HasMark {
		fmt.Fprintf(&b, " fwmark %#x", r.Mark)
		if r.Mask != 0 && r.Mask != ^uint32(0) {
			fmt.Fprintf(&b, "/%#x", r.Mask)
		}
	}
	if r.Action != "" {
		b.WriteString(" " + r.Action)
	} else {
		fmt.Fprintf(&b, " lookup %d", r.Table)
	}
	if r.IPv6 {
		b.WriteString(" (IPv6)")
	}
	return b.String()
}

// Validate reports what is wrong with r, if anything.
func (r Rule) Validate() error {
	var errs []error
	for _, p := range []netip.Prefix{r.From, r.To} {
		if p.IsValid() && p.Addr().Is6() != r.IPv6 {
			errs = append(errs, fmt.Errorf("%v is not of the rule's family", p))
		}
	}
	switch r.Action {
	case "":
		if r.Table == 0 {
			errs = append(errs, errors.New("a rule needs a table or an action"))
		}
	case RuleBlackhole, RuleUnreachable, RuleProhibit:
		if r.Table != 0 {
			errs = append(errs, fmt.Errorf("a %s rule looks up no table", r.Action))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown rule action %q", r.Action))
	}
	if len(errs) > 0 {
		return fmt.Errorf("netops: rule %v: %w", r, errors.Join(errs...))
	}
	return nil
}

// ErrNotOurs means a route or rule is in the kernel already and vrrpd did not put it
// there: vrrpd neither adds over it nor removes it.
var ErrNotOurs = errors.New("netops: in the kernel already, and not vrrpd's")

// Routes adds and removes virtual routes and rules. Implementations are safe for
// concurrent use. RouteManager is the Linux one; netops/fake has an in-memory one.
type Routes interface {
	// AddRoute adds r, marked as vrrpd's. It is idempotent: adding a route that is
	// ours already succeeds. It fails with ErrNotOurs, changing nothing, when the
	// kernel has the route (the same destination, table and metric) from someone else.
	AddRoute(r Route) error
	// RemoveRoute removes r if it is ours; removing an absent route succeeds.
	RemoveRoute(r Route) error
	// AddRule and RemoveRule are AddRoute and RemoveRoute for policy rules.
	AddRule(r Rule) error
	RemoveRule(r Rule) error
}

// routeState is the state file of the routes and rules.
type routeState struct {
	Routes []Route `json:"routes"`
	Rules  []Rule  `json:"rules"`
}

// RouteStatePath returns the state file of the routes and rules beside the VIPs' state
// file vipState: routes.json in its directory.
func RouteStatePath(vipState string) string {
	return filepath.Join(filepath.Dir(vipState), "routes.json")
}

// ReadRouteState returns the routes and rules a state file records as vrrpd's; none
// when the file does not exist.
func ReadRouteState(path string) ([]Route, []Rule, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("netops: read route state: %w", err)
	}
	var st routeState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, fmt.Errorf("netops: route state %s: %w", path, err)
	}
	for _, r := range st.Routes {
		if err := r.Validate(); err != nil {
			return nil, nil, fmt.Errorf("netops: route state %s: %w", path, err)
		}
	}
	for _, r := range st.Rules {
		if err := r.Validate(); err != nil {
			return nil, nil, fmt.Errorf("netops: route state %s: %w", path, err)
		}
	}
	return st.Routes, st.Rules, nil
}

// encodeRouteState is the state file's content for routes and rules, sorted.
func encodeRouteState(routes []Route, rules []Rule) ([]byte, error) {
	st := routeState{Routes: slices.Clone(routes), Rules: slices.Clone(rules)}
	slices.SortFunc(st.Routes, func(a, b Route) int { return strings.Compare(a.String(), b.String()) })
	slices.SortFunc(st.Rules, func(a, b Rule) int { return strings.Compare(a.String(), b.String()) })
	if st.Routes == nil {
		st.Routes = []Route{}
	}
	if st.Rules == nil {
		st.Rules = []Rule{}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
