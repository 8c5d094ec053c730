package process

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/rhi"
)

// The operations of a request, one per method of rhi.Speaker.
const (
	opStart    = "start"
	opSetPeers = "set-peers"
	opAnnounce = "announce"
	opWithdraw = "withdraw"
	opPeers    = "peers"
	opStop     = "stop"
	// opAlive, vrrpd's heartbeat, is not answered.
	opAlive = "alive"
)

// vrrpd says it is alive every heartbeat; vrrpd-bgp that hears nothing for silence
// takes vrrpd for hung and exits, closing the sessions, as a hung vrrpd with the
// speaker inside it would have stopped answering the routers. Within the detection
// time of BFD at its usual timers, well beyond any pause of a running vrrpd.
const (
	heartbeat = 200 * time.Millisecond
	silence   = time.Second
)

// request is one line from vrrpd to vrrpd-bgp.
type request struct {
	ID     uint64           `json:"id"`
	Op     string           `json:"op"`
	Global *rhi.Global      `json:"global,omitempty"`
	Peers  []config.BGPPeer `json:"peers,omitempty"`
	Prefix netip.Prefix     `json:"prefix,omitzero"`
	Attrs  *rhi.Attributes  `json:"attributes,omitempty"`
}

// message is one line from vrrpd-bgp to vrrpd: the answer to the request of the same
// ID, or, with ID 0, a peer's change or a log record.
type message struct {
	ID    uint64           `json:"id,omitempty"`
	Error string           `json:"error,omitempty"`
	Peers []rhi.PeerStatus `json:"peers,omitempty"`
	Peer  *rhi.PeerStatus  `json:"peer,omitempty"`
	Log   *logRecord       `json:"log,omitempty"`
}

// logRecord is a record of vrrpd-bgp's log, logged again by vrrpd's logger so that
// both processes' lines have one format, one level and one destination.
type logRecord struct {
	Time    time.Time  `json:"time"`
	Level   slog.Level `json:"level"`
	Message string     `json:"msg"`
	// Attrs are keys and values, in turn, the values as text.
	Attrs []string `json:"attrs,omitempty"`
}
