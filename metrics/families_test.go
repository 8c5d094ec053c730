package metrics

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/vrrpd/vrrpd/control"
)

var since = time.Date(2026, 11, 22, 6, 12, 26, 0, time.UTC) // 1795327946

// twoInstances is the status of a node that is master of web and backup of api.
func twoInstances() control.Status {
	return control.Status{
		Node: "lb1", Started: since,
		SyncGroups: []control.SyncGroupStatus{{Name: "VG_1", State: "MASTER", Instances: []string{"web", "api"}}},
		Instances: []control.InstanceStatus{
			{
				Name: "web", Interface: "eth0", VRID: 51, Family: "IPv4", State: "MASTER", Since: since,
				Transitions:  map[string]uint64{"BACKUP": 1, "MASTER": 2},
				BasePriority: 150, Priority: 90, Master: "192.0.2.1", MasterPriority: 90,
				Routes: []string{"198.51.100.0/24 via 192.0.2.254"}, RouteErrors: 1,
				AdvertInterval: control.Duration(time.Second), MasterAdvertInterval: control.Duration(time.Second),
				SkewTime: control.Duration(414843750), MasterDownInterval: control.Duration(3414843750),
				VIPs: []control.VIPStatus{
					{Address: "192.0.2.100/24", Interface: "eth0", Present: true},
					{Address: "198.51.100.7/32", Interface: "eth1", Excluded: true, Present: false},
				},
				AdvertsSent: 1000, AdvertsReceived: 4, PriorityZeroSent: 1, PriorityZeroReceived: 2,
				Drops:            map[string]uint64{"version": 7, "auth": 1},
				AdvertSendErrors: 3, GARPSent: 10, NASent: 0, AnnounceErrors: 1,
				HookRuns:          map[string]uint64{"ok": 5, "timeout": 1},
				AdvertLatenessMax: control.Duration(2 * time.Millisecond), SplitBrainsHealed: 1,
				Trackers: []control.TrackerStatus{
					{Kind: "script", Name: "chk_haproxy", State: "failing", Weight: -60, Delta: -60},
					{Kind: "file", Name: "drain", State: "ok", Weight: 0, Fault: false},
				},
			},
			{
				Name: "api", Interface: "eth0", VRID: 52, Family: "IPv6", State: "BACKUP", Since: since,
				BasePriority: 100, Priority: 100, Holding: true,
				VIPs: []control.VIPStatus{{Address: "2001:db8::52/64", Interface: "eth0"}},
			},
		},
		Trackers: []control.Tracker{
			{Kind: "script", Name: "chk_haproxy", State: "failing", Runs: &control.ScriptRuns{
				Results: map[string]uint64{"ok": 2, "failed": 1},
				Duration: control.Histogram{Count: 3, Sum: control.Duration(1500 * time.Millisecond), Buckets: []control.Bucket{
					{UpperBound: control.Duration(100 * time.Millisecond), Count: 1},
					{UpperBound: control.Duration(time.Second), Count: 3},
				}},
			}},
			{Kind: "file", Name: "drain", State: "ok"},
		},
		Reloads:       control.Reloads{Succeeded: 2, Failed: 1, LastFailed: true, Loaded: since},
		EventsDropped: 4,
		BGP: &control.BGPStatus{ASN: 65010, RouterID: "192.0.2.11",
			Peers: []control.BGPPeerStatus{
				{Address: "192.0.2.1", ASN: 65000, State: "established", Since: since, BFD: "up", Advertised: 1},
				{Address: "2001:db8::1", ASN: 65000, State: "active", LastError: "failed to connect: i/o timeout"},
			},
			Routes: []control.RouteStatus{
				{Name: "web", Prefixes: []string{"198.51.100.10/32"}, State: "last resort", Announced: true,
					Reason: "be_app DOWN (0/2 UP)", Cause: "tracker", Since: since,
					Transitions: map[string]uint64{"withdrawn": 1, "announced": 2, "last resort": 1}},
				{Name: "api", Prefixes: []string{"198.51.100.20/32"}, State: "withdrawn", Reason: "instance web is BACKUP",
					Cause: "not_master", Since: since, Transitions: map[string]uint64{"withdrawn": 1}},
			},
		},
	}
}

// exporterOf returns an exporter of status, with version 1.2.3.
func exporterOf(t testing.TB, status func() control.Status) *Exporter {
	t.Helper()
	e, err := NewExporter(status, "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// gathererOf reads what the exporter writes as Prometheus reads a scrape, for
// client_golang's test helpers.
func gathererOf(e *Exporter) prometheus.Gatherer {
	return textGatherer(func() (io.Reader, error) {
		var b bytes.Buffer
		err := e.WriteText(&b)
		return &b, err
	})
}

// textGatherer gathers the families of the text that read returns, sorted by name.
func textGatherer(read func() (io.Reader, error)) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		r, err := read()
		if err != nil {
			return nil, err
		}
		mfs, err := parseText(r)
		if err != nil {
			return nil, err
		}
		var out []*dto.MetricFamily
		for _, name := range slices.Sorted(maps.Keys(mfs)) {
			out = append(out, mfs[name])
		}
		return out, nil
	})
}

// TestFamilies compares the metrics of a status with what Prometheus reads.
func TestFamilies(t *testing.T) {
	g := gathererOf(exporterOf(t, twoInstances))
	tests := []struct {
		name string
		want string
	}{
		{"vrrpd_instance_state", `
# HELP vrrpd_instance_state The instance's state: 1 for the current one (INIT, BACKUP, MASTER, FAULT), 0 for the others.
# TYPE vrrpd_instance_state gauge
vrrpd_instance_state{family="IPv4",interface="eth0",state="BACKUP",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_state{family="IPv4",interface="eth0",state="FAULT",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_state{family="IPv4",interface="eth0",state="INIT",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_state{family="IPv4",interface="eth0",state="MASTER",vrid="51",vrrp_instance="web"} 1
vrrpd_instance_state{family="IPv6",interface="eth0",state="BACKUP",vrid="52",vrrp_instance="api"} 1
vrrpd_instance_state{family="IPv6",interface="eth0",state="FAULT",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_state{family="IPv6",interface="eth0",state="INIT",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_state{family="IPv6",interface="eth0",state="MASTER",vrid="52",vrrp_instance="api"} 0
`},
		{"vrrpd_instance_transitions_total", `
# HELP vrrpd_instance_transitions_total State changes, by the state entered.
# TYPE vrrpd_instance_transitions_total counter
vrrpd_instance_transitions_total{family="IPv4",interface="eth0",to="BACKUP",vrid="51",vrrp_instance="web"} 1
vrrpd_instance_transitions_total{family="IPv4",interface="eth0",to="FAULT",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_transitions_total{family="IPv4",interface="eth0",to="INIT",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_transitions_total{family="IPv4",interface="eth0",to="MASTER",vrid="51",vrrp_instance="web"} 2
vrrpd_instance_transitions_total{family="IPv6",interface="eth0",to="BACKUP",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_transitions_total{family="IPv6",interface="eth0",to="FAULT",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_transitions_total{family="IPv6",interface="eth0",to="INIT",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_transitions_total{family="IPv6",interface="eth0",to="MASTER",vrid="52",vrrp_instance="api"} 0
`},
		{"vrrpd_instance_master_priority", `
# HELP vrrpd_instance_master_priority The priority of the master: this node's as master, the one heard as backup; absent when none is heard.
# TYPE vrrpd_instance_master_priority gauge
vrrpd_instance_master_priority{family="IPv4",interface="eth0",vrid="51",vrrp_instance="web"} 90
`},
		{"vrrpd_instance_master_down_interval_seconds", `
# HELP vrrpd_instance_master_down_interval_seconds Master_Down_Interval: how long a backup waits without adverts before it takes over.
# TYPE vrrpd_instance_master_down_interval_seconds gauge
vrrpd_instance_master_down_interval_seconds{family="IPv4",interface="eth0",vrid="51",vrrp_instance="web"} 3.41484375
vrrpd_instance_master_down_interval_seconds{family="IPv6",interface="eth0",vrid="52",vrrp_instance="api"} 0
`},
		{"vrrpd_instance_state_change_timestamp_seconds", `
# HELP vrrpd_instance_state_change_timestamp_seconds When the instance entered its state, in seconds since the epoch.
# TYPE vrrpd_instance_state_change_timestamp_seconds gauge
vrrpd_instance_state_change_timestamp_seconds{family="IPv4",interface="eth0",vrid="51",vrrp_instance="web"} 1.795327946e+09
vrrpd_instance_state_change_timestamp_seconds{family="IPv6",interface="eth0",vrid="52",vrrp_instance="api"} 1.795327946e+09
`},
		{"vrrpd_instance_vip_present", `
# HELP vrrpd_instance_vip_present 1 while the kernel has the VIP on its interface, 0 otherwise.
# TYPE vrrpd_instance_vip_present gauge
vrrpd_instance_vip_present{family="IPv4",interface="eth0",vip="192.0.2.100",vip_interface="eth0",vrid="51",vrrp_instance="web"} 1
vrrpd_instance_vip_present{family="IPv4",interface="eth0",vip="198.51.100.7",vip_interface="eth1",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_vip_present{family="IPv6",interface="eth0",vip="2001:db8::52",vip_interface="eth0",vrid="52",vrrp_instance="api"} 0
`},
		{"vrrpd_instance_hook_runs_total", `
# HELP vrrpd_instance_hook_runs_total Notify hooks, by how they ended: ok, failed, timeout, error (not run), dropped (too many waiting).
# TYPE vrrpd_instance_hook_runs_total counter
vrrpd_instance_hook_runs_total{family="IPv4",interface="eth0",result="dropped",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_hook_runs_total{family="IPv4",interface="eth0",result="error",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_hook_runs_total{family="IPv4",interface="eth0",result="failed",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_hook_runs_total{family="IPv4",interface="eth0",result="ok",vrid="51",vrrp_instance="web"} 5
vrrpd_instance_hook_runs_total{family="IPv4",interface="eth0",result="timeout",vrid="51",vrrp_instance="web"} 1
vrrpd_instance_hook_runs_total{family="IPv6",interface="eth0",result="dropped",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_hook_runs_total{family="IPv6",interface="eth0",result="error",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_hook_runs_total{family="IPv6",interface="eth0",result="failed",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_hook_runs_total{family="IPv6",interface="eth0",result="ok",vrid="52",vrrp_instance="api"} 0
vrrpd_instance_hook_runs_total{family="IPv6",interface="eth0",result="timeout",vrid="52",vrrp_instance="api"} 0
`},
		{"vrrpd_instance_tracker_priority_delta", `
# HELP vrrpd_instance_tracker_priority_delta What a tracker adds to the instance's priority now.
# TYPE vrrpd_instance_tracker_priority_delta gauge
vrrpd_instance_tracker_priority_delta{family="IPv4",interface="eth0",kind="file",tracker="drain",vrid="51",vrrp_instance="web"} 0
vrrpd_instance_tracker_priority_delta{family="IPv4",interface="eth0",kind="script",tracker="chk_haproxy",vrid="51",vrrp_instance="web"} -60
`},
		{"vrrpd_tracker_state", `
# HELP vrrpd_tracker_state A tracker's state: 1 for the current one (ok, failing, unknown), 0 for the others.
# TYPE vrrpd_tracker_state gauge
vrrpd_tracker_state{kind="file",state="failing",tracker="drain"} 0
vrrpd_tracker_state{kind="file",state="ok",tracker="drain"} 1
vrrpd_tracker_state{kind="file",state="unknown",tracker="drain"} 0
vrrpd_tracker_state{kind="script",state="failing",tracker="chk_haproxy"} 1
vrrpd_tracker_state{kind="script",state="ok",tracker="chk_haproxy"} 0
vrrpd_tracker_state{kind="script",state="unknown",tracker="chk_haproxy"} 0
`},
		{"vrrpd_script_duration_seconds", `
# HELP vrrpd_script_duration_seconds How long check script runs took.
# TYPE vrrpd_script_duration_seconds histogram
vrrpd_script_duration_seconds_bucket{script="chk_haproxy",le="0.1"} 1
vrrpd_script_duration_seconds_bucket{script="chk_haproxy",le="1"} 3
vrrpd_script_duration_seconds_bucket{script="chk_haproxy",le="+Inf"} 3
vrrpd_script_duration_seconds_sum{script="chk_haproxy"} 1.5
vrrpd_script_duration_seconds_count{script="chk_haproxy"} 3
`},
		{"vrrpd_script_runs_total", `
# HELP vrrpd_script_runs_total Check script runs, by how they ended: ok, failed, timeout, error (not run).
# TYPE vrrpd_script_runs_total counter
vrrpd_script_runs_total{result="error",script="chk_haproxy"} 0
vrrpd_script_runs_total{result="failed",script="chk_haproxy"} 1
vrrpd_script_runs_total{result="ok",script="chk_haproxy"} 2
vrrpd_script_runs_total{result="timeout",script="chk_haproxy"} 0
`},
		{"vrrpd_config_last_reload_successful", `
# HELP vrrpd_config_last_reload_successful 1 when the last reload succeeded (or none was asked for), 0 when it failed and the file on disk is not what runs.
# TYPE vrrpd_config_last_reload_successful gauge
vrrpd_config_last_reload_successful 0
`},
		{"vrrpd_sync_group_state", `
# HELP vrrpd_sync_group_state The sync group's state: 1 for the current one (STOP, BACKUP, MASTER, FAULT), 0 for the others.
# TYPE vrrpd_sync_group_state gauge
vrrpd_sync_group_state{state="BACKUP",sync_group="VG_1"} 0
vrrpd_sync_group_state{state="FAULT",sync_group="VG_1"} 0
vrrpd_sync_group_state{state="MASTER",sync_group="VG_1"} 1
vrrpd_sync_group_state{state="STOP",sync_group="VG_1"} 0
`},
		{"vrrpd_instance_route_errors_total", `
# HELP vrrpd_instance_route_errors_total Virtual routes and rules that could not be added or removed.
# TYPE vrrpd_instance_route_errors_total counter
vrrpd_instance_route_errors_total{family="IPv4",interface="eth0",vrid="51",vrrp_instance="web"} 1
`},
		{"vrrpd_config_reloads_total", `
# HELP vrrpd_config_reloads_total Reloads, by result: success, failure.
# TYPE vrrpd_config_reloads_total counter
vrrpd_config_reloads_total{result="failure"} 1
vrrpd_config_reloads_total{result="success"} 2
`},
		{"vrrpd_bgp_peer_state", `
# HELP vrrpd_bgp_peer_state A BGP session's state: 1 for the current one (idle, connect, active, opensent, openconfirm, established), 0 for the others.
# TYPE vrrpd_bgp_peer_state gauge
vrrpd_bgp_peer_state{peer="192.0.2.1",peer_asn="65000",state="active"} 0
vrrpd_bgp_peer_state{peer="192.0.2.1",peer_asn="65000",state="connect"} 0
vrrpd_bgp_peer_state{peer="192.0.2.1",peer_asn="65000",state="established"} 1
vrrpd_bgp_peer_state{peer="192.0.2.1",peer_asn="65000",state="idle"} 0
vrrpd_bgp_peer_state{peer="192.0.2.1",peer_asn="65000",state="openconfirm"} 0
vrrpd_bgp_peer_state{peer="192.0.2.1",peer_asn="65000",state="opensent"} 0
vrrpd_bgp_peer_state{peer="2001:db8::1",peer_asn="65000",state="active"} 1
vrrpd_bgp_peer_state{peer="2001:db8::1",peer_asn="65000",state="connect"} 0
vrrpd_bgp_peer_state{peer="2001:db8::1",peer_asn="65000",state="established"} 0
vrrpd_bgp_peer_state{peer="2001:db8::1",peer_asn="65000",state="idle"} 0
vrrpd_bgp_peer_state{peer="2001:db8::1",peer_asn="65000",state="openconfirm"} 0
vrrpd_bgp_peer_state{peer="2001:db8::1",peer_asn="65000",state="opensent"} 0
`},
		{"vrrpd_bgp_peer_state_change_timestamp_seconds", `
# HELP vrrpd_bgp_peer_state_change_timestamp_seconds When the BGP session was last established or went down, in seconds since the epoch; absent when it never was up.
# TYPE vrrpd_bgp_peer_state_change_timestamp_seconds gauge
vrrpd_bgp_peer_state_change_timestamp_seconds{peer="192.0.2.1",peer_asn="65000"} 1.795327946e+09
`},
		{"vrrpd_bgp_peer_bfd_state", `
# HELP vrrpd_bgp_peer_bfd_state The BFD session's state: 1 for the current one (admin_down, down, init, up), 0 for the others; absent without BFD.
# TYPE vrrpd_bgp_peer_bfd_state gauge
vrrpd_bgp_peer_bfd_state{peer="192.0.2.1",peer_asn="65000",state="admin_down"} 0
vrrpd_bgp_peer_bfd_state{peer="192.0.2.1",peer_asn="65000",state="down"} 0
vrrpd_bgp_peer_bfd_state{peer="192.0.2.1",peer_asn="65000",state="init"} 0
vrrpd_bgp_peer_bfd_state{peer="192.0.2.1",peer_asn="65000",state="up"} 1
`},
		{"vrrpd_bgp_peer_prefixes_advertised", `
# HELP vrrpd_bgp_peer_prefixes_advertised Prefixes announced to the peer.
# TYPE vrrpd_bgp_peer_prefixes_advertised gauge
vrrpd_bgp_peer_prefixes_advertised{peer="192.0.2.1",peer_asn="65000"} 1
vrrpd_bgp_peer_prefixes_advertised{peer="2001:db8::1",peer_asn="65000"} 0
`},
		{"vrrpd_bgp_route_state", `
# HELP vrrpd_bgp_route_state A route's state: 1 for the current one (withdrawn, pending, announced, last_resort), 0 for the others.
# TYPE vrrpd_bgp_route_state gauge
vrrpd_bgp_route_state{route="api",state="announced"} 0
vrrpd_bgp_route_state{route="api",state="last_resort"} 0
vrrpd_bgp_route_state{route="api",state="pending"} 0
vrrpd_bgp_route_state{route="api",state="withdrawn"} 1
vrrpd_bgp_route_state{route="web",state="announced"} 0
vrrpd_bgp_route_state{route="web",state="last_resort"} 1
vrrpd_bgp_route_state{route="web",state="pending"} 0
vrrpd_bgp_route_state{route="web",state="withdrawn"} 0
`},
		{"vrrpd_bgp_route_announced", `
# HELP vrrpd_bgp_route_announced 1 while every prefix of the route is announced (healthy or as a last resort), 0 otherwise.
# TYPE vrrpd_bgp_route_announced gauge
vrrpd_bgp_route_announced{route="api"} 0
vrrpd_bgp_route_announced{route="web"} 1
`},
		{"vrrpd_bgp_route_cause", `
# HELP vrrpd_bgp_route_cause Why the route is in its state: 1 for the current cause (healthy, tracker, up_delay, not_master, address, starting), 0 for the others.
# TYPE vrrpd_bgp_route_cause gauge
vrrpd_bgp_route_cause{cause="address",route="api"} 0
vrrpd_bgp_route_cause{cause="healthy",route="api"} 0
vrrpd_bgp_route_cause{cause="not_master",route="api"} 1
vrrpd_bgp_route_cause{cause="starting",route="api"} 0
vrrpd_bgp_route_cause{cause="tracker",route="api"} 0
vrrpd_bgp_route_cause{cause="up_delay",route="api"} 0
vrrpd_bgp_route_cause{cause="address",route="web"} 0
vrrpd_bgp_route_cause{cause="healthy",route="web"} 0
vrrpd_bgp_route_cause{cause="not_master",route="web"} 0
vrrpd_bgp_route_cause{cause="starting",route="web"} 0
vrrpd_bgp_route_cause{cause="tracker",route="web"} 1
vrrpd_bgp_route_cause{cause="up_delay",route="web"} 0
`},
		{"vrrpd_bgp_route_transitions_total", `
# HELP vrrpd_bgp_route_transitions_total State changes of the route, by the state entered.
# TYPE vrrpd_bgp_route_transitions_total counter
vrrpd_bgp_route_transitions_total{route="api",to="announced"} 0
vrrpd_bgp_route_transitions_total{route="api",to="last_resort"} 0
vrrpd_bgp_route_transitions_total{route="api",to="pending"} 0
vrrpd_bgp_route_transitions_total{route="api",to="withdrawn"} 1
vrrpd_bgp_route_transitions_total{route="web",to="announced"} 2
vrrpd_bgp_route_transitions_total{route="web",to="last_resort"} 1
vrrpd_bgp_route_transitions_total{route="web",to="pending"} 0
vrrpd_bgp_route_transitions_total{route="web",to="withdrawn"} 1
`},
		{"vrrpd_events_dropped_total", `
# HELP vrrpd_events_dropped_total Events lost by subscribers (vrrpd events) too slow to read them.
# TYPE vrrpd_events_dropped_total counter
vrrpd_events_dropped_total 4
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := testutil.GatherAndCompare(g, strings.NewReader(tt.want), tt.name); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestDropReasons: every reason a packet may be dropped for has its series, 0 or not,
// so that an alert on a rising rate sees the first drop.
func TestDropReasons(t *testing.T) {
	g := gathererOf(exporterOf(t, twoInstances))
	// 16 reasons, for each of the 2 instances.
	if n, err := testutil.GatherAndCount(g, "vrrpd_instance_adverts_dropped_total"); err != nil || n != 2*16 {
		t.Errorf("%d drop series, want 32 (%v)", n, err)
	}
	const want = `
# HELP vrrpd_instance_adverts_dropped_total Packets dropped, by reason (see docs/monitoring.md).
# TYPE vrrpd_instance_adverts_dropped_total counter
`
	var lines []string
	for _, r := range []string{"address_count", "address_list", "auth", "checksum", "count_zero", "destination", "interface",
		"interval", "interval_zero", "length", "local_source", "source", "ttl", "type", "version", "vrid"} {
		v := map[string]string{"version": "7", "auth": "1"}[r]
		if v == "" {
			v = "0"
		}
		lines = append(lines, `vrrpd_instance_adverts_dropped_total{family="IPv4",interface="eth0",reason="`+r+`",vrid="51",vrrp_instance="web"} `+v)
	}
	st := twoInstances()
	st.Instances = st.Instances[:1]
	one := gathererOf(exporterOf(t, func() control.Status { return st }))
	if err := testutil.GatherAndCompare(one, strings.NewReader(want+strings.Join(lines, "\n")+"\n"), "vrrpd_instance_adverts_dropped_total"); err != nil {
		t.Error(err)
	}
}

// TestNoStaleSeries: the exporter reads the status at each scrape, so that an
// instance, VIP or tracker a reload removed leaves no series behind.
func TestNoStaleSeries(t *testing.T) {
	var mu sync.Mutex
	st := twoInstances()
	g := gathererOf(exporterOf(t, func() control.Status { mu.Lock(); defer mu.Unlock(); return st }))
	if n, err := testutil.GatherAndCount(g, "vrrpd_instance_priority"); err != nil || n != 2 {
		t.Fatalf("%d series before the reload, want 2 (%v)", n, err)
	}
	mu.Lock()
	st.Instances, st.Trackers = st.Instances[1:], nil
	st.BGP = &control.BGPStatus{Peers: st.BGP.Peers[:1], Routes: st.BGP.Routes[1:]}
	mu.Unlock()
	for name, want := range map[string]int{"vrrpd_instance_priority": 1, "vrrpd_instance_vip_present": 1,
		"vrrpd_tracker_state": 0, "vrrpd_script_runs_total": 0, "vrrpd_instance_tracker_fault": 0,
		"vrrpd_bgp_peer_prefixes_advertised": 1, "vrrpd_bgp_route_announced": 1} {
		if n, err := testutil.GatherAndCount(g, name); err != nil || n != want {
			t.Errorf("%s: %d series after the reload, want %d (%v)", name, n, want, err)
		}
	}
}

// TestLint: the metrics follow Prometheus's naming conventions.
func TestLint(t *testing.T) {
	e := exporterOf(t, twoInstances)
	problems, err := testutil.GatherAndLint(gathererOf(e))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "vrrpd_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	n, err := testutil.GatherAndCount(scraperOf(t, e), "go_goroutines", "process_start_time_seconds")
	if err != nil || n != 2 {
		t.Errorf("Go and process families: %d series, %v", n, err)
	}
	mfs, err := gathererOf(e).Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "vrrpd_build_info" {
			continue
		}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			found = found || l.GetName() == "version" && l.GetValue() == "1.2.3"
		}
	}
	if !found {
		t.Error("no vrrpd_build_info{version=\"1.2.3\"}")
	}
}
