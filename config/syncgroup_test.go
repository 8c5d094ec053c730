package config

import (
	"slices"
	"strings"
	"testing"
)

const twoInstances = `instances:
  - name: ext
    interface: eth0
    vrid: 51
    vips: [192.0.2.100/24]
    track: {interfaces: [{name: eth3, weight: -20}]}
  - name: int
    interface: eth1
    vrid: 52
    vips: [198.51.100.100/24]
`

func TestSyncGroupLoad(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(twoInstances+`sync_groups:
  VG_1:
    instances: [ext, int]
    track: {interfaces: [eth3, eth4], scripts: [{name: chk, weight: -10}]}
    notify: {master: [/usr/local/sbin/on-master, VG_1], any: [/usr/local/sbin/notify]}
scripts:
  chk: {exec: [/bin/true]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.SyncGroups) != 1 {
		t.Fatalf("groups %+v", cfg.SyncGroups)
	}
	g := cfg.SyncGroups[0]
	if g.Name != "VG_1" || !slices.Equal(g.Instances, []string{"ext", "int"}) || g.Line != 12 ||
		!slices.Equal(g.Notify.Master, []string{"/usr/local/sbin/on-master", "VG_1"}) || len(g.Notify.Any) != 1 {
		t.Fatalf("group %+v", g)
	}
	ext, in := cfg.Instances[0], cfg.Instances[1]
	if ext.SyncGroup != "VG_1" || in.SyncGroup != "VG_1" {
		t.Fatalf("members' groups %q %q", ext.SyncGroup, in.SyncGroup)
	}
	// ext keeps its own eth3 entry; both get eth4 and chk from the group.
	if got := ext.Track.Interfaces; len(got) != 2 || got[0].Name != "eth3" || got[0].Weight != -20 || got[1].Name != "eth4" {
		t.Fatalf("ext's interfaces %+v", got)
	}
	if got := in.Track.Interfaces; len(got) != 2 || got[0].Name != "eth3" || got[0].Weight != 0 {
		t.Fatalf("int's interfaces %+v", got)
	}
	if got := in.Track.Scripts; len(got) != 1 || got[0].Name != "chk" || got[0].Weight != -10 {
		t.Fatalf("int's scripts %+v", got)
	}
}

func TestSyncGroupProblems(t *testing.T) {
	tests := []struct {
		name, groups string
		want         []string
	}{
		{"unknown member", "sync_groups:\n  G: {instances: [ext, inte]}\n",
			[]string{"12:24: sync_groups.G.instances[1]: no instance inte (hint: did you mean int?)"}},
		{"twice in a group", "sync_groups:\n  G: {instances: [ext, ext, int]}\n",
			[]string{"12:24: sync_groups.G.instances[1]: ext is listed twice (also instances[0]) (hint: remove one)"}},
		{"in two groups", "sync_groups:\n  G: {instances: [ext, int]}\n  H: {instances: [int, ext]}\n",
			[]string{
				"13:19: sync_groups.H.instances[0]: int is already a member of sync group G",
				"13:24: sync_groups.H.instances[1]: ext is already a member of sync group G",
			}},
		{"one member", "sync_groups:\n  G: {instances: [ext]}\n",
			[]string{"12:18: warning: sync_groups.G.instances: a sync group of one instance changes nothing"}},
		{"no instances", "sync_groups:\n  G: {notify: {any: [/bin/true]}}\n",
			[]string{"12:6: sync_groups.G.instances: a sync group needs instances"}},
		{"unknown key", "sync_groups:\n  G: {instances: [ext, int], group: [ext]}\n",
			[]string{`12:30: sync_groups.G.group: unknown key "group"`}},
		{"undefined script", "sync_groups:\n  G: {instances: [ext, int], track: {scripts: [chk]}}\n",
			[]string{"12:48: sync_groups.G.track.scripts[0]: no script chk under scripts:"}},
		{"relative hook", "sync_groups:\n  G: {instances: [ext, int], notify: {fault: [fault.sh]}}\n",
			[]string{`12:47: sync_groups.G.notify.fault[0]: "fault.sh" is not an absolute path`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(twoInstances+tt.groups))
			var got []string
			if p, ok := err.(*Problems); ok {
				for _, pr := range *p {
					got = append(got, pr.String())
				}
			}
			if tt.want[0] == "" || strings.Contains(tt.want[0], "warning") {
				cfg, err := Parse("x.yaml", []byte(twoInstances+tt.groups))
				if err != nil {
					t.Fatal(err)
				}
				got = nil
				for _, pr := range cfg.Warnings {
					got = append(got, pr.String())
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], "x.yaml:"+tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant x.yaml:%s...", i, got[i], tt.want[i])
				}
			}
		})
	}
}
