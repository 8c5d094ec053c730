package control

import "time"

// BGPStatus is the bgp section of `vrrpd show --json`: the BGP speaker's peers and the
// routes it announces. Like Status, its field names are a stable interface.
type BGPStatus struct {
	ASN      uint32          `json:"asn"`
	RouterID string          `json:"router_id"`
	Peers    []BGPPeerStatus `json:"peers"`
	Routes   []RouteStatus   `json:"routes"`
}

// BGPPeerStatus is one BGP session.
type BGPPeerStatus struct {
	Address string `json:"address"`
	ASN     uint32 `json:"asn"`
	// State is idle, connect, active, opensent, openconfirm or established.
	State string `json:"state"`
	// Since is when the session was established, or last went down; absent when it
	// never was up.
	Since time.Time `json:"since,omitzero"`
	// LastError is why the session last failed or could not be opened.
	LastError  string `json:"last_error,omitempty"`
	BFD        string `json:"bfd,omitempty"`
	Advertised int    `json:"advertised"`
}

// RouteStatus is one route: announced or not, and why.
type RouteStatus struct {
	Name     string   `json:"name"`
	Prefixes []string `json:"prefixes"`
	// State is announced, withdrawn, pending (up_delay) or last resort (on_failure).
	State     string `json:"state"`
	Announced bool   `json:"announced"`
	Reason    string `json:"reason"`
	// Cause is the reason in one word: healthy, tracker, up_delay, not_master,
	// address or starting.
	Cause     string    `json:"cause"`
	Since     time.Time `json:"since"`
	Interface string    `json:"interface,omitempty"`
	// Transitions counts the changes of State, by the state entered.
	Transitions map[string]uint64 `json:"transitions,omitempty"`
}

// The values of the status's words, each set in full: metrics give every value a series.
var (
	// BGPPeerStates are the states of a session (RFC 4271 section 8.2.2).
	BGPPeerStates = []string{"idle", "connect", "active", "opensent", "openconfirm", "established"}
	// BFDStates are the states of a BFD session (RFC 5880 section 4.1).
	BFDStates = []string{"admin_down", "down", "init", "up"}
	// RouteStates are the states of a route.
	RouteStates = []string{"withdrawn", "pending", "announced", "last resort"}
	// RouteCauses are the causes of a route's state.
	RouteCauses = []string{"healthy", "tracker", "up_delay", "not_master", "address", "starting"}
)
