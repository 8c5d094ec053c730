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
	State     string    `json:"state"`
	Announced bool      `json:"announced"`
	Reason    string    `json:"reason"`
	Since     time.Time `json:"since"`
	Interface string    `json:"interface,omitempty"`
}
