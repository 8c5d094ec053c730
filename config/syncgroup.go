package config

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// SyncGroup is a set of instances that fail over together (`sync_groups:`,
// keepalived's vrrp_sync_group): a member becomes master only with the others, and a
// member's fault puts every member in FAULT.
type SyncGroup struct {
	Name string
	// Instances are the members, by name; each instance is in one group at most.
	Instances []string
	// Track is added to every member's track lists.
	Track Track
	// Notify hooks run on the group's transitions; Any gets GROUP name STATE 0 appended.
	Notify Notify
	Line   int
}

var (
	syncGroupKeys       = []string{"instances", "track", "notify"}
	syncGroupNotifyKeys = []string{"master", "backup", "fault", "stop", "any"}
)

// syncGroup reads one group of sync_groups.
func (p *parser) syncGroup(key, n *yaml.Node) SyncGroup {
	path := "sync_groups." + key.Value
	g := SyncGroup{Name: key.Value, Line: key.Line}
	p.name(key, path)
	m := p.mapping(n, path, syncGroupKeys)
	for i, it := range p.sequence(m.values["instances"], path+".instances") {
		s, _ := p.name(it, fmt.Sprintf("%s.instances[%d]", path, i))
		g.Instances = append(g.Instances, s)
	}
	if m.values["instances"] == nil {
		p.errorf(path+".instances", "list the instances that fail over together: instances: [web, db]", "a sync group needs instances")
	}
	g.Track = p.track(m.values["track"], path+".track")
	nm := p.mapping(m.values["notify"], path+".notify", syncGroupNotifyKeys)
	npath := path + ".notify"
	g.Notify = Notify{
		Master: p.command(nm.values["master"], npath+".master"),
		Backup: p.command(nm.values["backup"], npath+".backup"),
		Fault:  p.command(nm.values["fault"], npath+".fault"),
		Stop:   p.command(nm.values["stop"], npath+".stop"),
		Any:    p.command(nm.values["any"], npath+".any"),
	}
	return g
}

// validateSyncGroups checks the groups' members and trackers, then gives each member
// its group's name and trackers. It runs after the instances' own checks, so that the
// trackers a group adds are reported at the group, once.
func validateSyncGroups(r *reporter, cfg *Config, defs []defined, tracked map[string]map[string]bool) {
	index := make(map[string]int, len(cfg.Instances))
	for i, in := range cfg.Instances {
		index[in.Name] = i
	}
	member := map[string]string{}
	for gi := range cfg.SyncGroups {
		g := &cfg.SyncGroups[gi]
		path := "sync_groups." + g.Name
		validateTrack(r, &Instance{Track: g.Track}, path, defs, tracked)
		seen := map[string]int{}
		for i, name := range g.Instances {
			p := fmt.Sprintf("%s.instances[%d]", path, i)
			if name == "" {
				continue
			}
			if first, dup := seen[name]; dup {
				r.errorf(p, "remove one", "%s is listed twice (also instances[%d])", name, first)
				continue
			}
			seen[name] = i
			if _, ok := index[name]; !ok {
				hint := "name an instance of this file"
				if s := closest(name, instanceNames(cfg.Instances)); s != "" {
					hint = "did you mean " + s + "?"
				}
				r.errorf(p, hint, "no instance %s", name)
				continue
			}
			if other, dup := member[name]; dup {
				r.errorf(p, "put each instance in one sync group", "%s is already a member of sync group %s", name, other)
				continue
			}
			member[name] = g.Name
		}
		if len(seen) == 1 {
			r.warnf(path+".instances", "add the instances that must fail over with it, or remove the group",
				"a sync group of one instance changes nothing")
		}
	}
	for _, g := range cfg.SyncGroups {
		for _, name := range g.Instances {
			i, ok := index[name]
			if !ok || member[name] != g.Name {
				continue
			}
			in := &cfg.Instances[i]
			in.SyncGroup = g.Name
			in.Track = mergeTrack(in.Track, g.Track)
		}
	}
}

// mergeTrack adds the group's trackers to an instance's, except those the instance
// tracks itself: its own weight counts.
func mergeTrack(in, group Track) Track {
	add := func(own, more []TrackRef) []TrackRef {
		for _, ref := range more {
			if !slices.ContainsFunc(own, func(o TrackRef) bool { return o.Name == ref.Name }) {
				own = append(own, ref)
			}
		}
		return own
	}
	return Track{
		Scripts:    add(in.Scripts, group.Scripts),
		Interfaces: add(in.Interfaces, group.Interfaces),
		Processes:  add(in.Processes, group.Processes),
		Files:      add(in.Files, group.Files),
		HAProxy:    add(in.HAProxy, group.HAProxy),
		BFD:        add(in.BFD, group.BFD),
	}
}
