package daemon

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

// Status is what `vrrpd show --json` prints. Its field names are a stable interface for
// scripts and exporters: add fields, never rename them.
type Status struct {
	Node      string           `json:"node"`
	Version   string           `json:"version"`
	Started   time.Time        `json:"started"`
	Config    string           `json:"config"`
	Instances []InstanceStatus `json:"instances"`
}

// InstanceStatus describes one virtual router.
type InstanceStatus struct {
	Name      string   `json:"name"`
	Interface string   `json:"interface"`
	VRID      int      `json:"vrid"`
	Version   int      `json:"version"`
	Family    string   `json:"family"`
	Mode      string   `json:"mode"` // multicast or unicast
	Source    string   `json:"source,omitempty"`
	Peers     []string `json:"peers,omitempty"`

	State  string    `json:"state"`
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`

	BasePriority int `json:"base_priority"`
	Priority     int `json:"priority"`
	// PriorityReason explains the effective priority: "priority 150 -> 90:
	// chk_haproxy failing (-60)".
	PriorityReason string          `json:"priority_reason,omitempty"`
	Trackers       []TrackerStatus `json:"trackers,omitempty"`

	// Master is who this router follows as backup, or itself as master.
	Master         string `json:"master,omitempty"`
	MasterPriority int    `json:"master_priority,omitempty"`

	AdvertInterval       Duration `json:"advert_interval"`
	MasterAdvertInterval Duration `json:"master_advert_interval"`
	SkewTime             Duration `json:"skew_time"`
	MasterDownInterval   Duration `json:"master_down_interval"`

	VIPs []VIPStatus `json:"vips"`

	AdvertsSent          uint64            `json:"adverts_sent"`
	AdvertsReceived      uint64            `json:"adverts_received"`
	PriorityZeroSent     uint64            `json:"priority_zero_sent"`
	PriorityZeroReceived uint64            `json:"priority_zero_received"`
	Drops                map[string]uint64 `json:"drops"`
	ChecksumForms        map[string]uint64 `json:"checksum_forms,omitempty"`
	LastDrop             *DropStatus       `json:"last_drop,omitempty"`
	// AdvertLatenessMax is the most a periodic advert went out after it was due.
	AdvertLatenessMax Duration `json:"advert_lateness_max"`
	// SplitBrainsHealed counts the other masters this master answered at once.
	SplitBrainsHealed uint64 `json:"split_brains_healed,omitempty"`
	// Holding says the instance left mastership and keeps its VIPs until the next
	// master announces (make-before-break).
	Holding bool `json:"holding,omitempty"`
}

// TrackerStatus is one tracker an instance follows and what it does to the priority.
type TrackerStatus struct {
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	State   string    `json:"state"`
	Since   time.Time `json:"since"`
	Detail  string    `json:"detail,omitempty"`
	Weight  int       `json:"weight"`
	Reverse bool      `json:"reverse,omitempty"`
	Value   int       `json:"value,omitempty"`
	Delta   int       `json:"delta"`
	Fault   bool      `json:"fault,omitempty"`
	Text    string    `json:"text"`
}

// VIPStatus is one VIP and whether the kernel has it.
type VIPStatus struct {
	Address   string `json:"address"`
	Interface string `json:"interface"`
	Excluded  bool   `json:"excluded,omitempty"`
	Present   bool   `json:"present"`
}

// DropStatus is the last advert an instance dropped.
type DropStatus struct {
	Time   time.Time `json:"time"`
	From   string    `json:"from"`
	Reason string    `json:"reason"`
	Detail string    `json:"detail"`
}

// Duration marshals as seconds, a number, so that scripts need no duration parser.
type Duration time.Duration

// MarshalJSON writes the duration in seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(d).Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(time.Duration(f * float64(time.Second)))
	return nil
}

func fillRouterStatus(s *InstanceStatus, r vrrp.Status) {
	s.State, s.Since, s.Reason = r.State.String(), r.Since, r.Reason
	s.BasePriority, s.Priority = int(r.BasePriority), int(r.Priority)
	if r.Master.IsValid() {
		s.Master, s.MasterPriority = r.Master.String(), int(r.MasterPriority)
	}
	s.AdvertInterval = Duration(r.AdvertInterval)
	s.MasterAdvertInterval = Duration(r.MasterAdverInterval)
	s.SkewTime = Duration(r.SkewTime)
	s.MasterDownInterval = Duration(r.MasterDownInterval)
	st := r.Stats
	s.AdvertsSent, s.AdvertsReceived = st.AdvertsSent, st.AdvertsReceived
	s.AdvertLatenessMax = Duration(st.AdvertLatenessMax)
	s.SplitBrainsHealed = st.SplitBrainsHealed
	s.Holding = r.Holding
	s.PriorityZeroSent, s.PriorityZeroReceived = st.PriorityZeroSent, st.PriorityZeroReceived
	s.Drops = map[string]uint64{}
	for reason, n := range st.Drops {
		if n > 0 {
			s.Drops[vrrp.Reason(reason).String()] = n
		}
	}
	if st.ChecksumForms != [2]uint64{} {
		s.ChecksumForms = map[string]uint64{
			vrrp.ChecksumPseudoHeader.String(): st.ChecksumForms[vrrp.ChecksumPseudoHeader],
			vrrp.ChecksumMessageOnly.String():  st.ChecksumForms[vrrp.ChecksumMessageOnly],
		}
	}
	if !st.LastDrop.At.IsZero() {
		s.LastDrop = &DropStatus{Time: st.LastDrop.At, From: addrString(st.LastDrop.From),
			Reason: st.LastDrop.Reason.String(), Detail: st.LastDrop.Detail}
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// Event is one line of `vrrpd events`. Type says which fields it has: "transition"
// (Instance, From, To, Priority, Reason), "priority" (Instance, Priority, Reason: the
// effective priority changed) or "tracker" (Tracker, Kind, State, Detail).
type Event struct {
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	Node     string    `json:"node"`
	Instance string    `json:"instance,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Priority int       `json:"priority,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Tracker  string    `json:"tracker,omitempty"`
	Kind     string    `json:"kind,omitempty"`
	State    string    `json:"state,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// broadcaster hands events to every subscriber; a subscriber that falls behind loses
// events rather than slowing the daemon.
type broadcaster struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

func (b *broadcaster) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *broadcaster) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
