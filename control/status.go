package control

import (
	"fmt"
	"strconv"
	"time"
)

// Status is what `vrrpd show --json` prints. Its field names are a stable interface for
// scripts and exporters: add fields, never rename them.
type Status struct {
	Node      string           `json:"node"`
	Version   string           `json:"version"`
	Started   time.Time        `json:"started"`
	Config    string           `json:"config"`
	Instances []InstanceStatus `json:"instances"`
	// Trackers are the daemon's health trackers, each once, whichever instances follow
	// it.
	Trackers []Tracker `json:"trackers,omitempty"`
	Reloads  Reloads   `json:"reloads"`
	// EventsDropped counts the events that subscribers too slow to read them lost.
	EventsDropped uint64 `json:"events_dropped"`
	// BGP is the BGP speaker's peers and routes; absent without a bgp section.
	BGP *BGPStatus `json:"bgp,omitempty"`
	// SyncGroups are the sets of instances that fail over together.
	SyncGroups []SyncGroupStatus `json:"sync_groups,omitempty"`
}

// SyncGroupStatus is one sync group.
type SyncGroupStatus struct {
	Name string `json:"name"`
	// State is MASTER when every member is, FAULT while one is, BACKUP when none is
	// master, STOP when every member stopped.
	State     string   `json:"state"`
	Instances []string `json:"instances"`
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

	// State is INIT, BACKUP, MASTER or FAULT.
	State  string    `json:"state"`
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
	// Transitions counts the state changes by the state entered.
	Transitions map[string]uint64 `json:"transitions,omitempty"`

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
	// AdvertSendErrors counts the adverts the kernel refused to send, one per
	// destination.
	AdvertSendErrors uint64 `json:"advert_send_errors"`
	// GARPSent and NASent count the gratuitous ARPs and unsolicited neighbour
	// advertisements sent for the VIPs; AnnounceErrors the bursts of them that failed,
	// which count as none sent.
	GARPSent       uint64 `json:"garp_sent"`
	NASent         uint64 `json:"na_sent"`
	AnnounceErrors uint64 `json:"announce_errors"`
	// HookRuns counts the notify hooks by how they ended: ok, failed (exit status or
	// signal), timeout, error (could not run, or refused by the security check) and
	// dropped (too many waiting).
	HookRuns map[string]uint64 `json:"hook_runs,omitempty"`
	// AdvertLatenessMax is the most a periodic advert went out after it was due.
	AdvertLatenessMax Duration `json:"advert_lateness_max"`
	// SplitBrainsHealed counts the other masters this master answered at once.
	SplitBrainsHealed uint64 `json:"split_brains_healed,omitempty"`
	// Holding says the instance left mastership and keeps its VIPs until the next
	// master announces (make-before-break).
	Holding bool `json:"holding,omitempty"`
	// SyncGroup names the instance's sync group; WantsMaster says that it waits for the
	// other members to take mastership with it.
	SyncGroup   string `json:"sync_group,omitempty"`
	WantsMaster bool   `json:"wants_master,omitempty"`
	// Routes are the routes and rules the instance adds as master, as ip(8) writes
	// them; RouteErrors counts those that could not be added or removed.
	Routes      []string `json:"routes,omitempty"`
	RouteErrors uint64   `json:"route_errors,omitempty"`
	// VMAC is the virtual MAC interface the VIPs are on, when the instance has one.
	VMAC string `json:"vmac,omitempty"`
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

// Tracker is one health tracker of the daemon.
type Tracker struct {
	// Kind is script, interface, process, file, haproxy or bfd.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// State is ok, failing or unknown (no result yet).
	State  string    `json:"state"`
	Since  time.Time `json:"since"`
	Detail string    `json:"detail,omitempty"`
	Value  int       `json:"value,omitempty"`
	// Runs counts a script's runs; nil for the other kinds.
	Runs *ScriptRuns `json:"runs,omitempty"`
}

// ScriptRuns counts a check script's runs by how they ended (ok, failed, timeout,
// error: could not run), with their durations.
type ScriptRuns struct {
	Results  map[string]uint64 `json:"results"`
	Duration Histogram         `json:"duration"`
}

// Histogram is a distribution of durations, in cumulative buckets as Prometheus
// keeps one.
type Histogram struct {
	Count uint64   `json:"count"`
	Sum   Duration `json:"sum"`
	// Buckets count the observations up to each bound, by ascending bound; the
	// infinite bound's count is Count.
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one bucket of a Histogram.
type Bucket struct {
	UpperBound Duration `json:"le"`
	Count      uint64   `json:"count"`
}

// Reloads counts the configuration reloads (SIGHUP).
type Reloads struct {
	Succeeded uint64 `json:"succeeded"`
	// Failed counts the reloads refused (a file with errors) or applied in part.
	Failed uint64 `json:"failed"`
	// LastFailed says that the last reload failed: the file on disk is not what runs.
	LastFailed bool `json:"last_failed"`
	// Loaded is when the running configuration was loaded: at start, or by the last
	// reload that succeeded.
	Loaded time.Time `json:"loaded"`
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

// Seconds returns the duration in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// Event is one line of `vrrpd events --json`. Type says which fields it has:
// "transition" (Instance, From, To, Priority, Reason), "priority" (Instance, Priority,
// Reason: the effective priority changed), "split_brain" (Instance, Priority, Reason),
// "tracker" (Tracker, Kind, State, Detail), "route" (Route, State, Reason) or "peer"
// (Peer, State, Detail: the last error).
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
	Route    string    `json:"route,omitempty"`
	Peer     string    `json:"peer,omitempty"`
	// SyncGroup names the sync group of a sync_group event.
	SyncGroup string `json:"sync_group,omitempty"`
}

// The results runs are counted by: the keys of InstanceStatus.HookRuns and of
// ScriptRuns.Results (dropped is for hooks only).
const (
	ResultOK      = "ok"      // exited 0 within the timeout
	ResultFailed  = "failed"  // exited with another status, or killed by a signal
	ResultTimeout = "timeout" // ran past the timeout, and its process group was killed
	ResultError   = "error"   // could not run, or the security check refused it
	ResultDropped = "dropped" // a hook that found too many waiting
)
